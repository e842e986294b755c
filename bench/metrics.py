"""Benchmark of the revenue metrics: every dashboard figure for N subscriptions with 24 months of
history, against a plain pandas implementation of the same movements, and the dashboard page.

    .venv/bin/python bench/metrics.py [--subscriptions 1000000] [--months 24] [--seed 1]

The MRR change table is generated directly in NumPy (sign-ups over the months, trials, discounts
that end, upgrades and downgrades, customers with two subscriptions, churn and reactivations,
annual plans), as ``assina.analytics.derive`` would build it from the database. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from assina.analytics.engine.movements import KINDS, customer_changes, monthly_series, sub_deltas  # noqa: E402
from assina.analytics.engine.report import Dataset, Query, compute  # noqa: E402
from assina.analytics.engine.table import (  # noqa: E402
    DAY, ChangeTable, Customers, DunningFacts, Filters, SubscriptionFacts, month_of,
)

PLANS = ["basic", "pro", "business", "pro-annual", "enterprise-annual"]
PLAN_MRR = np.array([2990, 7990, 15960, 6658, 41658], dtype=np.int64)
PLAN_INTERVAL = np.array([0, 0, 0, 1, 1], dtype=np.int8)
REASONS = ["too_expensive", "unused", "switched_service", "missing_features", "other"]


def synthetic(n: int, months: int, seed: int) -> tuple[Dataset, int]:
    rng = np.random.default_rng(seed)
    end = int(np.datetime64("2026-11-21", "s").astype(np.int64))
    start = int(np.datetime64(np.datetime64("2026-11-01", "M") - (months - 1), "s").astype(np.int64))
    span = end - start
    sub = np.arange(1, n + 1, dtype=np.int64)
    # 12 % of subscriptions belong to a customer who already has one (a second location).
    customer = sub.copy()
    second = rng.random(n) < 0.12
    customer[second] = rng.integers(1, n + 1, second.sum())
    began = start + (span * np.sqrt(rng.random(n))).astype(np.int64)  # growing sign-ups
    plan = rng.choice(len(PLANS), n, p=[0.36, 0.3, 0.16, 0.13, 0.05]).astype(np.int32)
    price = PLAN_MRR[plan] * np.where(plan == 2, rng.integers(1, 6, n), 1)
    trial = rng.random(n) < 0.3
    converts = ~trial | (rng.random(n) < 0.75)
    paid_from = began + np.where(trial, 14 * DAY, 0)
    discount = rng.random(n) < 0.15
    discount_end = paid_from + 91 * DAY
    changes = rng.random(n) < 0.2
    change_at = paid_from + (rng.random(n) * 200 * DAY).astype(np.int64)
    new_price = np.maximum(990, (price * rng.choice([0.5, 1.5, 2.0], n)).astype(np.int64))
    churns = rng.random(n) < 0.35
    churn_at = paid_from + (rng.exponential(240, n) * DAY).astype(np.int64)
    comes_back = churns & (rng.random(n) < 0.1)
    back_at = churn_at + (rng.uniform(20, 150, n) * DAY).astype(np.int64)
    # Rows: (sub, at, level). Each kind of moment is a block; the table is their union sorted by (sub, at).
    blocks = []

    def add(mask, at, level):
        blocks.append((sub[mask], at[mask], level[mask]))

    zero = np.zeros(n, dtype=np.int64)
    add(trial, began, zero)  # a trial is worth nothing
    first_level = np.where(discount, price * 8 // 10, price)
    add(converts, paid_from, first_level)
    add(converts & discount, discount_end, price)  # the discount ends: expansion
    later_price = np.where(changes, new_price, price)
    add(converts & changes & (change_at > discount_end), change_at, new_price)
    add(converts & churns & (churn_at > paid_from), np.maximum(churn_at, paid_from + DAY), zero)
    add(converts & comes_back, back_at, later_price)
    add(trial & ~converts, began + 14 * DAY, zero)
    s = np.concatenate([b[0] for b in blocks])
    at = np.concatenate([b[1] for b in blocks])
    level = np.concatenate([b[2] for b in blocks])
    keep = at <= end + 400 * DAY
    s, at, level = s[keep], at[keep], level[keep]
    order = np.lexsort((at, s))
    s, at, level = s[order], at[order], level[order]
    table = ChangeTable(sub=s, customer=customer[s - 1], at=at, mrr=level, native=level, plan=plan[s - 1],
                        currency=np.zeros(len(s), np.int16), interval=PLAN_INTERVAL[plan[s - 1]], plans=PLANS,
                        currencies=["BRL"], reporting_currency="BRL", unconverted=[])
    ids = np.unique(customer)
    customers = Customers(id=ids, country=rng.integers(0, 3, len(ids)).astype(np.int32),
                          segment=rng.integers(0, 4, len(ids)).astype(np.int32), currency=np.zeros(len(ids), np.int16),
                          countries=["BR", "PT", "US"], segments=["barbershop", "clinic", "salon", "spa"])
    ended = np.where(converts & churns & ~comes_back, np.maximum(churn_at, paid_from + DAY),
                     np.where(trial & ~converts, began + 14 * DAY, -1))
    facts = SubscriptionFacts(sub=sub, customer=customer, plan=plan, started_at=began,
                              trial_end=np.where(trial, began + 14 * DAY, -1), converted_at=np.where(converts, paid_from, -1),
                              ended_at=ended, reason=rng.integers(0, len(REASONS), n).astype(np.int32),
                              lost_mrr=np.where(ended >= 0, later_price, 0), lost_native=np.where(ended >= 0, later_price, 0),
                              reasons=REASONS)
    failed = rng.random(n) < 0.06
    first_failure = paid_from[failed] + (rng.random(failed.sum()) * 300 * DAY).astype(np.int64)
    recovered = rng.random(failed.sum()) < 0.6
    dunning = DunningFacts(first_failure_at=first_failure,
                           recovered_at=np.where(recovered, first_failure + (rng.random(failed.sum()) * 10 * DAY).astype(np.int64), -1),
                           closed_unpaid=~recovered & (rng.random(failed.sum()) < 0.7), amount=price[failed],
                           native=price[failed], customer=customer[failed])
    return Dataset(table, customers, facts, dunning), end


def pandas_movements(table: ChangeTable, as_of: int, first: int, last: int) -> pd.DataFrame:
    """The same movements written the ordinary pandas way: groupby/shift/cumsum, np.select."""
    df = pd.DataFrame({"sub": table.sub, "customer": table.customer, "at": table.at, "mrr": table.mrr})
    df = df[df["at"] <= as_of]
    df["delta"] = df["mrr"] - df.groupby("sub")["mrr"].shift(fill_value=0)
    df = df[df["delta"] != 0]
    df["day"] = df["at"] // DAY
    c = df.groupby(["customer", "day"], sort=True)["delta"].sum().reset_index()
    c = c[c["delta"] != 0]
    c["after"] = c.groupby("customer")["delta"].cumsum()
    c["before"] = c["after"] - c["delta"]
    starts = (c["before"] == 0).astype(int)
    c["rank"] = starts.groupby(c["customer"]).cumsum()
    c["kind"] = np.select(
        [(c["before"] == 0) & (c["rank"] == 1), c["before"] == 0, c["after"] == 0, c["after"] > c["before"]],
        ["new", "reactivation", "churn", "expansion"], "contraction")
    c["month"] = pd.to_datetime(c["day"] * DAY, unit="s").dt.to_period("M")
    out = c.groupby(["month", "kind"])["delta"].sum().unstack(fill_value=0)
    lo, hi = pd.Period(str(np.datetime64(first, "M")), "M"), pd.Period(str(np.datetime64(last, "M")), "M")
    return out.loc[(out.index >= lo) & (out.index <= hi)]


CPU: dict[str, float] = {}


def best_of(fn, repeat: int = 3, name: str = "") -> tuple[float, object]:
    """The best wall time of ``repeat`` runs (and, in CPU, the process CPU time of that run: on a
    machine shared with other work the CPU time is what the code itself costs)."""
    times, result = [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        times.append((time.perf_counter() - t, time.process_time() - c))
    wall, cpu = min(times)
    if name:
        CPU[name] = round(cpu, 3)
    return wall, result


def serve_page(data: Dataset, as_of_text: str) -> dict:
    """The dashboard page through Django (test client) on a scratch SQLite database, with the
    synthetic table installed as the snapshot the page reads."""
    scratch = tempfile.mkdtemp(prefix="assina-bench-metrics-")
    os.environ["ASSINA_DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User

    from assina.analytics import service
    from assina.clock.services import freeze_clock

    freeze_clock(pd.Timestamp(as_of_text, tz="UTC").to_pydatetime())
    service.install(data)
    user = User.objects.create_user("bench", password="x", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    client.get("/admin/login/")  # warm Django up (URL resolvers, templates) before timing
    timings = {}
    for name, url in (("first_request", "/dashboard/?months=24"), ("snapshot_request", "/dashboard/?months=24"),
                      ("filtered_request", "/dashboard/?months=24&plan=pro")):
        t, c = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings[f"{name}_s"] = round(time.perf_counter() - t, 3)
        timings[f"{name}_cpu_s"] = round(time.process_time() - c, 3)
        assert response.status_code == 200, response.status_code
    timings["page_bytes"] = len(response.content)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-page", action="store_true", help="skip the page-serving measure")
    args = parser.parse_args()
    t = time.perf_counter()
    data, end = synthetic(args.subscriptions, args.months, args.seed)
    generated = time.perf_counter() - t
    last = int(month_of(np.array([end]))[0])
    query = Query(as_of=end, first_month=last - args.months + 1, last_month=last, filters=Filters())
    dashboard_s, report = best_of(lambda: compute(data, query), name="dashboard_compute_cpu_s")
    filtered_s, _ = best_of(lambda: compute(data, Query(end, query.first_month, last, Filters(plan="pro"))),
                            name="dashboard_compute_filtered_cpu_s")
    table = data.table

    def engine_movements():
        customer, at, delta = sub_deltas(table, table.mrr, end)
        return monthly_series(customer_changes(customer, at, delta), query.first_month, last)

    engine_s, series = best_of(engine_movements, name="movements_engine_cpu_s")
    pandas_s, frame = best_of(lambda: pandas_movements(table, end, query.first_month, last), repeat=2,
                              name="movements_plain_pandas_cpu_s")
    # Same movements from both implementations, month by month.
    same = all(int(frame[kind].to_numpy().sum() if kind in frame else 0) == int(series.amount[:, k].sum())
               for k, kind in enumerate(KINDS)) and len(frame) == len(series.months)
    result = {
        "subscriptions": args.subscriptions, "customers": int(len(data.customers.id)), "change_rows": int(len(table)),
        "months": args.months, "generate_s": round(generated, 3),
        "dashboard_compute_s": round(dashboard_s, 3), "dashboard_compute_filtered_s": round(filtered_s, 3),
        "movements_engine_s": round(engine_s, 3), "movements_plain_pandas_s": round(pandas_s, 3),
        "pandas_over_engine_ratio": round(pandas_s / engine_s, 2), "same_movements": bool(same),
        "pandas_over_engine_cpu_ratio": round(CPU["movements_plain_pandas_cpu_s"] / CPU["movements_engine_cpu_s"], 2),
        "reconciles": report["reconciles"], "mrr": report["summary"]["mrr"],
        **CPU, "cpu_count": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
    }
    if not args.no_page:
        result.update(serve_page(data, str(np.datetime64(end, "s"))))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

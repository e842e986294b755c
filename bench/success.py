"""Benchmark of health scores and churn-risk scores (issue 20), with a plain pandas peer in the same run.

    .venv/bin/python bench/success.py [--customers 1000000] [--events-per-year 36] [--seed 1] [--repeat 3]
                                      [--no-peer] [--no-others]

A synthetic business of N customers (signed up over 4 years) with a year of engagement events (on
average ``--events-per-year`` each, drawn per customer from a Gamma–Poisson: some customers use the
product daily, many rarely), a year of monthly payment attempts (3 % declined), past-due invoices,
NPS and CSAT answers, support tickets and the times each customer reached three onboarding
milestones (60 % reach all three in their first weeks, 20 % the first only), all as arrays sorted
by time (what ``assina.success.history.load`` reads from the database). Not timed: drawing the
data, and fitting the churn model (scikit-learn, on a 100,000-customer sample with a label drawn
from behaviour).

Timed, ``--repeat`` times (ours and the peer alternating; the load average is printed before and
after, the machine is shared): ours = every customer's health inputs as of today
(``core.health_inputs.inputs_as_of``: events in the last 30 days and the 30 before, days since the
last activity, failed payments in 90 days, the last payment, past due, the latest NPS/CSAT of the
year with its month, tickets in 30 days, tenure, the milestones reached and days to first value),
the health score, band and reasons (``core.health``), the churn features, probability and top
factors (``core.churn``). The peer computes the same inputs with plain pandas (boolean masks and
``groupby``), as one would without this module; both are checked equal, column by column.

If bench/success_import.py and bench/success_page.py exist (written for the import and the customer
page), they are run after, each in its own process, and their JSON is included (``--no-others`` skips).
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from assina.core import churn, health  # noqa: E402
from assina.core.health_inputs import History, inputs_as_of  # noqa: E402

TODAY = 20_800.0  # days since 1970-01-01 (2026-12-12)


def draw(n: int, per_year: float, rng: np.random.Generator) -> History:
    signup = TODAY - rng.uniform(1, 4 * 365, n)
    start = signup.copy()
    end = np.full(n, np.inf)
    first = np.maximum(signup, TODAY - 365.0)
    span = TODAY - first
    # Gamma–Poisson: mean per_year events a year, very uneven between customers.
    rate = rng.gamma(0.8, per_year / 0.8 / 365.0, n)
    counts = rng.poisson(rate * span)
    ec = np.repeat(np.arange(n, dtype=np.int64), counts)
    et = first[ec] + rng.random(len(ec)) * span[ec]
    order = np.argsort(et, kind="stable")
    ec, et = ec[order], et[order]
    # Monthly payments over the last year (or since signup), 3 % declined.
    months = np.minimum(np.floor(span / 30.44).astype(np.int64) + 1, 12)
    pc = np.repeat(np.arange(n, dtype=np.int64), months)
    k = np.arange(len(pc)) - np.repeat(np.cumsum(months) - months, months)
    pt = TODAY - k * 30.44 - rng.uniform(0, 1, len(pc))
    pt = np.maximum(pt, signup[pc])
    pf = rng.random(len(pc)) < 0.03
    order = np.argsort(pt, kind="stable")
    pc, pt, pf = pc[order], pt[order], pf[order]
    due_c = np.flatnonzero(rng.random(n) < 0.02)
    due_from = TODAY - rng.uniform(0, 60, len(due_c))
    due_until = np.where(rng.random(len(due_c)) < 0.5, np.inf, due_from + rng.uniform(1, 20, len(due_c)))
    na, nc = int(n * 0.3), int(n * 0.1)
    ac = np.concatenate([rng.integers(0, n, na), rng.integers(0, n, nc)])
    asv = np.concatenate([np.zeros(na, np.int8), np.ones(nc, np.int8)])
    asc = np.concatenate([rng.integers(0, 11, na), rng.integers(1, 6, nc)]).astype(np.float64)
    at = TODAY - rng.uniform(0, 400, na + nc)
    order = np.argsort(at, kind="stable")
    ac, asv, asc, at = ac[order], asv[order], asc[order], at[order]
    tc = rng.integers(0, n, n // 2)
    tt = np.sort(TODAY - rng.uniform(0, 365, n // 2))
    reached = signup[:, None] + np.cumsum(rng.uniform(0.5, 6.0, (n, 3)), axis=1)
    fate = rng.random(n)
    reached[fate >= 0.6, 1:] = np.nan
    reached[fate >= 0.8, 0] = np.nan
    reached[reached > TODAY] = np.nan
    return History(signup=signup, start=start, end=end, event_customer=ec, event_time=et, payment_customer=pc,
                   payment_time=pt, payment_failed=pf, due_customer=due_c, due_from=due_from, due_until=due_until,
                   answer_customer=ac, answer_time=at, answer_survey=asv, answer_score=asc, ticket_customer=tc,
                   ticket_time=tt, milestone_reached=reached, first_value=reached[:, 0].copy())


NAMES = churn.FEATURES + churn.ONBOARDING


def model_parameters(h: History, rng: np.random.Generator) -> dict:
    """A churn model fitted (scikit-learn) on 100,000 customers with a label drawn from behaviour."""
    sys.path.insert(0, str(ROOT / "src"))
    from assina.core.health_inputs import subset
    from assina.success.churn import fit

    rows = rng.choice(h.n, size=min(h.n, 100_000), replace=False)
    x = subset(inputs_as_of(h, TODAY), rows)
    X = churn.feature_matrix(x, NAMES)
    z = -3.0 + 0.03 * X[:, 3] - 0.5 * X[:, 1] + 0.8 * X[:, 4] + 1.5 * X[:, 5] - 0.2 * X[:, 0] + 1.0 * X[:, 9]
    y = rng.random(len(rows)) < 1 / (1 + np.exp(-z))
    return fit(X, y, NAMES)


def ours(h: History, params: dict) -> dict:
    t0 = time.perf_counter()
    x = inputs_as_of(h, TODAY)
    t1 = time.perf_counter()
    s = health.score(x)
    codes, figures = health.reason_codes(x, s)
    t2 = time.perf_counter()
    X = churn.feature_matrix(x, NAMES)
    p = churn.predict(params, X)
    factors = churn.top_factors(params, X)
    t3 = time.perf_counter()
    return {"inputs": x, "score": s, "codes": codes, "probability": p, "factors": factors,
            "seconds": {"inputs": t1 - t0, "health": t2 - t1, "churn": t3 - t2, "total": t3 - t0}}


def peer(h: History) -> tuple[dict, float]:
    """The same inputs with plain pandas."""
    t0 = time.perf_counter()
    n, t = h.n, TODAY
    idx = pd.RangeIndex(n)
    ev = pd.DataFrame({"c": h.event_customer, "t": h.event_time})
    out = {}
    out["events_30"] = ev[(ev.t > t - 30) & (ev.t <= t)].groupby("c").size().reindex(idx, fill_value=0).to_numpy()
    out["events_prev_30"] = ev[(ev.t > t - 60) & (ev.t <= t - 30)].groupby("c").size() \
        .reindex(idx, fill_value=0).to_numpy()
    last = ev[ev.t <= t].groupby("c").t.max().reindex(idx)
    out["days_since_activity"] = np.floor(t - last).to_numpy()
    pay = pd.DataFrame({"c": h.payment_customer, "t": h.payment_time, "f": h.payment_failed})
    in90 = pay[(pay.t > t - 90) & (pay.t <= t)]
    out["failed_90"] = in90[in90.f].groupby("c").size().reindex(idx, fill_value=0).to_numpy()
    out["last_payment_failed"] = pay[pay.t <= t].groupby("c").f.last().reindex(idx, fill_value=False) \
        .to_numpy(dtype=bool)
    due = pd.DataFrame({"c": h.due_customer, "a": h.due_from, "b": h.due_until})
    out["past_due"] = idx.isin(due[(due.a <= t) & (due.b > t)].c.unique())
    ans = pd.DataFrame({"c": h.answer_customer, "t": h.answer_time, "s": h.answer_survey, "v": h.answer_score})
    year = ans[(ans.t > t - 365) & (ans.t <= t)]
    for survey, name in ((0, "nps"), (1, "csat")):
        latest = year[year.s == survey].groupby("c").last()
        out[name] = latest.v.reindex(idx).to_numpy()
        when = pd.to_datetime(latest.t, unit="D")
        out[f"{name}_month"] = (when.dt.year * 100 + when.dt.month).reindex(idx, fill_value=0).to_numpy()
    tk = pd.DataFrame({"c": h.ticket_customer, "t": h.ticket_time})
    out["tickets_30"] = tk[(tk.t > t - 30) & (tk.t <= t)].groupby("c").size().reindex(idx, fill_value=0).to_numpy()
    out["tenure_days"] = np.maximum(np.floor(t - pd.Series(h.signup)), 0).to_numpy()
    return out, time.perf_counter() - t0


def same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(np.array_equal(a, b, equal_nan=True))


def run_other(name: str) -> dict | None:
    path = ROOT / "bench" / name
    if not path.exists():
        return None
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=ROOT)
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {"exit": done.returncode, "stdout": done.stdout[-2000:], "stderr": done.stderr[-2000:]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events-per-year", type=float, default=36.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-others", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    h = draw(args.customers, args.events_per_year, rng)
    drawn = time.perf_counter() - t0
    params = model_parameters(h, rng)
    load_before = os.getloadavg()
    runs, peers = [], []
    result = peer_inputs = None
    for _ in range(args.repeat):
        result = ours(h, params)
        runs.append(result["seconds"])
        if not args.no_peer:
            peer_inputs, seconds = peer(h)
            peers.append(seconds)
    load_after = os.getloadavg()
    x = result["inputs"]
    totals = [r["total"] for r in runs]
    inputs_times = [r["inputs"] for r in runs]
    out = {
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
                    "cpus": os.cpu_count(), "load_average_before": [round(v, 2) for v in load_before],
                    "load_average_after": [round(v, 2) for v in load_after]},
        "data": {"customers": h.n, "events": int(len(h.event_time)), "payment_attempts": int(len(h.payment_time)),
                 "past_due_invoices": int(len(h.due_from)), "survey_answers": int(len(h.answer_time)),
                 "tickets": int(len(h.ticket_time)), "seconds_to_draw": round(drawn, 2)},
        "ours": {"runs": [{k: round(v, 3) for k, v in r.items()} for r in runs],
                 "median_total_seconds": round(float(np.median(totals)), 3),
                 "median_inputs_seconds": round(float(np.median(inputs_times)), 3),
                 "target_seconds": 10.0, "target_met": bool(np.median(totals) <= 10.0)},
        "scores": {"bands": {b: int((result["score"].band == i).sum()) for i, b in enumerate(health.BANDS)},
                   "mean_score": round(float(result["score"].score.mean()), 2),
                   "mean_churn_probability": round(float(result["probability"].mean()), 4),
                   "customers_with_a_reason": int((result["codes"][:, 0] >= 0).sum())},
    }
    if peers:
        equal = {name: same(getattr(x, name), peer_inputs[name]) for name in peer_inputs}
        out["peer"] = {"what": "the same inputs with plain pandas (masks and groupby)",
                       "runs_seconds": [round(v, 3) for v in peers],
                       "median_seconds": round(float(np.median(peers)), 3),
                       "speedup_inputs": round(float(np.median(peers) / np.median(inputs_times)), 2),
                       "equal": equal, "all_equal": all(equal.values())}
    if not args.no_others:
        for name in ("success_import.py", "success_page.py"):
            other = run_other(name)
            if other is not None:
                out[name.removesuffix(".py")] = other
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

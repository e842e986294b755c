"""Benchmark of the lifetime value models (issue 18), with a peer in the same run.

    .venv/bin/python bench/clv.py [--customers 1000000] [--subscriptions 1000000] [--seed 1] [--repeat 3]
                                          [--no-peer] [--whole-weeks]

1. BG/NBD + Gamma-Gamma on N customers drawn from the models with known parameters (52 weeks
   of purchases; order values from the Gamma-Gamma model): ``assina.core.forecasting`` against
   ``lifetimes`` 0.11.3 (``BetaGeoFitter``, ``GammaGammaFitter``) on the same arrays, ours and
   theirs alternating ``--repeat`` times (the machine is shared: the load average is printed
   before and after); every time of both, the speedup from the medians (and from the best of
   each), the parameters of both against the true ones, and the largest relative difference
   between the two fits.
2. sBG for every monthly cohort of M subscriptions signed up over 5 years (60 cohorts, each
   observed until the end of the 5 years, so the newest has one period): counting each cohort's
   losses and survivors from the per-subscription lifetimes and fitting each cohort that can
   be fitted, timed end to end.
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from assina.core.forecasting import bgnbd, gamma_gamma, sbg  # noqa: E402
from assina.core.forecasting.errors import ForecastError  # noqa: E402

TRUE_BGNBD = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 3.0}
TRUE_GG = {"p": 6.0, "q": 4.0, "v": 15.0}
TRUE_SBG = {"alpha": 0.9, "beta": 2.5}
WEEKS = 52.0


def draw_purchases(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    r, alpha, a, b = (TRUE_BGNBD[k] for k in ("r", "alpha", "a", "b"))
    rate = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    # Customers first bought at different times in the year: T from 1 to 52 weeks.
    age = rng.uniform(1.0, WEEKS, n)
    frequency, recency, clock = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        clock[alive] += rng.exponential(1 / rate[alive])
        buys = alive & (clock <= age)
        frequency[buys] += 1
        recency[buys] = clock[buys]
        alive = buys & (rng.random(n) >= drop)
    p, q, v = (TRUE_GG[k] for k in ("p", "q", "v"))
    nu = rng.gamma(q, 1 / v, n)
    x = np.maximum(frequency, 1)
    monetary = np.where(frequency > 0, rng.gamma(p * x, 1 / (x * nu)), 0.0)
    return {"frequency": frequency, "recency": recency, "T": age, "monetary_value": monetary}


def ours(data: dict) -> tuple[dict, float]:
    started = time.perf_counter()
    purchases = bgnbd.fit(data["frequency"], data["recency"], data["T"])
    values = gamma_gamma.fit(data["frequency"], data["monetary_value"])
    seconds = time.perf_counter() - started
    return {"r": purchases.r, "alpha": purchases.alpha, "a": purchases.a, "b": purchases.b,
            "p": values.p, "q": values.q, "v": values.v}, seconds


def peer(data: dict) -> tuple[dict, float]:
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    frame = pd.DataFrame(data)
    repeat = frame[frame["frequency"] > 0]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        purchases = BetaGeoFitter().fit(frame["frequency"], frame["recency"], frame["T"])
        values = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    seconds = time.perf_counter() - started
    return {**{k: float(purchases.params_[k]) for k in ("r", "alpha", "a", "b")},
            **{k: float(values.params_[k]) for k in ("p", "q", "v")}}, seconds


def cohorts(m: int, rng: np.random.Generator) -> dict:
    """M subscriptions, monthly cohorts over 60 months; each observed until month 60."""
    theta = rng.beta(TRUE_SBG["alpha"], TRUE_SBG["beta"], m)
    lifetime = rng.geometric(theta)  # periods paid
    cohort = rng.integers(0, 60, m)
    started = time.perf_counter()
    observed = 60 - cohort  # renewal decisions seen by the end
    stopped = lifetime <= observed
    order = np.argsort(cohort, kind="stable")
    bounds = np.searchsorted(cohort[order], np.arange(61))
    fitted, refused, worst = 0, 0, 0.0
    truth = sbg.survival(TRUE_SBG["alpha"], TRUE_SBG["beta"], np.arange(13))
    for c in range(60):
        rows = order[bounds[c]:bounds[c + 1]]
        lost = np.bincount(lifetime[rows][stopped[rows]], minlength=61)
        alive = np.bincount(np.minimum(observed[rows][~stopped[rows]], 60), minlength=61)
        try:
            result = sbg.fit_censored(lost, alive)
        except ForecastError:
            refused += 1
            continue
        fitted += 1
        if 60 - c >= 12:  # cohorts with a year of data: how close their first-year curve is to the truth
            worst = max(worst, float(np.max(np.abs(result.survival(np.arange(13)) - truth))))
    seconds = time.perf_counter() - started
    return {"subscriptions": m, "cohorts": 60, "fitted": fitted, "refused_too_short": refused, "seconds": round(seconds, 3),
            "target_seconds": 2.0, "met": seconds <= 2.0,
            "worst_first_year_survival_error_of_cohorts_with_a_year": round(worst, 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="fits of each, ours and theirs alternating")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--whole-weeks", action="store_true",
                        help="ages and recencies rounded down to whole weeks, as in a weekly summary (many repeated rows)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    data = draw_purchases(args.customers, rng)
    if args.whole_weeks:
        data["T"] = np.ceil(data["T"])
        data["recency"] = np.floor(data["recency"])
    load_before = os.getloadavg()
    my_times, peer_times = [], []
    for _ in range(args.repeat):
        mine, seconds = ours(data)
        my_times.append(seconds)
        if not args.no_peer:
            theirs, seconds = peer(data)
            peer_times.append(seconds)
    my_seconds = float(np.median(my_times))
    result = {"machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                          "numpy": np.__version__, "cpus": os.cpu_count(),
                          "load_average_before": [round(v, 2) for v in load_before],
                          "load_average_after": [round(v, 2) for v in os.getloadavg()]},
              "customers": args.customers, "whole_weeks": args.whole_weeks, "repeat_customers": int((data["frequency"] > 0).sum()),
              "truth": {**TRUE_BGNBD, **TRUE_GG},
              "assina": {"seconds": round(my_seconds, 3), "every_run": [round(t, 3) for t in my_times],
                         "params": {k: round(v, 5) for k, v in mine.items()}}}
    if not args.no_peer:
        peer_seconds = float(np.median(peer_times))
        result["lifetimes"] = {"seconds": round(peer_seconds, 3), "every_run": [round(t, 3) for t in peer_times],
                               "params": {k: round(v, 5) for k, v in theirs.items()}}
        result["speedup"] = round(peer_seconds / my_seconds, 1)
        result["speedup_best_of_each"] = round(min(peer_times) / min(my_times), 1)
        result["speedup_target"] = 10
        result["largest_relative_difference"] = float(max(abs(mine[k] - theirs[k]) / abs(theirs[k]) for k in mine))
        result["same_parameters_to_1e-3"] = result["largest_relative_difference"] <= 1e-3
    result["sbg"] = cohorts(args.subscriptions, rng)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

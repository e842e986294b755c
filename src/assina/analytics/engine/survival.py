"""Lifetime value forecasts from the change table: how long each subscription has paid, the
retention model (sBG) fitted per billing interval, per plan and per signup cohort, and what each
paying subscription and customer is expected to be worth (pure NumPy over the table; the maths
is ``assina.core.forecasting``).

A subscription's *life* starts at its first payment (its level becomes more than 0) and ends the
first time it stops paying (canceled, paused, unpaid: level 0). Its periods are its plan's:
a month for monthly plans, a year for annual ones; plans of other intervals are left out. A
subscription still paying has renewed ``whole`` times so far (censored there); one that stopped
made its last payment for period T = the number of periods it started.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from assina.core.forecasting import sbg
from assina.core.forecasting.errors import ForecastError

from .table import ChangeTable, month_label, month_of, month_start_seconds

PERIOD_MONTHS = {0: 1, 1: 12}  # INTERVAL_KINDS: monthly, annual
GROUPS = ("monthly", "annual")
CURVE_PERIODS = {0: 36, 1: 5}  # how far the projected curves reach (3 years of months, 5 years)
# A cohort gets a fit of its own from this many subscriptions on (fewer: the fit of its whole
# billing interval, whose estimate is steadier); a group's observed curve stops where fewer than
# MIN_AT_RISK reached the renewal.
MIN_COHORT = 30
MIN_AT_RISK = 3


@dataclass
class Lives:
    sub: np.ndarray
    customer: np.ndarray
    plan: np.ndarray  # index into the table's plans (the plan of the first payment)
    kind: np.ndarray  # 0 monthly, 1 annual
    cohort: np.ndarray  # month index of the first payment
    whole: np.ndarray  # whole periods from the first payment to the end (or to as_of)
    lifetime: np.ndarray  # periods started (for one that stopped: its last period, T)
    stopped: np.ndarray  # bool
    first_amount: np.ndarray  # what its first period cost, reporting currency (minor units)
    amount: np.ndarray  # what a period costs now (0 once stopped)

    def __len__(self) -> int:
        return len(self.sub)


def lives(table: ChangeTable, as_of: int) -> Lives:
    upto = table.at <= as_of
    sub, at, native, mrr = table.sub[upto], table.at[upto], table.native[upto], table.mrr[upto]
    kind_rows, plan_rows, customer_rows = table.interval[upto], table.plan[upto], table.customer[upto]
    paying = native > 0
    paid_subs, first_index = np.unique(sub[paying], return_index=True)
    first_rows = np.flatnonzero(paying)[first_index]
    start = at[first_rows]
    kind = kind_rows[first_rows].astype(np.int64)
    # The first row after the first payment whose level is 0 ends the life.
    where = np.searchsorted(paid_subs, sub)
    where = np.clip(where, 0, max(len(paid_subs) - 1, 0))
    known = len(paid_subs) > 0
    after_start = known & (paid_subs[where] == sub) & (at > start[where]) if known else np.zeros(len(sub), dtype=bool)
    ends = after_start & ~paying
    end_subs, end_index = np.unique(sub[ends], return_index=True)
    stop = np.full(len(paid_subs), -1, dtype=np.int64)
    stop[np.searchsorted(paid_subs, end_subs)] = at[np.flatnonzero(ends)[end_index]]
    stopped = stop >= 0
    end = np.where(stopped, stop, as_of)
    # Whole months between start and end (calendar months, the same day and time of month).
    start_m, end_m = month_of(start), month_of(end)
    months = end_m - start_m - ((end - month_start_seconds(end_m)) < (start - month_start_seconds(start_m)))
    months = np.maximum(months, 0)
    period = np.where(kind == 1, 12, 1)
    whole = months // period
    exact = (months % period == 0) & ((end - month_start_seconds(end_m)) == (start - month_start_seconds(start_m)))
    lifetime = np.maximum(whole + ~exact, 1)
    # What a period costs now: the last level up to as_of (0 once stopped), monthly MRR × months.
    last = np.r_[sub[1:] != sub[:-1], True] if len(sub) else np.zeros(0, dtype=bool)
    last_subs, last_mrr = sub[last], mrr[last]
    current = last_mrr[np.searchsorted(last_subs, paid_subs)] if len(paid_subs) else np.zeros(0, dtype=np.int64)
    keep = np.isin(kind, (0, 1))
    return Lives(sub=paid_subs[keep], customer=customer_rows[first_rows][keep], plan=plan_rows[first_rows][keep].astype(np.int64),
                 kind=kind[keep], cohort=start_m[keep], whole=whole[keep], lifetime=lifetime[keep], stopped=stopped[keep],
                 first_amount=(mrr[first_rows] * period)[keep], amount=np.where(stopped, 0, current * period)[keep])


# No subscription has been through two renewal decisions yet (the caller words it for the owner).
TOO_SHORT = "too_short"


@dataclass
class GroupFit:
    fit: sbg.SbgFit | None
    error: ForecastError | str | None
    subscriptions: int
    stopped: int
    extra: dict = field(default_factory=dict)


def fit_group(life: Lives, keep: np.ndarray) -> GroupFit:
    lost = np.bincount(life.lifetime[keep & life.stopped], minlength=2).astype(np.float64)
    alive = np.bincount(life.whole[keep & ~life.stopped], minlength=2).astype(np.float64)
    n, gone = int(keep.sum()), int((keep & life.stopped).sum())
    if not n:
        return GroupFit(None, None, 0, 0)
    if max(np.flatnonzero(lost).max(initial=0), np.flatnonzero(alive).max(initial=0)) < 2:
        # Fewer than two periods seen: α and β cannot both be told apart.
        return GroupFit(None, TOO_SHORT, n, gone)
    try:
        return GroupFit(sbg.fit_censored(lost, alive), None, n, gone)
    except ForecastError as exc:
        return GroupFit(None, exc, n, gone)


def period_rate(annual_rate: float, kind: int) -> float:
    """A yearly discount rate as the rate of one period of the group (a month: (1 + d)^(1/12) − 1)."""
    return (1.0 + annual_rate) ** (PERIOD_MONTHS[kind] / 12.0) - 1.0


def observed_curve(life: Lives, keep: np.ndarray, at_least: int = 1) -> list[float]:
    """The share still paying after t periods, as observed (Kaplan-Meier: each renewal's share of
    those who reached it, multiplied up), while at least ``at_least`` subscriptions reached it."""
    if not keep.any():
        return []
    stopped = keep & life.stopped
    reach = np.where(life.stopped, life.lifetime, life.whole)[keep]
    size = int(reach.max()) + 1
    lost = np.bincount(life.lifetime[stopped], minlength=size + 1)[: size + 1]
    # Reached decision t: stopped at t or later, or still paying after t or more renewals.
    risk = np.bincount(reach, minlength=size + 1)[::-1].cumsum()[::-1][: size + 1]
    curve, share = [1.0], 1.0
    for t in range(1, size + 1):
        if risk[t] < at_least:
            break
        share *= 1.0 - lost[t] / risk[t]
        curve.append(round(float(share), 6))
    return curve


def forecast(table: ChangeTable, as_of: int, *, annual_discount: float, margin: float) -> dict:
    """Everything the dashboard, the API and the customer page show, as plain data."""
    life = lives(table, as_of)
    groups, fits = [], {}
    for kind, name in enumerate(GROUPS):
        keep = life.kind == kind
        group = fit_group(life, keep)
        fits[kind] = group
        d = period_rate(annual_discount, kind)
        row = {"group": name, "period_months": PERIOD_MONTHS[kind], "subscriptions": group.subscriptions,
               "stopped": group.stopped, "paying": int((keep & ~life.stopped).sum()), "discount_rate": round(d, 8),
               "alpha": None, "beta": None, "log_likelihood": None, "standard_errors": None, "error": group.error,
               "projected": [], "observed": observed_curve(life, keep, MIN_AT_RISK), "new_customer_periods": None}
        if group.fit is not None:
            f = group.fit
            row.update(alpha=round(f.alpha, 6), beta=round(f.beta, 6), log_likelihood=round(f.log_likelihood, 4),
                       standard_errors={"alpha": f.standard_errors[0], "beta": f.standard_errors[1]},
                       projected=[round(float(v), 6) for v in f.survival(np.arange(CURVE_PERIODS[kind] + 1))],
                       new_customer_periods=round(sbg.discounted_expected_lifetime(f.alpha, f.beta, d), 6))
        groups.append(row)

    # Per paying subscription: DERL × what a period costs × margin (its interval's fit).
    value = np.full(len(life), np.nan)
    half = np.full(len(life), np.nan)
    expected = np.full(len(life), np.nan)
    for kind in PERIOD_MONTHS:
        f = fits[kind].fit
        hit = (life.kind == kind) & ~life.stopped
        if f is None or not hit.any():
            continue
        d = period_rate(annual_discount, kind)
        value[hit] = margin * life.amount[hit] * f.derl(life.whole[hit], d)
        half[hit] = sbg.half_life(f.alpha, f.beta, life.whole[hit]) * PERIOD_MONTHS[kind]
        expected[hit] = sbg.expected_residual_lifetime(f.alpha, f.beta, life.whole[hit]) * PERIOD_MONTHS[kind]

    plans = []
    for index, code in enumerate(table.plans):
        on = life.plan == index
        if not on.any():
            continue
        kind = int(np.bincount(life.kind[on]).argmax())
        f = fits[kind].fit
        paying = on & ~life.stopped & ~np.isnan(value)
        new_value = None
        if f is not None:
            first = float(np.median(life.first_amount[on]))
            new_value = int(round(margin * first * sbg.discounted_expected_lifetime(f.alpha, f.beta, period_rate(annual_discount, kind))))
        plans.append({"plan": code, "group": GROUPS[kind], "subscriptions": int(on.sum()), "paying": int((on & ~life.stopped).sum()),
                      "new_customer_clv": new_value, "clv_total": int(round(value[paying].sum())) if f is not None else None,
                      "clv_mean": int(round(value[paying].mean())) if paying.any() else None})
    plans.sort(key=lambda p: (-(p["new_customer_clv"] or 0), p["plan"]))

    cohorts = []
    for kind in PERIOD_MONTHS:
        pooled = fits[kind].fit
        for month in np.unique(life.cohort[life.kind == kind]):
            keep = (life.kind == kind) & (life.cohort == month)
            own = fit_group(life, keep).fit if keep.sum() >= MIN_COHORT else None
            used = own if own is not None and own.converged else pooled
            paying = keep & ~life.stopped & ~np.isnan(value)
            observed = observed_curve(life, keep)
            horizon = max(CURVE_PERIODS[kind], len(observed) - 1)
            cohorts.append({
                "cohort": month_label(int(month)), "group": GROUPS[kind], "size": int(keep.sum()),
                "paying": int((keep & ~life.stopped).sum()), "observed": observed,
                "fit": None if used is None else ("cohort" if used is own else "pooled"),
                "alpha": None if used is None else round(used.alpha, 6), "beta": None if used is None else round(used.beta, 6),
                "projected": [] if used is None else [round(float(v), 6) for v in used.survival(np.arange(horizon + 1))],
                "clv_total": int(round(value[paying].sum())) if pooled is not None else None,
            })

    # Per customer: the sum over their paying subscriptions; how long the longest-lived one may stay.
    paying = ~life.stopped & ~np.isnan(value)
    customers, where = np.unique(life.customer[paying], return_inverse=True)
    totals = np.bincount(where, weights=value[paying], minlength=len(customers))
    half_months = np.full(len(customers), np.nan)
    expected_months = np.full(len(customers), np.nan)
    if len(customers):
        np.fmax.at(half_months, where, half[paying])
        np.fmax.at(expected_months, where, expected[paying])
    return {"groups": groups, "plans": plans, "cohorts": cohorts,
            "customers": {"customer": customers, "clv": totals, "half_life_months": half_months,
                          "expected_months": expected_months}}

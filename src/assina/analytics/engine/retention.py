"""Churn, retention, quick ratio, ARPA and LTV from customer-level changes.

Rates are ratios (floats, never money); a rate whose denominator is zero is None.
"""

from __future__ import annotations

import numpy as np

from .movements import CHURN, CONTRACTION, EXPANSION, NEW, REACTIVATION, CustomerChanges, MonthlySeries, group_starts, spread_first

LTV_CHURN_MONTHS = 6


def ratio(numerator, denominator) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def cohort_retention(changes: CustomerChanges, bucket: np.ndarray, inside: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per bucket (a month, or the whole range), the movements of the customers who were paying
    when it started: net (expansion + contraction + churn) and gross (contraction + churn).

    NRR = (MRR at start + net) / MRR at start and GRR = (MRR at start + gross) / MRR at start,
    ChartMogul's formulas on the starting customers. A customer leaves the cohort when they
    churn: whatever they do after (come back, churn again) is not retention, and no customer
    loses more than they started with (GRR stays within 0..1)."""
    customer, bucket = changes.customer[inside], bucket[inside].astype(np.int64)
    kind, delta = changes.kind[inside], changes.delta[inside]
    flags = group_starts(customer * (n + 1) + bucket)
    first = np.flatnonzero(flags)
    if not len(first):
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    start_level = changes.before[inside][first]
    churn = (kind == CHURN).astype(np.int64)
    seen = np.cumsum(churn) - churn
    before_churn = (seen - spread_first(seen, flags)) == 0
    lost = before_churn & ((kind == CONTRACTION) | (kind == CHURN))
    moved = lost | (before_churn & (kind == EXPANSION))
    net = np.add.reduceat(np.where(moved, delta, 0), first)
    gross = np.maximum(np.add.reduceat(np.where(lost, delta, 0), first), -start_level)
    held, where = start_level > 0, bucket[first]
    net_sum = np.rint(np.bincount(where[held], weights=net[held], minlength=n)[:n]).astype(np.int64)
    gross_sum = np.rint(np.bincount(where[held], weights=gross[held], minlength=n)[:n]).astype(np.int64)
    return net_sum, gross_sum


def monthly_rates(changes: CustomerChanges, series: MonthlySeries) -> dict[str, np.ndarray]:
    first, n = int(series.months[0]), len(series.months)
    inside = (changes.month >= first) & (changes.month < first + n)
    net, gross = cohort_retention(changes, changes.month - first, inside, n)
    a = series.amount
    lost = -(a[:, CHURN] + a[:, CONTRACTION])
    gained = a[:, NEW] + a[:, EXPANSION] + a[:, REACTIVATION]
    return {
        "customer_churn_rate": ratio(series.count[:, CHURN], series.customers_start),
        "gross_mrr_churn_rate": ratio(lost, series.mrr_start),
        "net_mrr_churn_rate": ratio(lost - a[:, EXPANSION] - a[:, REACTIVATION], series.mrr_start),
        "net_revenue_retention": ratio(series.mrr_start + net, series.mrr_start),
        "gross_revenue_retention": ratio(series.mrr_start + gross, series.mrr_start),
        "quick_ratio": ratio(gained, lost),
        "arpa": ratio(series.mrr_end, series.customers_end),
    }


def range_retention(changes: CustomerChanges, first: int, last: int, mrr_start: int) -> tuple[float | None, float | None]:
    """NRR and GRR of the customers paying when month ``first`` starts, at the end of ``last``."""
    inside = (changes.month >= first) & (changes.month <= last)
    net, gross = cohort_retention(changes, np.zeros(len(changes), dtype=np.int64), inside, 1)
    if mrr_start == 0:
        return None, None
    return (mrr_start + int(net[0])) / mrr_start, (mrr_start + int(gross[0])) / mrr_start


def ltv(arpa: float | None, churn_rates: np.ndarray) -> tuple[float | None, float | None]:
    """(LTV, the churn rate used): ARPA / the average monthly customer churn of the last six months."""
    recent = churn_rates[-LTV_CHURN_MONTHS:]
    recent = recent[~np.isnan(recent)]
    if arpa is None or not len(recent):
        return None, None
    churn = float(recent.mean())
    return (arpa / churn if churn > 0 else None), churn

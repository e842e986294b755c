"""Cohort tables: customers grouped by the month of their first payment (their new-business
month), and how many of them — and how much of their MRR — remain each month after."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .movements import CHURN, NEW, REACTIVATION, CustomerChanges, spread_first


@dataclass
class Cohorts:
    months: np.ndarray  # cohort month indexes
    size: np.ndarray  # customers who first paid in that month
    customers: np.ndarray  # [cohort, months since] paying customers at the end of that month (-1: future)
    mrr: np.ndarray  # [cohort, months since] MRR of the cohort at the end of that month (-1: future)

    def customer_percent(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(self.customers >= 0, 100.0 * self.customers / self.size[:, None], np.nan)
        out[self.size == 0] = np.nan
        return out

    def revenue_percent(self) -> np.ndarray:
        base = self.mrr[:, 0].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(self.mrr >= 0, 100.0 * self.mrr / base[:, None], np.nan)
        out[base == 0] = np.nan
        return out


def cohorts(changes: CustomerChanges, first: int, last: int) -> Cohorts:
    n = last - first + 1
    cohort = spread_first(changes.month, changes.first)  # a customer's first change is always new business
    keep = (cohort >= first) & (cohort <= last) & (changes.month <= last)
    c, m = cohort[keep] - first, changes.month[keep] - first
    cell = (c * n + m).astype(np.int64)
    kind = changes.kind[keep]
    paying = (kind == NEW).astype(np.int64) + (kind == REACTIVATION) - (kind == CHURN)
    count = np.rint(np.bincount(cell, weights=paying, minlength=n * n)).astype(np.int64).reshape(n, n).cumsum(axis=1)
    mrr = np.rint(np.bincount(cell, weights=changes.delta[keep], minlength=n * n)).astype(np.int64).reshape(n, n).cumsum(axis=1)
    size = np.bincount(c[kind == NEW], minlength=n).astype(np.int64)
    # Re-index columns as "months since the cohort's first month"; later months are unknown (-1).
    shift = np.arange(n)[:, None] + np.arange(n)[None, :]
    valid = shift < n
    rows = np.broadcast_to(np.arange(n)[:, None], (n, n))
    by_age_count = np.full((n, n), -1, dtype=np.int64)
    by_age_mrr = np.full((n, n), -1, dtype=np.int64)
    by_age_count[valid] = count[rows[valid], shift[valid]]
    by_age_mrr[valid] = mrr[rows[valid], shift[valid]]
    return Cohorts(np.arange(first, last + 1), size, by_age_count, by_age_mrr)

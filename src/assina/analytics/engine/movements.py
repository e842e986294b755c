"""MRR movements: how each customer's MRR changed, classified as ChartMogul does.

Movements are classified per *customer* (all their subscriptions together), netted per day:
  new business   0 -> >0, the first time the customer pays
  reactivation   0 -> >0, after having churned
  expansion      up, from more than 0
  contraction    down, to more than 0
  churn          >0 -> 0
Because each movement is the difference of two consecutive levels of one customer, the
movements of a month always add up to MRR(end) - MRR(start): the sums telescope.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .table import DAY, ChangeTable, month_of

NEW, EXPANSION, CONTRACTION, CHURN, REACTIVATION = range(5)
KINDS = ("new", "expansion", "contraction", "churn", "reactivation")


def sub_deltas(table: ChangeTable, level: np.ndarray, as_of: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, at, delta) of every row up to ``as_of`` that changes its subscription's level."""
    upto = table.at <= as_of
    sub, customer, at, level = table.sub[upto], table.customer[upto], table.at[upto], level[upto]
    previous = np.empty_like(level)
    previous[:1] = 0
    previous[1:] = level[:-1]
    first = np.ones(len(sub), dtype=bool)
    first[1:] = sub[1:] != sub[:-1]
    previous[first] = 0
    delta = level - previous
    moved = delta != 0
    return customer[moved], at[moved], delta[moved]


@dataclass
class CustomerChanges:
    """Customer-level changes, netted per day, sorted by (customer, day)."""

    customer: np.ndarray
    day: np.ndarray  # days since 1970 (wall clock)
    delta: np.ndarray
    before: np.ndarray
    after: np.ndarray
    kind: np.ndarray  # int8, see KINDS
    month: np.ndarray
    first: np.ndarray  # bool: first row of its customer

    def __len__(self) -> int:
        return len(self.customer)


def group_starts(keys_sorted: np.ndarray) -> np.ndarray:
    flag = np.ones(len(keys_sorted), dtype=bool)
    flag[1:] = keys_sorted[1:] != keys_sorted[:-1]
    return flag


def spread_first(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For each row, ``values`` at the first row of its group (groups given by ``starts``)."""
    index = np.where(starts, np.arange(len(starts)), 0)
    np.maximum.accumulate(index, out=index)
    return values[index]


def customer_changes(customer: np.ndarray, at: np.ndarray, delta: np.ndarray) -> CustomerChanges:
    day = at // DAY
    # One sort of a packed (customer, day) key: faster than a lexsort on two columns.
    key = customer.astype(np.int64) * (1 << 22) + day
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(group_starts(key))
    delta = np.add.reduceat(delta[order], starts) if len(starts) else delta[:0]
    key = key[starts]
    moved = delta != 0
    key, delta = key[moved], delta[moved]
    customer, day = key >> 22, key & ((1 << 22) - 1)
    first = group_starts(customer)
    running = np.cumsum(delta)
    after = running - spread_first(running - delta, first)
    before = after - delta
    kind = np.full(len(delta), EXPANSION, dtype=np.int8)
    kind[(before > 0) & (after > before) ] = EXPANSION
    kind[(after > 0) & (after < before)] = CONTRACTION
    kind[after == 0] = CHURN
    starts_paying = before == 0
    # The first time a customer goes from 0 to paying is new business; later ones reactivate.
    rank = np.cumsum(starts_paying)
    rank = rank - spread_first(rank - starts_paying, first)
    kind[starts_paying & (rank == 1)] = NEW
    kind[starts_paying & (rank > 1)] = REACTIVATION
    return CustomerChanges(customer, day, delta, before, after, kind, month_of(day * DAY), first)


@dataclass
class MonthlySeries:
    """Month by month over [first, last]: MRR, customers and movements (amounts and counts)."""

    months: np.ndarray  # month indexes
    mrr_start: np.ndarray
    mrr_end: np.ndarray
    customers_start: np.ndarray
    customers_end: np.ndarray
    amount: np.ndarray  # [month, kind] int64
    count: np.ndarray  # [month, kind] int64


def _bucket_sum(index: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    # Float weights are exact here: every partial sum is an integer far below 2**53.
    return np.rint(np.bincount(index, weights=weights, minlength=size)[:size]).astype(np.int64)


def monthly_series(changes: CustomerChanges, first: int, last: int) -> MonthlySeries:
    n = last - first + 1
    before = changes.month < first
    inside = ~before & (changes.month <= last)
    opening_mrr = int(changes.delta[before].sum())
    paying_delta = (changes.kind == NEW).astype(np.int64) + (changes.kind == REACTIVATION) - (changes.kind == CHURN)
    opening_customers = int(paying_delta[before].sum())
    rel = (changes.month[inside] - first).astype(np.int64)
    cell = rel * len(KINDS) + changes.kind[inside]
    amount = _bucket_sum(cell, changes.delta[inside], n * len(KINDS)).reshape(n, len(KINDS))
    count = np.bincount(cell, minlength=n * len(KINDS))[: n * len(KINDS)].reshape(n, len(KINDS)).astype(np.int64)
    net = amount.sum(axis=1)
    mrr_end = opening_mrr + np.cumsum(net)
    mrr_start = mrr_end - net
    customers_net = _bucket_sum(rel, paying_delta[inside], n)
    customers_end = opening_customers + np.cumsum(customers_net)
    customers_start = customers_end - customers_net
    return MonthlySeries(np.arange(first, last + 1), mrr_start, mrr_end, customers_start, customers_end, amount, count)

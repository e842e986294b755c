"""MRR at one moment, split by plan and by billing interval (monthly vs annual mix)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .table import INTERVAL_KINDS, ChangeTable


@dataclass
class Snapshot:
    mrr_by_plan: np.ndarray  # [plan]
    subscriptions_by_plan: np.ndarray  # [plan] paying subscriptions
    customers_by_plan: np.ndarray  # [plan] paying customers (one customer may count in two plans)
    mrr_by_interval: np.ndarray  # [interval kind]
    subscriptions_by_interval: np.ndarray


def snapshot(table: ChangeTable, level: np.ndarray, as_of: int) -> Snapshot:
    upto = np.flatnonzero(table.at <= as_of)
    sub = table.sub[upto]
    last = np.ones(len(sub), dtype=bool)
    last[:-1] = sub[1:] != sub[:-1]
    rows = upto[last]
    value = level[rows]
    paying = value > 0
    plan, interval, customer = table.plan[rows][paying], table.interval[rows][paying], table.customer[rows][paying]
    value = value[paying]
    n_plans, n_kinds = len(table.plans), len(INTERVAL_KINDS)
    # Distinct (customer, plan) pairs by sorting: much faster than np.unique's hashing here.
    pairs = np.sort(customer.astype(np.int64) * 4096 + plan)
    if len(pairs):
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    return Snapshot(
        mrr_by_plan=np.rint(np.bincount(plan, weights=value, minlength=n_plans)).astype(np.int64),
        subscriptions_by_plan=np.bincount(plan, minlength=n_plans).astype(np.int64),
        customers_by_plan=np.bincount(pairs % 4096, minlength=n_plans).astype(np.int64),
        mrr_by_interval=np.rint(np.bincount(interval, weights=value, minlength=n_kinds)).astype(np.int64),
        subscriptions_by_interval=np.bincount(interval, minlength=n_kinds).astype(np.int64),
    )

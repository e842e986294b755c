"""The table every metric is computed from: one row per change of a subscription's MRR.

A row says "from ``at`` on, subscription ``sub`` (of ``customer``) is worth ``mrr`` a month"
(a level, not a delta, so a row can be repeated or dropped without breaking the sums). Rows
are sorted by (sub, at). Times are seconds since 1970 on the business's wall clock (local
time without zone), so days and months are plain integer arithmetic.

``mrr`` is in the reporting currency (converted with the operator's rates), ``native`` in the
subscription's own currency. Labels (plan codes, currencies, countries...) are kept once in
lists; rows hold small integer indexes into them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DAY = 86_400
INTERVAL_KINDS = ("monthly", "annual", "other")


def month_of(seconds: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of wall-clock seconds."""
    return np.asarray(seconds, dtype="datetime64[s]").astype("datetime64[M]").astype(np.int64)


def month_start_seconds(month: int | np.ndarray) -> np.ndarray:
    return np.asarray(month, dtype=np.int64).astype("datetime64[M]").astype("datetime64[s]").astype(np.int64)


def month_label(month: int) -> str:
    return str(np.datetime64(int(month), "M"))


@dataclass
class ChangeTable:
    sub: np.ndarray  # int64, sorted ascending, rows of one sub by time
    customer: np.ndarray  # int64
    at: np.ndarray  # int64 wall-clock seconds
    mrr: np.ndarray  # int64, level in the reporting currency (minor units)
    native: np.ndarray  # int64, level in the subscription's currency (minor units)
    plan: np.ndarray  # int32 index into ``plans`` (the plan in force from ``at``)
    currency: np.ndarray  # int16 index into ``currencies``
    interval: np.ndarray  # int8 index into INTERVAL_KINDS
    plans: list[str] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)
    reporting_currency: str = "BRL"
    # Currencies without an exchange rate: their rows have mrr 0 (reported, never guessed).
    unconverted: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sub)

    def take(self, keep: np.ndarray) -> "ChangeTable":
        return ChangeTable(self.sub[keep], self.customer[keep], self.at[keep], self.mrr[keep], self.native[keep],
                           self.plan[keep], self.currency[keep], self.interval[keep], self.plans, self.currencies,
                           self.reporting_currency, self.unconverted)


@dataclass
class Customers:
    """Per-customer attributes the filters use (country, segment, currency), as label indexes."""

    id: np.ndarray  # int64
    country: np.ndarray  # int32 index into ``countries``
    segment: np.ndarray  # int32 index into ``segments``
    currency: np.ndarray  # int16 index into ``currencies`` (of ChangeTable)
    countries: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)


@dataclass
class SubscriptionFacts:
    """One row per subscription: what the trial and cancellation metrics need."""

    sub: np.ndarray  # int64
    customer: np.ndarray  # int64
    plan: np.ndarray  # int32: the plan it started on
    started_at: np.ndarray  # int64 seconds
    trial_end: np.ndarray  # int64 seconds, -1 when no trial
    converted_at: np.ndarray  # int64 seconds it first had MRR (paid), -1 never
    ended_at: np.ndarray  # int64 seconds, -1 when still running
    reason: np.ndarray  # int32 index into ``reasons``
    lost_mrr: np.ndarray  # int64: its MRR just before it ended (reporting currency)
    lost_native: np.ndarray  # int64: the same in its own currency
    reasons: list[str] = field(default_factory=list)


@dataclass
class DunningFacts:
    """One row per invoice that had a failed payment attempt."""

    first_failure_at: np.ndarray  # int64 seconds
    recovered_at: np.ndarray  # int64 seconds it was paid after failing, -1 if not (yet)
    closed_unpaid: np.ndarray  # bool: voided or written off without being paid
    amount: np.ndarray  # int64, in the reporting currency
    native: np.ndarray  # int64, in the invoice's currency
    customer: np.ndarray  # int64


@dataclass(frozen=True)
class Filters:
    """Which part of the business a metric looks at. Empty means all."""

    plan: str | None = None
    segment: str | None = None
    country: str | None = None
    currency: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in (("plan", self.plan), ("segment", self.segment), ("country", self.country),
                                  ("currency", self.currency)) if v}


class UnknownFilter(ValueError):
    """A filter names a plan/segment/country/currency that does not exist."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(kind, value)
        self.kind, self.value = kind, value


def _index(labels: list[str], value: str, kind: str) -> int:
    try:
        return labels.index(value)
    except ValueError:
        raise UnknownFilter(kind, value) from None


def customer_mask(customers: Customers, filters: Filters, currencies: list[str]) -> np.ndarray | None:
    """The ids of the customers the customer-level filters keep (None: all)."""
    keep = None
    for kind, value, column, labels in (("segment", filters.segment, customers.segment, customers.segments),
                                        ("country", filters.country, customers.country, customers.countries),
                                        ("currency", filters.currency, customers.currency, currencies)):
        if not value:
            continue
        hit = column == _index(labels, value, kind)
        keep = hit if keep is None else keep & hit
    return None if keep is None else customers.id[keep]


def filtered_levels(table: ChangeTable, customers: Customers, filters: Filters) -> np.ndarray:
    """The MRR level of each row as the filtered view sees it.

    A plan filter keeps a subscription's MRR only while it is on that plan (moving to another
    plan leaves the view as churn or contraction, as in ChartMogul's plan filter). A currency
    filter reports in that currency, unconverted; otherwise the reporting currency.
    """
    level = table.native if filters.currency else table.mrr
    if not (filters.plan or filters.segment or filters.country or filters.currency):
        return level
    keep = np.ones(len(table), dtype=bool)
    if filters.plan:
        keep &= table.plan == _index(table.plans, filters.plan, "plan")
    ids = customer_mask(customers, filters, table.currencies)
    if ids is not None:
        keep &= np.isin(table.customer, ids)
    return np.where(keep, level, 0)

"""Every dashboard figure for one query (filters, as-of moment, month range), as plain data.

Amounts are integers in minor units of ``currency`` (the reporting currency, or the filtered
currency when filtering by currency); rates are fractions (0.05 = 5 %) or None when undefined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import cohorts as cohort_tables
from . import dunning, funnel
from .breakdown import snapshot
from .movements import KINDS, customer_changes, monthly_series, sub_deltas
from .retention import LTV_CHURN_MONTHS, monthly_rates, range_retention, ltv
from .table import (
    INTERVAL_KINDS, ChangeTable, Customers, DunningFacts, Filters, SubscriptionFacts, customer_mask,
    filtered_levels, month_label, month_of, month_start_seconds,
)


@dataclass
class Dataset:
    table: ChangeTable
    customers: Customers
    facts: SubscriptionFacts
    dunning: DunningFacts


@dataclass(frozen=True)
class Query:
    as_of: int  # wall-clock seconds: figures include everything up to and including this moment
    first_month: int  # month indexes (months since 1970-01), inclusive
    last_month: int
    filters: Filters = Filters()


def _num(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, 6)


def _keep(ids: np.ndarray | None, customer: np.ndarray) -> np.ndarray:
    return np.ones(len(customer), dtype=bool) if ids is None else np.isin(customer, ids)


def compute(data: Dataset, query: Query) -> dict:
    table, filters = data.table, query.filters
    level = filtered_levels(table, data.customers, filters)
    customer, at, delta = sub_deltas(table, level, query.as_of)
    changes = customer_changes(customer, at, delta)
    # The rate series look back six months before the range, for the LTV's trailing churn.
    lookback = query.first_month - LTV_CHURN_MONTHS
    series = monthly_series(changes, lookback, query.last_month)
    rates = monthly_rates(changes, series)
    shown = slice(LTV_CHURN_MONTHS, None)
    months = []
    for i in range(LTV_CHURN_MONTHS, len(series.months)):
        row = {"month": month_label(series.months[i]), "mrr_start": int(series.mrr_start[i]), "mrr_end": int(series.mrr_end[i]),
               "customers_start": int(series.customers_start[i]), "customers_end": int(series.customers_end[i])}
        for k, name in enumerate(KINDS):
            row[name] = int(series.amount[i, k])
            row[f"{name}_customers"] = int(series.count[i, k])
        row["net"] = int(series.amount[i].sum())
        row.update({name: _num(values[i]) for name, values in rates.items()})
        month_ltv, _churn = ltv(None if np.isnan(rates["arpa"][i]) else float(rates["arpa"][i]),
                                rates["customer_churn_rate"][: i + 1])
        row["ltv"] = None if month_ltv is None else round(month_ltv, 2)
        months.append(row)
    amount = series.amount[shown].sum(axis=0)
    mrr_start, mrr_end = int(series.mrr_start[LTV_CHURN_MONTHS]), int(series.mrr_end[-1])
    customers_end = int(series.customers_end[-1])
    arpa = mrr_end / customers_end if customers_end else None
    lifetime_value, ltv_churn = ltv(arpa, rates["customer_churn_rate"])
    nrr, grr = range_retention(changes, query.first_month, query.last_month, mrr_start)
    lost = -(int(amount[3]) + int(amount[2]))
    gained = int(amount[0]) + int(amount[1]) + int(amount[4])

    snap = snapshot(table, level, query.as_of)
    plans = [{"plan": code, "mrr": int(snap.mrr_by_plan[i]), "subscriptions": int(snap.subscriptions_by_plan[i]),
              "customers": int(snap.customers_by_plan[i]), "share": _num(snap.mrr_by_plan[i] / mrr_end) if mrr_end else None}
             for i, code in enumerate(table.plans) if snap.subscriptions_by_plan[i]]
    plans.sort(key=lambda r: (-r["mrr"], r["plan"]))
    mix = [{"interval": kind, "mrr": int(snap.mrr_by_interval[i]), "subscriptions": int(snap.subscriptions_by_interval[i]),
            "share": _num(snap.mrr_by_interval[i] / mrr_end) if mrr_end else None} for i, kind in enumerate(INTERVAL_KINDS)]

    ids = customer_mask(data.customers, filters, table.currencies)
    facts = data.facts
    keep = _keep(ids, facts.customer)
    if filters.plan:
        keep &= facts.plan == table.plans.index(filters.plan)
    since = int(month_start_seconds(query.first_month))
    trials = funnel.trial_conversion(facts, keep, since, query.as_of)
    lost_mrr = facts.lost_native if filters.currency else facts.lost_mrr
    cancellations = funnel.cancellations(facts, keep, lost_mrr, since, query.as_of)
    dunning_keep = _keep(ids, data.dunning.customer)
    recovery = dunning.recovery(data.dunning, dunning_keep, since, query.as_of, native=bool(filters.currency))

    cohort = cohort_tables.cohorts(changes, query.first_month, query.last_month)
    churn_series = rates["customer_churn_rate"][shown]
    summary = {
        "mrr": mrr_end, "arr": mrr_end * 12, "customers": customers_end, "arpa": _num(arpa) if arpa is not None else None,
        "mrr_start": mrr_start, "customers_start": int(series.customers_start[LTV_CHURN_MONTHS]),
        **{name: int(amount[k]) for k, name in enumerate(KINDS)}, "net": int(amount.sum()),
        **{f"{name}_customers": int(series.count[shown, k].sum()) for k, name in enumerate(KINDS)},
        "customer_churn_rate": _mean(churn_series),
        "gross_mrr_churn_rate": _mean(rates["gross_mrr_churn_rate"][shown]),
        "net_mrr_churn_rate": _mean(rates["net_mrr_churn_rate"][shown]),
        "net_revenue_retention": nrr, "gross_revenue_retention": grr,
        "quick_ratio": (gained / lost) if lost else None,
        "ltv": _num(lifetime_value) if lifetime_value is not None else None,
        "ltv_churn_rate": ltv_churn,
        "annual_share": mix[1]["share"],
        **trials, **recovery,
    }
    return {
        "as_of": int(query.as_of), "from": month_label(query.first_month), "to": month_label(query.last_month),
        "currency": filters.currency or table.reporting_currency, "filters": filters.as_dict(),
        "unconverted_currencies": [] if filters.currency else list(table.unconverted),
        "reconciles": bool(mrr_start + int(amount.sum()) == mrr_end),
        "summary": summary, "months": months, "plans": plans, "mix": mix,
        "cancellations": cancellations,
        "cohorts": _cohorts(cohort),
    }


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return round(float(values.mean()), 6) if len(values) else None


def _cohorts(cohort: cohort_tables.Cohorts) -> dict:
    def grid(values, missing):
        return [[None if v == missing or (isinstance(v, float) and np.isnan(v)) else (round(float(v), 2) if isinstance(v, float) else int(v))
                 for v in row] for row in values.tolist()]

    n = len(cohort.months)
    return {"months": [month_label(m) for m in cohort.months], "size": cohort.size.tolist(),
            "customers": grid(cohort.customers, -1), "mrr": grid(cohort.mrr, -1),
            "customers_percent": [[None if np.isnan(v) else round(v, 1) for v in row] for row in cohort.customer_percent().tolist()],
            "revenue_percent": [[None if np.isnan(v) else round(v, 1) for v in row] for row in cohort.revenue_percent().tolist()],
            "ages": list(range(n))}


def default_range(as_of: int, months: int = 12) -> tuple[int, int]:
    last = int(month_of(np.array([as_of]))[0])
    return last - months + 1, last

"""The payment jobs and the cheap checks the job runner makes before them (see ``assina.jobs``).

The clock asks the checks at every stop (a simulated year makes hundreds), so each is one
fixed statement instead of ORM queries, whose building costs more than their running.
"""

from __future__ import annotations

from datetime import datetime

from assina.db import aware_datetime, select_row, sql_columns, sql_table
from assina.invoices.models import Invoice
from assina.jobs import register_job

from . import retries
from .models import Refund

OPEN = "open"


def _first_retry_and_final_sql() -> str:
    inv, table = sql_columns(Invoice), sql_table(Invoice)
    return ", ".join(f"(SELECT MIN({inv[field]}) FROM {table} WHERE {inv[field]} IS NOT NULL AND {inv['status']} = %s)"
                     for field in ("next_payment_attempt", "dunning_final_at"))


def next_retry_or_final() -> datetime | None:
    """The earliest retry or dunning final action due (the test clock stops there)."""
    times = [aware_datetime(value) for value in select_row(f"SELECT {_first_retry_and_final_sql()}", [OPEN, OPEN])]
    times = [t for t in times if t is not None]
    return min(times) if times else None


def retries_have_work(until: datetime) -> bool:
    """A retry or final action due, or a refund a crash left pending."""
    refund = sql_columns(Refund)
    retry, final, pending = select_row(
        f"SELECT {_first_retry_and_final_sql()}, "
        f"EXISTS (SELECT 1 FROM {sql_table(Refund)} WHERE {refund['status']} = %s)",
        [OPEN, OPEN, Refund.Status.PENDING.value])
    due = [t for t in (aware_datetime(retry), aware_datetime(final)) if t is not None]
    return (bool(due) and min(due) <= until) or pending in (1, True)


def register() -> None:
    # Retries and final actions must happen at their time, between renewals: the test
    # clock stops at each of them (next_due).
    register_job("payment_retries", retries.run, next_due=next_retry_or_final, has_work=retries_have_work,
                 order=10)

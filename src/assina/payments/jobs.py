"""The payment jobs and the cheap checks the job runner makes before them (see ``assina.jobs``).

The clock asks the checks at every stop (a simulated year makes hundreds), so each is one
fixed statement (``queries``) instead of ORM queries, whose building costs more than their running.
"""

from __future__ import annotations

from datetime import datetime

from assina.jobs import register_job

from . import retries
from .queries import first_retry_and_final, retry_final_and_pending_refund


def next_retry_or_final() -> datetime | None:
    """The earliest retry or dunning final action due (the test clock stops there)."""
    times = [t for t in first_retry_and_final() if t is not None]
    return min(times) if times else None


def retries_have_work(until: datetime) -> bool:
    """A retry or final action due, or a refund a crash left pending."""
    retry, final, pending = retry_final_and_pending_refund()
    due = [t for t in (retry, final) if t is not None]
    return (bool(due) and min(due) <= until) or pending


def register() -> None:
    # Retries and final actions must happen at their time, between renewals: the test
    # clock stops at each of them (next_due).
    register_job("payment_retries", retries.run, next_due=next_retry_or_final, has_work=retries_have_work,
                 order=10)

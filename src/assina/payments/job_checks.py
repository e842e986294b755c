"""Cheap checks the job runner makes before the payment jobs (see ``assina.jobs``).

The clock asks them at every stop (a simulated year makes hundreds), so each is one fixed
statement instead of ORM queries, whose building costs more than their running.
``expiring_cards_have_work`` says the same as ``expiring.expiring_methods``, which the job uses.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from assina.customers.models import Customer
from assina.db import aware_datetime, select_row, sql_columns, sql_table
from assina.invoices.models import Invoice
from assina.subscriptions.models import Subscription

from . import expiring
from .models import PaymentMethod, Refund

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


def expiring_cards_have_work(until: datetime) -> bool:
    """The card in use that expires first is within its notice period (cards are ordered by
    expiry, so if the first is not, none is)."""
    horizon = until + timedelta(days=expiring.days_ahead())
    card, customer, sub = sql_columns(PaymentMethod), sql_columns(Customer), sql_columns(Subscription)
    row = select_row(
        f"SELECT {card['exp_month']}, {card['exp_year']} FROM {sql_table(PaymentMethod)} "
        f"WHERE {card['detached_at']} IS NULL AND {card['expiring_notified_at']} IS NULL "
        f"AND ({card['exp_year']} < %s OR ({card['exp_year']} = %s AND {card['exp_month']} <= %s)) "
        f"AND ({card['id']} IN (SELECT {customer['default_payment_method']} FROM {sql_table(Customer)} "
        f"WHERE {customer['default_payment_method']} IS NOT NULL) "
        f"OR {card['id']} IN (SELECT {sub['payment_method']} FROM {sql_table(Subscription)} "
        f"WHERE {sub['payment_method']} IS NOT NULL)) "
        f"ORDER BY {card['exp_year']}, {card['exp_month']}, {card['id']} LIMIT 1",
        [horizon.year, horizon.year, horizon.month])
    return row is not None and expiring.expires_at(*row) - timedelta(days=expiring.days_ahead()) <= until

"""The subscriptions jobs and the cheap checks the job runner makes before them (see
``assina.jobs``): the billing run, and the notices of cards about to expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from assina.customers.models import Customer
from assina.db import select_row, sql_columns, sql_table
from assina.jobs import register_job
from assina.payments.models import PaymentMethod

from . import expiring_cards
from .due_times import has_work
from .due_work import process_due_work
from .models import Subscription


def expiring_cards_have_work(until: datetime) -> bool:
    """The card in use that expires first is within its notice period (cards are ordered by
    expiry, so if the first is not, none is). It says the same as
    ``expiring_cards.expiring_methods``, which the job uses, in one fixed statement: the clock
    asks at every stop."""
    horizon = until + timedelta(days=expiring_cards.days_ahead())
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
    return row is not None and expiring_cards.expires_at(*row) - timedelta(days=expiring_cards.days_ahead()) <= until


def register() -> None:
    # Billing orders its own work by due time, so it needs no clock stops of its own.
    register_job("billing", lambda until, *, at_due_time: process_due_work(until, at_due_time=at_due_time),
                 has_work=has_work, order=0)
    # Notices of cards about to expire only follow the clock.
    register_job("expiring_cards", expiring_cards.run, has_work=expiring_cards_have_work, order=50)

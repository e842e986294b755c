"""The subscriptions app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from django.db import connection

from assina.customers.models import Customer
from assina.db import select_row, sql_columns, sql_table
from assina.payments.models import PaymentMethod

from .expiring_cards import expiring_methods
from .models import Subscription


@functools.cache
def _first_expiring_card_sql(vendor: str) -> str:
    card, customer, sub = sql_columns(PaymentMethod), sql_columns(Customer), sql_columns(Subscription)
    return (f"SELECT {card['exp_month']}, {card['exp_year']} FROM {sql_table(PaymentMethod)} "
            f"WHERE {card['detached_at']} IS NULL AND {card['expiring_notified_at']} IS NULL "
            f"AND ({card['exp_year']} < %s OR ({card['exp_year']} = %s AND {card['exp_month']} <= %s)) "
            f"AND ({card['id']} IN (SELECT {customer['default_payment_method']} FROM {sql_table(Customer)} "
            f"WHERE {customer['default_payment_method']} IS NOT NULL) "
            f"OR {card['id']} IN (SELECT {sub['payment_method']} FROM {sql_table(Subscription)} "
            f"WHERE {sub['payment_method']} IS NOT NULL)) "
            f"ORDER BY {card['exp_year']}, {card['exp_month']}, {card['id']} LIMIT 1")


def first_expiring_card(until: datetime, days: int) -> tuple[int, int] | None:
    """(exp_month, exp_year) of the first of ``expiring_cards.expiring_methods(until, days)``:
    the card in use, not announced yet, that expires first within ``days`` of ``until``."""
    horizon = until + timedelta(days=days)
    return select_row(_first_expiring_card_sql(connection.vendor), [horizon.year, horizon.year, horizon.month])


def first_expiring_card_orm(until: datetime, days: int) -> tuple[int, int] | None:
    return expiring_methods(until, days).values_list("exp_month", "exp_year").first()

"""The repricing app's hand-written SQL, next to its ORM twins (``tests/integration/test_queries.py``
runs both and compares them)."""

from __future__ import annotations

import functools
from datetime import datetime

from django.db import connection

from assina.core.states import SubscriptionStatus
from assina.customers.models import Customer
from assina.db import aware_datetime, select_row, sql_columns, sql_table, sql_time
from assina.subscriptions.models import Subscription

from .models import PriceMigrationMember as Member
from .services import open_members


@functools.cache
def _coming_price_change_sql(vendor: str) -> str:
    m, s, c = sql_columns(Member), sql_columns(Subscription), sql_columns(Customer)
    return (f"SELECT m.{m['target_at']}, c.{c['time_zone']} FROM {sql_table(Member)} m "
            f"JOIN {sql_table(Subscription)} s ON s.{s['id']} = m.{m['subscription']} "
            f"JOIN {sql_table(Customer)} c ON c.{c['id']} = m.{m['customer']} "
            f"WHERE m.{m['customer']} = %s AND m.{m['landed_at']} IS NULL AND m.{m['target_at']} > %s "
            f"AND s.{s['cancel_at_period_end']} = %s AND s.{s['status']} <> %s "
            f"ORDER BY m.{m['target_at']}, m.{m['id']} LIMIT 1")


def coming_price_change(customer_id: int, at: datetime) -> tuple[datetime, str] | None:
    """The date of the customer's next price change still open to their choice
    (``services.open_members`` after ``at``) and their time zone: asked on every portal home, so
    one fixed statement."""
    row = select_row(_coming_price_change_sql(connection.vendor),
                     [customer_id, sql_time(at), False, SubscriptionStatus.CANCELED.value])
    return None if row is None else (aware_datetime(row[0]), row[1])


def coming_price_change_orm(customer_id: int, at: datetime) -> tuple[datetime, str] | None:
    return open_members(customer_id).filter(target_at__gt=at).values_list("target_at", "customer__time_zone").first()

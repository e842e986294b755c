"""The selling app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them)."""

from __future__ import annotations

import functools
from datetime import datetime

from django.db import connection
from django.db.models import Count, Max

from assina.db import execute, select_row, sql_columns, sql_table, sql_time

from assina.catalog.models import PlanVersion

from .models import CheckoutRequest


@functools.cache
def _request_sql(vendor: str) -> tuple[str, str, str]:
    c, table = sql_columns(CheckoutRequest), sql_table(CheckoutRequest)
    return (f"DELETE FROM {table} WHERE {c['at']} <= %s",
            f"SELECT COUNT(*) FROM {table} WHERE {c['key']} = %s AND {c['at']} > %s",
            f"INSERT INTO {table} ({c['key']}, {c['at']}) VALUES (%s, %s)")


def count_request(key: str, at: datetime, since: datetime, limit: int) -> bool:
    """One POST of the checkout form by ``key`` at ``at``: forget the counts up to ``since``
    (the limit no longer counts them), then count this one unless ``key`` has ``limit`` after
    ``since`` already; whether it was counted. (Run in the caller's transaction; the checkout
    form's every POST does this, and building the ORM's three statements cost more than
    running them.)"""
    forget, count, insert = _request_sql(connection.vendor)
    since_value = sql_time(since)
    execute(forget, [since_value])
    if select_row(count, [key, since_value])[0] >= limit:
        return False
    execute(insert, [key, sql_time(at)])
    return True


def count_request_orm(key: str, at: datetime, since: datetime, limit: int) -> bool:
    CheckoutRequest.objects.filter(at__lte=since).delete()
    if CheckoutRequest.objects.filter(key=key, at__gt=since).count() >= limit:
        return False
    CheckoutRequest.objects.create(key=key, at=at)
    return True


@functools.cache
def _versions_stamp_sql(vendor: str) -> str:
    return f"SELECT COUNT(*), MAX({sql_columns(PlanVersion)['id']}) FROM {sql_table(PlanVersion)}"


def versions_stamp() -> tuple[int, int | None]:
    """How many plan versions there are and the newest one's id: a price shown from a kept
    current version is right while this stays the same (versions are never edited nor deleted;
    a new price is a new row, and the count catches one that got a lower id but committed
    later, as PostgreSQL hands out ids before commit)."""
    count, newest = select_row(_versions_stamp_sql(connection.vendor))
    return count, newest


def versions_stamp_orm() -> tuple[int, int | None]:
    found = PlanVersion.objects.aggregate(count=Count("id"), newest=Max("id"))
    return found["count"], found["newest"]

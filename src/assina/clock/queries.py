"""The clock's hand-written SQL, next to its ORM twin (``tests/integration/test_queries.py``
runs both and compares them)."""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import QuerySet

from assina.db import select_row, sql_columns, sql_table
from assina.time import FROZEN_AT_SQL

from .models import ClockState, Installation

FROZEN_AT = FROZEN_AT_SQL


@functools.cache
def _mode_sql(vendor: str) -> str:
    return f"SELECT {sql_columns(Installation)['mode']} FROM {sql_table(Installation)} WHERE {sql_columns(Installation)['id']} = 1"


def recorded_mode() -> str | None:
    """The database's recorded mode (None before ``assina migrate``): read before every page
    (``clock.middleware``), so one fixed statement instead of an ORM query built each time."""
    row = select_row(_mode_sql(connection.vendor))
    return row[0] if row else None


def recorded_mode_orm() -> str | None:
    return Installation.objects.filter(pk=1).values_list("mode", flat=True).first()


def frozen_at_orm() -> QuerySet:
    return ClockState.objects.filter(pk=1).values_list("frozen_at")

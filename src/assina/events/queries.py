"""The events app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both and compares the rows they write)."""

from __future__ import annotations

import functools
import json
from datetime import datetime

from django.db import connection

from assina.db import select_row, sql_columns, sql_table, sql_time

from .models import Event

_FIELDS = ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data")


@functools.cache
def _insert_event_sql(vendor: str) -> str:
    c = sql_columns(Event)
    columns = ", ".join(c[name] for name in _FIELDS)
    data_param = "%s::jsonb" if vendor == "postgresql" else "%s"
    return f"INSERT INTO {sql_table(Event)} ({columns}) VALUES (%s, %s, %s, %s, %s, {data_param}) RETURNING {c['id']}"


def insert_event(type: str, occurred_at: datetime, customer_id: int | None, subject_type: str, subject_id: int,
                 data: dict) -> int:
    """Store one event; its id. Every change records an event or two (the clock and the
    simulation make thousands), and building the ORM's INSERT cost more than running it. The
    JSON text is what ``JSONField`` writes (``json.dumps``, no encoder)."""
    return select_row(_insert_event_sql(connection.vendor),
                      [type, sql_time(occurred_at), customer_id, subject_type, subject_id, json.dumps(data)])[0]


def insert_event_orm(type: str, occurred_at: datetime, customer_id: int | None, subject_type: str, subject_id: int,
                     data: dict) -> int:
    return Event.objects.create(type=type, occurred_at=occurred_at, customer_id=customer_id, subject_type=subject_type,
                                subject_id=subject_id, data=data).pk

"""Recording domain events. Callers must already be inside the transaction of the change."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from django.db import connection

from assina.db import select_row, sql_columns, sql_table, sql_time

from .models import Event


def _require_transaction() -> None:
    # An event written outside the change's transaction could survive a rollback of the change
    # (or be lost after it commits); both break the "same transaction" rule.
    if connection.get_autocommit():
        raise RuntimeError("events must be recorded inside the transaction of the change")


def event_row(type: str, subject: Any, at: datetime, data: dict | None = None, customer_id: int | None = None) -> Event:
    """Build (without saving) an event about a model instance."""
    subject_type = subject._meta.model_name
    if customer_id is None:
        customer_id = getattr(subject, "customer_id", None)
        if subject_type == "customer":
            customer_id = subject.pk
    return Event(
        type=type,
        occurred_at=at,
        customer_id=customer_id,
        subject_type=subject_type,
        subject_id=subject.pk,
        data=data or {},
    )


def record(type: str, subject: Any, at: datetime, data: dict | None = None, customer_id: int | None = None) -> Event:
    _require_transaction()
    event = event_row(type, subject, at, data, customer_id)
    # One fixed statement instead of Model.save(): every change records an event or two, and
    # building the ORM's INSERT cost more than running it (the clock and the simulation make
    # thousands). The JSON text is what JSONField would write (json.dumps, no encoder).
    event.pk = select_row(
        _insert_sql(connection.vendor),
        [event.type, sql_time(event.occurred_at), event.customer_id, event.subject_type, event.subject_id,
         json.dumps(event.data)],
    )[0]
    event._state.adding = False
    event._state.db = connection.alias
    return event


@functools.cache
def _insert_sql(vendor: str) -> str:
    c = sql_columns(Event)
    columns = ", ".join(c[name] for name in ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data"))
    data_param = "%s::jsonb" if vendor == "postgresql" else "%s"
    return f"INSERT INTO {sql_table(Event)} ({columns}) VALUES (%s, %s, %s, %s, %s, {data_param}) RETURNING {c['id']}"

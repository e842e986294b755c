"""Recording domain events. Callers must already be inside the transaction of the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from .models import Event
from .queries import insert_event


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
    # One fixed statement instead of Model.save() (``queries.insert_event`` says why).
    event.pk = insert_event(event.type, event.occurred_at, event.customer_id, event.subject_type, event.subject_id,
                            event.data)
    event._state.adding = False
    event._state.db = connection.alias
    return event


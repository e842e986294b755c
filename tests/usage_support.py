"""Helpers for the usage tests: events as the API's schema builds them."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from assina.usage.services import record_usage


def usage(event_id: str, customer, metric: str, value: int, at: datetime, **properties) -> SimpleNamespace:
    return SimpleNamespace(id=event_id, customer=f"cus_{customer.pk}", customer_email=None, metric=metric, value=value,
                           timestamp=at, properties=properties)


def send(*events, at: datetime | None = None):
    return record_usage(list(events), at)

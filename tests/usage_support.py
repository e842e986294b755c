"""Helpers for the usage tests: events as the API's schema builds them."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from factories import start_clock, utc

from assina.usage.services import record_usage


def usage(event_id: str, customer, metric: str, value: int, at: datetime, **properties) -> SimpleNamespace:
    return SimpleNamespace(id=event_id, customer=f"cus_{customer.pk}", customer_email=None, metric=metric, value=value,
                           timestamp=at, properties=properties)


def send(*events, at: datetime | None = None):
    return record_usage(list(events), at)


class Api:
    """Django's test client speaking JSON to /api/v1 with a new write key."""

    def __init__(self, scope: str = "write") -> None:
        from django.test import Client

        from assina.api.keys import create_key

        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {create_key(scope=scope, name='usage-tests').secret}")

    def get(self, path: str, params: dict | None = None):
        return self.client.get(f"/api/v1{path}", params or {})

    def post(self, path: str, body=None, **headers):
        import json

        data = body if isinstance(body, bytes) else json.dumps(body if body is not None else {})
        return self.client.post(f"/api/v1{path}", data, content_type="application/json", **headers)

    def delete(self, path: str):
        return self.client.delete(f"/api/v1{path}")


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
def usage_api() -> "Api":
    """An API client with a fresh rate limit, the clock at 2027-01-10 and a ``calls`` metric."""
    from assina.api import ratelimit
    from assina.usage.services import create_metric

    ratelimit.reset()
    start_clock(utc(2027, 1, 10))
    create_metric(code="calls", name="API calls")
    return Api()


def calls_event(i, who, **extra) -> dict:
    """The JSON of usage event ``e<i>`` of ``who``: 2 ``calls`` the day before the clock."""
    return {"id": f"e{i}", "customer": f"cus_{who.pk}", "metric": "calls", "value": 2,
            "timestamp": "2027-01-09T10:00:00Z", **extra}

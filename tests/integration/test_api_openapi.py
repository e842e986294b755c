"""The spec and the browsable docs: every operation documents its problems; docs work offline."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def spec():
    from assina.api.main import api

    return api.get_openapi_schema(path_prefix="/api/v1")


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_the_spec_is_served_with_every_router_mounted():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for prefix in ("/api/v1/customers", "/api/v1/subscriptions", "/api/v1/usage", "/api/v1/webhook_endpoints",
                   "/api/v1/metrics", "/api/v1/events", "/api/v1/invoices", "/api/v1/plans", "/api/v1/coupons"):
        assert any(p.startswith(prefix) for p in paths), prefix


def test_every_operation_documents_its_problems_auth_and_idempotency(spec):
    assert spec["components"]["securitySchemes"]
    for path, method, operation in _operations(spec):
        responses = operation["responses"]
        wanted = ["400", "401", "404", "422", "429"] + (["403", "409"] if method != "get" else [])
        for status in wanted:
            assert "application/problem+json" in responses[status]["content"], (method, path, status)
        assert "Retry-After" in responses["429"]["headers"]
        assert operation.get("security"), (method, path)
        assert any(str(s).startswith("2") for s in responses), (method, path)
        if method == "post":
            assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"]), path
    ids = [op["operationId"] for _p, _m, op in _operations(spec)]
    assert len(ids) == len(set(ids))


def test_amounts_are_integers_and_times_are_date_times(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["InvoiceOut"]["properties"]["total"]["type"] == "integer"
    assert schemas["SubscriptionOut"]["properties"]["created_at"]["format"] == "date-time"


def test_the_docs_page_needs_no_internet():
    page = Client().get("/api/v1/docs").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls and all(u.startswith("/api/v1/docs/assets/") for u in urls), urls
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 200 and b"".join(response.streaming_content)
    assert Client().get("/api/v1/docs/assets/../../settings.py").status_code == 404


def test_the_spec_documents_the_webhook_body_and_real_bodies_match_it(spec):
    import json

    import jsonschema_rs  # schemathesis's validator
    from factories import make_customer, make_plan, start_clock, subscribe, utc

    from assina.events.models import Event
    from assina.webhooks.delivery import payload

    operation = spec["webhooks"]["event"]["post"]
    assert {p["name"] for p in operation["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    schema = {**spec["components"]["schemas"]["WebhookEvent"], "$schema": "https://json-schema.org/draft/2020-12/schema"}
    validator = jsonschema_rs.validator_for(schema)
    start_clock(utc(2027, 1, 1))
    make_plan("basic", 1000)
    subscribe(make_customer(), "basic")
    events = list(Event.objects.all())
    assert {"plan.created", "customer.created", "subscription.created", "invoice.paid"} <= {e.type for e in events}
    for event in events:
        body = json.loads(payload(event))
        errors = [str(e) for e in validator.iter_errors(body)]
        assert errors == [], (event.type, errors)
    # and the schema does say no to a body of the old shape (numeric ids)
    assert not validator.is_valid({"id": "evt_1", "type": "x", "timestamp": "2027-01-01T00:00:00Z",
                                   "data": {"object": "invoice", "object_id": 981, "customer": None}})

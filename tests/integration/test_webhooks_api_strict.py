"""/webhook_endpoints takes JSON types as declared: 0/1 or "true" are not booleans, numbers are
not strings, a string is not a list. Each is a 422 validation problem that changes nothing."""

import json

import pytest
from api_support import api, problem  # noqa: F401

from assina.events.models import Event
from assina.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "https://example.com/assina/webhooks"


def _refused(response, field: str) -> None:
    body = problem(response, 422, "validation_error")
    assert any(field in e["loc"] for e in body["errors"]), body["errors"]


@pytest.mark.parametrize("field, value", [
    ("enabled", 0), ("enabled", 1), ("enabled", "true"), ("enabled", "false"), ("enabled", None),
    ("url", 5), ("description", 5), ("description", True),
    ("event_types", "invoice.paid"), ("event_types", [5]), ("event_types", [None]), ("event_types", {"a": "b"}),
])
def test_create_refuses_values_of_the_wrong_json_type(api, field, value):
    _refused(api.post("/webhook_endpoints", {"url": URL, field: value}), field)
    assert not WebhookEndpoint.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize("field, value", [
    ("enabled", 0), ("enabled", 1), ("enabled", "no"), ("url", 1), ("description", 0.5), ("event_types", "*"),
])
def test_update_refuses_values_of_the_wrong_json_type(api, field, value):
    endpoint = api.ok("POST", "/webhook_endpoints", {"url": URL, "description": "shop"})
    before = api.ok("GET", f"/webhook_endpoints/{endpoint['id']}")
    events = Event.objects.count()
    _refused(api.post(f"/webhook_endpoints/{endpoint['id']}", {field: value}), field)
    assert api.ok("GET", f"/webhook_endpoints/{endpoint['id']}") == before and Event.objects.count() == events


def test_real_booleans_and_lists_are_taken(api):
    endpoint = api.ok("POST", "/webhook_endpoints", {"url": URL, "enabled": False, "event_types": ["invoice.*"]})
    assert (endpoint["enabled"], endpoint["event_types"]) == (False, ["invoice.*"])
    updated = api.ok("POST", f"/webhook_endpoints/{endpoint['id']}", {"enabled": True})
    assert updated["enabled"] is True


def test_unknown_fields_and_bodies_that_are_not_objects_are_refused(api):
    problem(api.post("/webhook_endpoints", {"url": URL, "enable": True}), 422, "validation_error")
    for raw in ("[]", '"https://example.com"', "5", "null"):
        response = api.client.post("/api/v1/webhook_endpoints", raw, content_type="application/json")
        assert response.status_code in (400, 422), (raw, response.status_code)
        assert response["Content-Type"].startswith("application/problem+json")
    response = api.client.post("/api/v1/webhook_endpoints", json.dumps({"url": URL}).replace("}", ""),
                               content_type="application/json")
    problem(response, 400, "invalid_json")
    assert not WebhookEndpoint.objects.exists()

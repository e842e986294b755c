"""/api/v1/webhook_endpoints: a developer creates an endpoint, gets signed deliveries at a real
receiver, sees each delivery's attempts and responses, re-sends one, rotates the secret."""

import pytest
from factories import advance, make_customer, start_clock, utc
from usage_support import Api, problem
from webhooks_support import Receiver

from assina.webhooks.models import WebhookEndpoint

# Real transactions: the billing and sending code commits; the API also needs Django's auth app.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def test_endpoint_lifecycle_deliveries_and_redelivery(receiver):
    from assina.api import ratelimit

    ratelimit.reset()
    start_clock(utc(2027, 1, 1))
    api = Api()
    created = api.post("/webhook_endpoints", {"url": receiver.url, "event_types": ["customer.*"], "description": "shop"})
    assert created.status_code == 201, created.content
    endpoint = created.json()
    assert endpoint["id"].startswith("we_") and endpoint["secret"].startswith("whsec_")
    receiver.secrets = [endpoint["secret"]]
    assert "secret" not in api.get(f"/webhook_endpoints/{endpoint['id']}").json()

    receiver.mode = "503"
    make_customer()
    advance(utc(2027, 1, 1, 0, 1))
    receiver.mode = "up"
    advance(utc(2027, 1, 1, 0, 10))
    deliveries = api.get(f"/webhook_endpoints/{endpoint['id']}/deliveries").json()["data"]
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert (delivery["status"], delivery["attempts"], delivery["delivered_sequence"]) == ("succeeded", 3, 1)
    assert [a["response_status"] for a in delivery["attempt_log"]] == [200, 503, 503]
    assert delivery["attempt_log"][1]["response_body"] == "down for maintenance"
    assert receiver.ids() == [delivery["event"]]

    resent = api.post(f"/webhook_endpoints/{endpoint['id']}/deliveries/{delivery['id']}/redeliver").json()
    assert resent["status"] == "pending"
    advance(utc(2027, 1, 1, 0, 11))
    assert receiver.ids() == [delivery["event"], delivery["event"]]  # the same webhook-id

    rotated = api.post(f"/webhook_endpoints/{endpoint['id']}/rotate_secret").json()
    assert rotated["secret"] != endpoint["secret"] and rotated["previous_secret_expires_at"] == "2027-01-02T00:11:00Z"
    updated = api.post(f"/webhook_endpoints/{endpoint['id']}", {"enabled": False, "event_types": ["invoice.paid"]}).json()
    assert (updated["enabled"], updated["event_types"]) == (False, ["invoice.paid"])
    assert api.get("/webhook_endpoints").json()["data"][0]["id"] == endpoint["id"]

    problem(api.post("/webhook_endpoints", {"url": "ftp://example.com"}), 422, "webhook_invalid")
    problem(api.post("/webhook_endpoints", {"url": "https://example.com", "event_types": ["Bad Type"]}), 422, "webhook_invalid")
    problem(api.get("/webhook_endpoints/we_999999"), 404, "resource_missing")
    problem(api.get(f"/webhook_endpoints/{endpoint['id']}/deliveries/whd_999999"), 404, "resource_missing")
    assert api.delete(f"/webhook_endpoints/{endpoint['id']}").json()["deleted"] is True
    assert not WebhookEndpoint.objects.exists()

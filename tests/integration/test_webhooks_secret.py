"""A webhook endpoint's signing secret is shown once (issue 14): in the answer that creates the
endpoint or rotates its secret. Afterwards the API leaves it out, the admin shows it masked,
and replaying the creation with the same Idempotency-Key answers the masked form."""

import re

import pytest
from api_support import api, problem  # noqa: F401 - api is a fixture

from assina.api.models import IdempotencyRecord
from assina.webhooks.models import WebhookEndpoint

URL = "http://127.0.0.1:9/hooks"  # never contacted: no event is sent here


@pytest.mark.django_db
def test_a_replayed_creation_does_not_return_the_secret_again(api):
    first = api.post("/webhook_endpoints", {"url": URL}, key="create-hook-1")
    assert first.status_code == 201
    secret = first.json()["secret"]
    endpoint = WebhookEndpoint.objects.get()
    assert secret == endpoint.secret and secret.startswith("whsec_")

    replay = api.post("/webhook_endpoints", {"url": URL}, key="create-hook-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    body = replay.json()
    assert body["id"] == first.json()["id"] and WebhookEndpoint.objects.count() == 1
    assert body["secret"] == f"whsec_…{secret[-4:]}"
    # Not in the stored copy either, in any form.
    stored = bytes(IdempotencyRecord.objects.get(key="create-hook-1").response_body)
    assert secret.encode() not in stored and secret.removeprefix("whsec_").encode() not in stored


@pytest.mark.django_db
def test_a_replayed_rotation_does_not_return_the_new_secret_again(api):
    endpoint = api.ok("POST", "/webhook_endpoints", {"url": URL})
    rotated = api.post(f"/webhook_endpoints/{endpoint['id']}/rotate_secret", key="rotate-1").json()
    assert rotated["secret"] == WebhookEndpoint.objects.get().secret != endpoint["secret"]
    replay = api.post(f"/webhook_endpoints/{endpoint['id']}/rotate_secret", key="rotate-1")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["secret"] == f"whsec_…{rotated['secret'][-4:]}"
    assert WebhookEndpoint.objects.get().secret == rotated["secret"]  # the replay rotated nothing


@pytest.mark.django_db
def test_the_api_never_shows_the_secret_after_creation(api):
    endpoint = api.ok("POST", "/webhook_endpoints", {"url": URL})
    secret = endpoint["secret"]
    for path in (f"/webhook_endpoints/{endpoint['id']}", "/webhook_endpoints"):
        assert secret not in api.get(path).content.decode()
    assert api.ok("GET", f"/webhook_endpoints/{endpoint['id']}")["secret_hint"] == f"whsec_…{secret[-4:]}"
    updated = api.post(f"/webhook_endpoints/{endpoint['id']}", {"description": "shop"})
    assert updated.status_code == 200 and secret not in updated.content.decode()
    problem(api.post("/webhook_endpoints", {"url": "ftp://x"}), 422, "webhook_invalid")


@pytest.mark.django_db
def test_the_admin_shows_the_secret_once_then_masked(admin_client):
    response = admin_client.post("/admin/webhooks/webhookendpoint/add/", {"url": URL, "description": "shop",
                                                                          "event_types": ""}, follow=True)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in response.content.decode()  # the message after saving, this once
    page = admin_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page and f"whsec_…{endpoint.secret[-4:]}" in page
    assert endpoint.secret not in admin_client.get("/admin/webhooks/webhookendpoint/").content.decode()

    old = endpoint.secret
    response = admin_client.post("/admin/webhooks/webhookendpoint/", {"action": "rotate_secret",
                                                                      "_selected_action": [endpoint.pk]}, follow=True)
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()
    page = admin_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page and old not in page
    assert not re.search(r"whsec_[A-Za-z0-9+/]{8,}", page)

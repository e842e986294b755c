"""Idempotency-Key with Stripe's semantics, and the per-key rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_support import ApiClient, api, new_key, problem  # noqa: F401
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from assina.api import ratelimit
from assina.api.models import ApiKey, IdempotencyRecord, RateBucket
from assina.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_a_retry_replays_the_first_response(api):
    first = api.post("/customers", {"email": "ana@example.com"}, key="create-ana")
    again = api.post("/customers", {"email": "ana@example.com"}, key="create-ana")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Customer.objects.count() == 1


def test_the_same_key_with_other_parameters_is_refused(api):
    api.post("/customers", {"email": "ana@example.com"}, key="k")
    problem(api.post("/customers", {"email": "bob@example.com"}, key="k"), 422, "idempotency_key_reused")
    problem(api.post("/plans", {"code": "x"}, key="k"), 422, "idempotency_key_reused")
    assert list(Customer.objects.values_list("email", flat=True)) == ["ana@example.com"]


def test_a_request_still_in_flight_gets_409(api):
    key_id = ApiKey.objects.get(revoked_at__isnull=True).pk
    # What a request another worker is running looks like: the claim without a response yet.
    from assina.api.keys import wall_clock

    IdempotencyRecord.objects.create(api_key_id=key_id, key="busy", fingerprint="?", method="POST",
                                     path="/api/v1/customers", created_at=wall_clock())
    body = problem(api.post("/customers", {"email": "ana@example.com"}, key="busy"), 409, "idempotency_request_in_progress")
    assert body["detail"]
    assert not Customer.objects.exists()


def test_keys_belong_to_their_api_key(api):
    other = ApiClient(new_key("write"))
    assert api.post("/customers", {"email": "ana@example.com"}, key="same").status_code == 201
    assert other.post("/customers", {"email": "bob@example.com"}, key="same").status_code == 201
    assert Customer.objects.count() == 2


def test_a_refusal_by_a_business_rule_is_replayed_but_a_schema_error_is_not_stored(api):
    problem(api.post("/customers", {"email": 5}, key="fix-me"), 422, "validation_error")
    assert api.post("/customers", {"email": "ana@example.com"}, key="fix-me").status_code == 201  # fixed body runs
    refused = api.post("/customers", {"email": "ANA@example.com"}, key="dup")
    problem(refused, 422, "customer_error")
    Customer.objects.all().delete()
    replay = api.post("/customers", {"email": "ANA@example.com"}, key="dup")
    assert replay.status_code == 422 and replay.content == refused.content and replay["Idempotent-Replayed"] == "true"


def test_a_key_expires_after_24_hours_and_an_abandoned_claim_is_taken_over(api):
    api.post("/customers", {"email": "ana@example.com"}, key="old")
    IdempotencyRecord.objects.update(created_at=IdempotencyRecord.objects.get().created_at - timedelta(hours=25))
    problem(api.post("/customers", {"email": "ana@example.com"}, key="old"), 422, "customer_error")  # ran again
    record = IdempotencyRecord.objects.get(key="old")
    IdempotencyRecord.objects.filter(pk=record.pk).update(response_status=None, created_at=record.created_at - timedelta(minutes=10))
    problem(api.post("/customers", {"email": "ana@example.com"}, key="old"), 422, "customer_error")


def test_bad_idempotency_keys_are_refused(api):
    problem(api.post("/customers", {"email": "ana@example.com"}, key="x" * 300), 400, "idempotency_key_invalid")
    assert not Customer.objects.exists()


@override_settings(ASSINA_API_RATE_LIMIT=1, ASSINA_API_RATE_BURST=3)
def test_past_the_rate_limit_a_key_gets_429_with_retry_after_in_every_process(api):
    assert all(api.get("/customers").status_code == 200 for _ in range(3))
    refused = problem(api.get("/customers"), 429, "rate_limited")
    assert refused and int(api.get("/customers")["Retry-After"]) >= 1
    ratelimit.reset()  # another web process: no local lease, the shared bucket is still empty
    problem(api.get("/customers"), 429, "rate_limited")
    other = ApiClient(new_key("write"))  # the limit is per key
    assert other.get("/customers").status_code == 200
    RateBucket.objects.update(updated=RateBucket.objects.get(api_key__hint__isnull=False, tokens__lt=1).updated - 2)
    ratelimit.reset()
    assert api.get("/customers").status_code == 200  # two seconds later the bucket has refilled


@override_settings(ASSINA_API_RATE_LIMIT=1000)
def test_the_shared_bucket_is_written_once_per_lease_not_per_request(api):
    api.get("/customers")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert api.get("/customers").status_code == 200
    assert not [q for q in queries.captured_queries if "api_ratebucket" in q["sql"]]

"""POST /api/v1/usage and /usage/batch through the real API: duplicates reported, bad batches
refused whole with problem+json, late events listed."""

from datetime import datetime, timezone

import pytest
from factories import make_customer
from usage_support import calls_event, problem, usage_api  # noqa: F401

from assina.usage.models import UsageEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(usage_api):
    return usage_api


_event = calls_event


def test_single_and_batch_events_are_stored_once(api):
    customer = make_customer()
    body = api.post("/usage", _event(0, customer)).json()
    assert body == {"object": "usage_event_receipt", "id": "e0", "duplicate": False}
    assert api.post("/usage", _event(0, customer)).json()["duplicate"] is True
    batch = {"events": [_event(i, customer) for i in range(1000)]}
    first = api.post("/usage/batch", batch).json()
    assert (first["received"], first["stored"], first["duplicates"]) == (1000, 999, ["e0"])
    assert api.post("/usage/batch", batch).json()["stored"] == 0
    by_email = api.post("/usage", {"id": "m1", "customer_email": customer.email.upper(), "metric": "calls",
                                   "timestamp": "2027-01-09T10:00:00-03:00"}).json()
    assert by_email["duplicate"] is False
    assert UsageEvent.objects.count() == 1001
    listed = api.get("/usage", {"customer": f"cus_{customer.pk}", "limit": 2}).json()
    assert listed["has_more"] and listed["data"][0]["event_id"] == "e0" and listed["data"][0]["late"] is False


def test_bad_batches_are_refused_whole(api):
    customer = make_customer()
    problem(api.post("/usage/batch", {"events": [_event(i, customer) for i in range(1001)]}), 413, "batch_too_large")
    body = problem(api.post("/usage/batch", {"events": [_event(1, customer), _event(2, customer, metric="nope"),
                                                        _event(3, customer, customer="cus_999999")]}), 422, "usage_invalid")
    assert [e["loc"] for e in body["errors"]] == [["events", 2, "customer"], ["events", 1, "metric"]]
    problem(api.post("/usage/batch", {"events": [_event(1, customer, value="many")]}), 422, "validation_error")
    problem(api.post("/usage", _event(1, customer, timestamp="2027-01-09T10:00:00")), 422, "validation_error")
    problem(api.post("/usage", {**_event(1, customer), "extra": 1}), 422, "validation_error")
    assert not UsageEvent.objects.exists()
    assert api.get("/usage/metrics").json()[0]["code"] == "calls"


def test_text_the_database_cannot_store_is_refused_not_a_500(api):
    # The API refuses a NUL anywhere in a body before the operation runs (assina.api.nul_characters).
    customer = make_customer()
    for body in (_event(1, customer, id="a\x00b"), _event(1, customer, properties={"k": "a\x00"}),
                 {"id": "x", "customer_email": "a\x00@example.com", "metric": "calls", "timestamp": "2027-01-09T10:00:00Z"}):
        assert problem(api.post("/usage", body), 422, "validation_error")["errors"][0]["type"] == "nul_character"
    problem(api.post("/usage/batch", b'{"events": [{"id": "x", "customer": "cus_1", "metric": "calls", '
                     b'"timestamp": "2027-01-09T10:00:00Z", "properties": {"f": NaN}}]}'), 422, "validation_error")
    problem(api.get("/usage", {"metric": "a\x00"}), 422, "validation_error")
    assert not UsageEvent.objects.exists()


def test_a_batch_the_fast_insert_cannot_store_whole_takes_the_exact_path(api):
    # Every event names a customer by id with a UTC time: the batch goes to the INSERT that checks
    # customers as it stores. An unknown customer, a duplicate, or an id repeated in the batch
    # makes it store fewer events than sent: rolled back, then answered as before.
    alice, bob = make_customer(), make_customer()
    missing = bob.pk + 1000
    refused = problem(api.post("/usage/batch", {"events": [_event(1, alice), _event(2, bob, customer=str(missing))]}),
                      422, "usage_invalid")
    assert [e["loc"] for e in refused["errors"]] == [["events", 1, "customer"]]
    assert not UsageEvent.objects.exists()
    batch = {"events": [_event(1, alice), _event(1, bob, customer=str(bob.pk)), _event(2, alice, customer=f"cus_00{alice.pk}"),
                        _event(3, alice, properties={"region": "br", "n": 1.5})]}
    assert api.post("/usage/batch", batch).json() == {"object": "usage_batch_receipt", "received": 4, "stored": 4,
                                                      "duplicates": []}
    assert api.post("/usage/batch", batch).json()["duplicates"] == ["e1", "e1", "e2", "e3"]
    twice = api.post("/usage/batch", {"events": [_event(7, bob), _event(7, bob)]}).json()
    assert (twice["stored"], twice["duplicates"]) == (1, ["e7"])
    stored = {(e.customer_id, e.event_id): e for e in UsageEvent.objects.all()}
    assert sorted(stored) == sorted([(alice.pk, "e1"), (bob.pk, "e1"), (alice.pk, "e2"), (alice.pk, "e3"), (bob.pk, "e7")])
    e3 = stored[(alice.pk, "e3")]
    assert (e3.metric_code, e3.value, e3.properties, e3.late) == ("calls", 2, {"region": "br", "n": 1.5}, False)
    assert e3.timestamp == datetime(2027, 1, 9, 10, tzinfo=timezone.utc)

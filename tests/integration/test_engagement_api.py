"""POST /api/v1/engagement_events[/batch] and /customers/{id}/notes through the real API:
duplicates reported, bad batches refused whole with translated problem+json, notes listed."""

import pytest
from factories import make_customer
from usage_support import problem, usage_api  # noqa: F401

from assina.engagement.models import CustomerNote, EngagementEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(usage_api):
    return usage_api


def _event(i, who, **extra):
    return {"id": f"g{i}", "customer": f"cus_{who.pk}", "name": "login", "timestamp": "2027-01-09T10:00:00Z", **extra}


def test_single_and_batch_events_are_stored_once(api):
    ana = make_customer()
    assert api.post("/engagement_events", _event(0, ana, value=3, properties={"page": "/home"})).json() == {
        "object": "engagement_event_receipt", "id": "g0", "duplicate": False}
    assert api.post("/engagement_events", _event(0, ana)).json()["duplicate"] is True
    batch = {"events": [_event(i, ana) for i in range(1000)]}
    first = api.post("/engagement_events/batch", batch).json()
    assert (first["received"], first["stored"], first["duplicates"]) == (1000, 999, ["g0"])
    assert api.post("/engagement_events/batch", batch).json()["stored"] == 0
    by_email = api.post("/engagement_events", {"id": "m1", "customer_email": ana.email.upper(), "name": "report_exported",
                                               "timestamp": "2027-01-09T10:00:00.1234567-03:00", "value": 1.5})
    assert by_email.json()["duplicate"] is False
    stored = EngagementEvent.objects.get(event_id="m1")
    assert (stored.customer_id, stored.value, stored.imported) == (ana.pk, 1.5, False)
    assert stored.occurred_at.isoformat() == "2027-01-09T13:00:00.123456+00:00"  # truncated as pydantic reads it
    assert EngagementEvent.objects.get(event_id="g0").properties == {"page": "/home"}
    assert EngagementEvent.objects.count() == 1001


def test_bad_batches_are_refused_whole_in_the_readers_language(api):
    ana = make_customer()
    body = {"events": [_event(1, ana), _event(2, ana, customer="cus_999999"), _event(3, ana, timestamp="2027-02-01T00:00:00Z"),
                       {"id": "g4", "customer_email": "nobody@example.com", "name": "login",
                        "timestamp": "2027-01-09T10:00:00Z"}]}
    refused = problem(api.post("/engagement_events/batch", body, HTTP_ACCEPT_LANGUAGE="pt-BR"), 422, "engagement_invalid")
    assert [e["loc"] for e in refused["errors"]] == [["events", 1, "customer"], ["events", 2, "timestamp"],
                                                      ["events", 3, "customer_email"]]
    assert "nada foi" in refused["detail"] and "futuro" in refused["errors"][1]["message"]
    by_id_only = {"events": [_event(1, ana), _event(2, ana, customer="cus_999999")]}  # the one-statement path first
    assert problem(api.post("/engagement_events/batch", by_id_only), 422, "engagement_invalid")["errors"] == [
        {"loc": ["events", 1, "customer"], "message": "no customer with id 'cus_999999'"}]
    for bad in ({"events": [_event(1, ana, name="has space")]}, {"events": [_event(1, ana, value="3")]},
                {"events": [_event(1, ana, extra=1)]}, {"events": [_event(1, ana, timestamp="2027-01-09T10:00:00")]}):
        problem(api.post("/engagement_events/batch", bad), 422, "validation_error")
    problem(api.post("/engagement_events/batch", {"events": [_event(i, ana) for i in range(1001)]}), 413, "batch_too_large")
    problem(api.post("/engagement_events", _event(1, ana, properties={"a": "\u0000"})), 422, "validation_error")
    assert not EngagementEvent.objects.exists()


def test_notes_are_added_and_listed(api):
    ana, bia = make_customer(), make_customer()
    created = api.post(f"/customers/cus_{ana.pk}/notes", {"kind": "call", "body": "Wants annual billing",
                                                          "occurred_at": "2027-01-08T15:00:00Z"})
    assert created.status_code == 201, created.content
    note = created.json()
    assert (note["kind"], note["customer"], note["occurred_at"]) == ("call", f"cus_{ana.pk}", "2027-01-08T15:00:00Z")
    api.post(f"/customers/cus_{ana.pk}/notes", {"body": "Sent the invoice again"})
    api.post(f"/customers/cus_{bia.pk}/notes", {"kind": "ticket", "body": "Login broken"})
    listed = api.get(f"/customers/cus_{ana.pk}/notes").json()
    assert [n["body"] for n in listed["data"]] == ["Wants annual billing", "Sent the invoice again"]
    assert [n["kind"] for n in api.get(f"/customers/cus_{ana.pk}/notes", {"kind": "call"}).json()["data"]] == ["call"]
    problem(api.post(f"/customers/cus_{ana.pk}/notes", {"kind": "chat", "body": "x"}), 422, "validation_error")
    problem(api.post(f"/customers/cus_{ana.pk}/notes", {"body": "x", "occurred_at": "2027-02-01T00:00:00Z"}), 422,
            "note_invalid")
    problem(api.post("/customers/cus_999999/notes", {"body": "x"}), 404, "resource_missing")
    assert CustomerNote.objects.count() == 3

"""Engagement services: record_events (bulk, idempotent, all or nothing), notes and tasks with
their events, and the customer's engagement data in the privacy export and erasure."""

from datetime import timedelta

import numpy as np
import pytest
from factories import make_customer, start_clock, utc

from assina.engagement.models import CustomerNote, EngagementEvent, Task
from assina.engagement.services import (EngagementError, EventRow, NoteError, add_note, add_task, complete_task,
                                        record_events)
from assina.events.models import Event

pytestmark = pytest.mark.django_db

T0 = utc(2027, 1, 10)


@pytest.fixture(autouse=True)
def _clock():
    start_clock(T0)


def test_record_events_stores_once_and_refuses_a_bad_row_whole():
    ana, bia = make_customer(), make_customer()
    rows = [(f"imp:{i}", (ana if i % 2 else bia).pk, "login", T0 - timedelta(days=i), None, {}) for i in range(12_000)]
    rows.append(EventRow("imp:x", ana.pk, "report_exported", T0 - timedelta(hours=1), 2.5, {"format": "pdf"}))
    first = record_events(rows, imported=True)
    assert (first.received, first.stored) == (12_001, 12_001)
    assert record_events(rows, imported=True).stored == 0  # the same rows again: nothing new
    stored = EngagementEvent.objects.get(event_id="imp:x")
    assert (stored.customer_id, stored.name, stored.value, stored.properties, stored.imported) == (
        ana.pk, "report_exported", 2.5, {"format": "pdf"}, True)
    assert stored.occurred_at == T0 - timedelta(hours=1) and stored.received_at == T0
    bad = [("new:1", ana.pk, "login", T0, None, {}),
           ("new:2", ana.pk + bia.pk + 100, "login", T0, None, {}),  # no such customer
           ("new:3", ana.pk, "bad name!", T0, None, {}),
           ("new:4", ana.pk, "login", T0 + timedelta(days=2), None, {}),  # in the future
           ("new:5", ana.pk, "login", T0.replace(tzinfo=None), float("nan"), {})]
    with pytest.raises(EngagementError) as refused:
        record_events(bad)
    assert [(p["loc"][1], p["loc"][2]) for p in refused.value.errors] == [
        (1, "customer"), (2, "name"), (3, "occurred_at"), (4, "occurred_at"), (4, "value")]
    assert not EngagementEvent.objects.filter(event_id__startswith="new:").exists()


def test_a_bulk_insert_larger_than_the_table_builds_the_customer_index_after_its_rows(monkeypatch):
    """SQLite: the index by customer and time is dropped and made again around a large insert;
    PostgreSQL keeps it. Either way it is there after, the same, and used to read the rows."""
    from django.db import connection

    from assina.db import select_rows
    from assina.engagement import queries
    from assina.engagement.ingest import record_event_columns

    def index() -> list:
        if connection.vendor != "sqlite":
            return select_rows("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [queries.CUSTOMER_TIME_INDEX])
        return select_rows("SELECT sql FROM sqlite_master WHERE name = %s", [queries.CUSTOMER_TIME_INDEX])

    before = index()
    monkeypatch.setattr(queries, "DEFER_FROM_ROWS", 10)
    ana, bia = make_customer(), make_customer()
    micros = np.array([(T0 - timedelta(days=d) - utc(1970, 1, 1)) // timedelta(microseconds=1) for d in range(30)])
    result = record_event_columns([f"c:{d}" for d in range(30)], [(ana, bia)[d % 2].pk for d in range(30)], ["login"] * 30,
                                  micros, [None] * 30, imported=True)
    assert (result.received, result.stored) == (30, 30) and index() == before and len(before) == 1
    assert list(EngagementEvent.objects.filter(customer=ana).order_by("occurred_at").values_list("event_id", flat=True)) == [
        f"c:{d}" for d in range(28, -1, -2)]
    with pytest.raises(EngagementError):  # refused before anything is written: the index untouched
        record_event_columns(["c:x"] * 30, [ana.pk] * 30, ["login"] * 30, micros + 10**13, [None] * 30)
    assert index() == before and EngagementEvent.objects.count() == 30


def test_notes_and_tasks_record_their_events():
    ana = make_customer()
    note = add_note(ana, kind="call", body="  Asked about annual billing  ", occurred_at=T0 - timedelta(days=1))
    assert (note.kind, note.body, note.created_at) == ("call", "Asked about annual billing", T0)
    for kwargs in ({"kind": "chat", "body": "x"}, {"body": "  "}, {"body": "x", "occurred_at": T0 + timedelta(hours=1)}):
        with pytest.raises(NoteError):
            add_note(ana, **kwargs)
    task = add_task(ana.pk, title="Call back about the invoice", due_at=T0 + timedelta(days=2), source="playbook:3")
    assert task.done_at is None
    done = complete_task(task.pk, at=T0 + timedelta(hours=5))
    assert done.done_at == T0 + timedelta(hours=5)
    assert complete_task(task, at=T0 + timedelta(days=1)).done_at == T0 + timedelta(hours=5)  # once
    types = list(Event.objects.filter(customer_id=ana.pk).order_by("pk").values_list("type", flat=True))
    assert types[-3:] == ["customer_note.created", "task.created", "task.completed"]
    assert CustomerNote.objects.count() == 1 and Task.objects.get().source == "playbook:3"


def test_a_customers_export_and_erasure_cover_engagement():
    from assina.customers.models import Customer
    from assina.privacy.erase import erase_customer
    from assina.privacy.export import export_customer

    ana = make_customer()
    record_events([("p1", ana.pk, "login", T0 - timedelta(days=1), None, {"ip": "200.1.2.3"})])
    add_note(ana, body="Mentioned her daughter's name")
    add_task(ana, title="Call Ana back")
    export = export_customer(Customer.objects.get(pk=ana.pk))
    assert export["engagement_events"][0]["properties"] == {"ip": "200.1.2.3"}
    assert export["notes"][0]["body"] == "Mentioned her daughter's name" and export["tasks"][0]["title"] == "Call Ana back"
    erase_customer(ana.pk, T0)
    assert EngagementEvent.objects.get().properties == {} and EngagementEvent.objects.get().name == "login"
    assert CustomerNote.objects.get().body == "[erased]" and Task.objects.get().title == "[erased]"

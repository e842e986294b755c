"""The workspace list's one statement (``workspace.queries.list_rows``) reads what its ORM twin
reads: current subscription (one not ended first, the latest started), plan, health, churn
probability and the latest NPS score, for customers with and without each of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import make_customer, make_plan, start_clock, subscribe, utc
from test_queries import compares

from assina.feedback.services import record_response
from assina.subscriptions.services import cancel_now
from assina.success.models import HealthScore
from assina.time import now
from assina.workspace import queries

pytestmark = pytest.mark.django_db


@compares(queries.list_rows_orm)
def test_the_list_rows_are_what_the_orm_reads():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("basic", 3000)
    make_plan("pro", 9000)
    ana, bob, cid = (make_customer(email=f"{n}@example.com", name=n.title()) for n in ("ana", "bob", "cid"))
    old = subscribe(ana, "basic")
    cancel_now(old.pk)
    subscribe(ana, "pro")  # her current subscription, though the canceled one is older
    ended = subscribe(bob, "basic")
    cancel_now(ended.pk)  # only an ended one: still shown
    at = now()
    HealthScore.objects.create(customer=ana, score=77, band="healthy", churn_probability=0.125, computed_at=at)
    HealthScore.objects.create(customer=bob, score=20, band="at_risk", churn_probability=None, computed_at=at)
    record_response(customer=ana, survey="nps", score=4, comment="", submitted_at=at - timedelta(days=9), source="api", at=at)
    record_response(customer=ana, survey="nps", score=9, comment="", submitted_at=at - timedelta(days=1), source="api", at=at)
    record_response(customer=ana, survey="csat", score=2, comment="", submitted_at=at, source="api", at=at)
    ids = [ana.pk, bob.pk, cid.pk, 999_999]
    rows = queries.list_rows(ids)
    assert rows == queries.list_rows_orm(ids)
    assert set(rows) == {ana.pk, bob.pk, cid.pk}
    assert rows[ana.pk][8:] == ("active", "pro", "Pro", 77, "healthy", 0.125, 9)
    assert rows[bob.pk][8:] == ("canceled", "basic", "Basic", 20, "at_risk", None, None)
    assert rows[cid.pk][7:] == (None,) * 8
    assert queries.list_rows([]) == queries.list_rows_orm([]) == {}


@compares(queries.timeline_keys_orm)
def test_the_timelines_keys_are_what_the_orm_reads_from_every_cursor():
    from assina.engagement.services import EventRow, add_note, add_task, record_events

    start_clock(utc(2027, 1, 10, 9))
    make_plan("basic", 3000)
    ana, bob = make_customer(email="ana@example.com"), make_customer(email="bob@example.com")
    subscribe(ana, "basic")
    subscribe(bob, "basic")
    at = now()
    # Rows of several sources at the very same moment, and some of another customer.
    record_events([EventRow(f"e{i}", c.pk, "login", at - timedelta(hours=i % 3)) for i in range(9) for c in (ana, bob)])
    for i in range(4):
        add_note(ana, body=f"note {i}", occurred_at=at - timedelta(hours=i % 2))
        add_task(ana, title=f"task {i}")
    record_response(customer=ana, survey="nps", score=8, comment="", submitted_at=at, source="api", at=at)
    everything = (0, 1, 2, 3, 4, 5, 6)
    cases = [(everything, ("customer_note.", "task.", "survey_response."), True), ((0,), ("invoice.", "payment."), False),
             ((0, 2), ("survey.opted_out",), False), ((3, 4, 5), (), False), ((1,), (), False)]
    for ranks, prefixes, exclude in cases:
        for limit in (1, 4, 7, 100):
            cursor, seen = None, []
            while True:
                keys = queries.timeline_keys(ana.pk, ranks, prefixes, exclude, cursor, limit)
                assert keys == queries.timeline_keys_orm(ana.pk, ranks, prefixes, exclude, cursor, limit), (ranks, cursor)
                if not keys:
                    break
                seen += keys
                cursor = keys[-1]
            assert len(seen) == len(set(seen)) and seen == sorted(seen, reverse=True)
    assert len(queries.timeline_keys(ana.pk, (3,), (), False, None, 100)) == 9
    assert queries.timeline_keys(ana.pk, (), (), False, None, 10) == []

"""``assina check`` verifies each subscription's stored next action time against its rule, and
that an open first invoice belongs to an incomplete subscription."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from factories import FAILING_CARD, make_customer, make_plan, reload, start_clock, subscribe, utc

from assina import checks
from assina.checks import run_checks
from assina.invoices.models import Invoice
from assina.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


def _set_next_action_at_behind_the_services(sub: Subscription, value) -> None:
    table = connection.ops.quote_name(Subscription._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET next_action_at = %s WHERE id = %s", [value, sub.pk])


def _set_status_behind_the_services(sub: Subscription, status: str) -> None:
    table = connection.ops.quote_name(Subscription._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET status = %s WHERE id = %s", [status, sub.pk])


def test_an_open_first_invoice_of_a_subscription_that_is_not_incomplete_is_a_violation():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    sub = subscribe(make_customer(card=FAILING_CARD), "pro")
    assert sub.status == "incomplete"
    first = Invoice.objects.get(subscription=sub)
    assert (first.status, first.billing_reason) == ("open", "subscription_create")
    assert "open_first_invoice_incomplete" not in run_checks()["by_check"]

    _set_status_behind_the_services(sub, "active")
    result = run_checks()
    assert result["by_check"]["open_first_invoice_incomplete"] == 1
    [detail] = result["details"]["open_first_invoice_incomplete"]
    assert detail == f"invoice {first.number}: open first invoice of sub_{sub.pk}, which is active"


def test_a_next_action_time_changed_by_a_raw_update_is_a_violation():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    sub, other = subscribe(make_customer(), "pro"), subscribe(make_customer(), "pro")
    assert run_checks()["ok"]

    wrong = reload(sub).next_action_at + timedelta(days=1)
    _set_next_action_at_behind_the_services(sub, wrong)
    result = run_checks()
    assert not result["ok"] and result["by_check"] == {"next_action_at_computed": 1}
    [detail] = result["details"]["next_action_at_computed"]
    assert detail.startswith(f"sub_{sub.pk}: ") and wrong.isoformat() in detail

    _set_next_action_at_behind_the_services(other, None)  # a live subscription the billing run would never see again
    assert run_checks()["by_check"] == {"next_action_at_computed": 2}


def test_every_chunk_of_subscriptions_is_checked_with_the_same_few_statements(monkeypatch):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    subs = [subscribe(make_customer(), "pro") for _ in range(5)]

    def statements() -> int:
        report = checks.Report()
        with CaptureQueriesContext(connection) as queries:
            checks._next_action_times(report)
        return len(queries), dict(report.counts)

    assert statements() == (3, {})  # the rows, their pending changes, an empty next chunk
    monkeypatch.setattr(checks, "NEXT_ACTION_CHUNK", 2)
    _set_next_action_at_behind_the_services(subs[-1], utc(2030, 1, 1))  # in the last chunk
    assert statements() == (7, {"next_action_at_computed": 1})

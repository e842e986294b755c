"""The due work of a price migration (issue 19): the reminder 7 days before each change goes out
once even when the job runs again (a retry) or on two workers at once; the owner's default of
"switch" applies at the first renewal on or after the effective date; the notice names the
change date as the customer's language writes it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import advance, make_customer, make_plan, real_transactions, run_together, start_clock, subscribe, utc

from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.notifications.models import Message
from assina.repricing import services
from assina.repricing.models import PriceMigrationMember as Member
from assina.repricing.report import migration_report
from assina.subscriptions.models import Subscription

pytestmark = real_transactions

EFFECTIVE = utc(2027, 3, 1)


def _plans():
    make_plan("pro", 5000, name="Pro")
    make_plan("basic", 3500, name="Basic")


def _migration(count: int, **extra):
    """``count`` subscriptions anchored on January 1 at noon: their change is March 1, 12:00."""
    start_clock(utc(2027, 1, 1, 12))
    _plans()
    subs = [subscribe(make_customer(locale="pt-BR" if i % 2 else "en"), "pro") for i in range(count)]
    advance(utc(2027, 1, 20))
    migration = services.create_migration(plan_code="pro", new_amount=6000, effective_at=EFFECTIVE,
                                          switch_plan_code="basic", **extra)
    return migration, subs


def _reminders() -> tuple[int, int, set[int]]:
    messages = Message.objects.filter(template="price_migration_reminder")
    return (messages.count(), Event.objects.filter(type="price_migration.reminded").count(),
            set(messages.values_list("customer_id", flat=True)))


def _due_run(until):
    from assina.clock.services import set_frozen_time

    set_frozen_time(until)
    return services.process_due(until, at_due_time=True)


def test_the_reminder_goes_out_once_when_the_job_runs_twice():
    migration, subs = _migration(4)
    remind_at = utc(2027, 2, 22, 12)  # 7 days before March 1, 12:00
    assert set(Member.objects.values_list("remind_at", flat=True)) == {remind_at}
    assert _due_run(remind_at - timedelta(seconds=1))["price_migration_reminded"] == 0

    first = _due_run(remind_at)
    again = _due_run(remind_at)  # a retry of the same pass

    assert (first["price_migration_reminded"], again["price_migration_reminded"]) == (4, 0)
    assert _reminders() == (4, 4, {s.customer_id for s in subs})
    advance(utc(2027, 2, 28))
    assert _reminders()[:2] == (4, 4)


@pytest.mark.postgres_only
def test_two_workers_at_once_send_each_reminder_once():
    migration, subs = _migration(30)
    remind_at = utc(2027, 2, 22, 12)
    errors = run_together(lambda: _due_run(remind_at), workers=2)
    assert errors == []
    assert _reminders() == (30, 30, {s.customer_id for s in subs})
    assert not Member.objects.filter(remind_at__isnull=False).exists()


def test_the_default_switch_applies_at_the_first_renewal_on_or_after_the_effective_date():
    migration, subs = _migration(2, default_choice="switch")
    assert set(Member.objects.values_list("target_at", flat=True)) == {utc(2027, 3, 1, 12)}
    advance(utc(2027, 3, 1, 11))  # the February renewal is still at the old price, on pro
    assert {Subscription.objects.get(pk=s.pk).plan.code for s in subs} == {"pro"}

    advance(utc(2027, 3, 2))
    for sub in subs:
        sub = Subscription.objects.get(pk=sub.pk)
        renewals = list(Invoice.objects.filter(subscription=sub, billing_reason="subscription_cycle")
                        .order_by("period_start").values_list("period_start", "total"))
        assert renewals == [(utc(2027, 2, 1, 12), 5000), (utc(2027, 3, 1, 12), 3500)]
        assert (sub.plan.code, sub.current_period_start) == ("basic", utc(2027, 3, 1, 12))
    report = migration_report(migration.pk)
    assert (report["no_answer"], report["outcomes"]) == (2, {"switched": 2})
    assert report["mrr_after"] == {"BRL": 7000}
    assert set(Event.objects.filter(type="price_migration.scheduled").values_list("data__choice", flat=True)) == {"switch"}


def test_the_notice_names_the_change_date_in_the_customers_language():
    migration, subs = _migration(2)
    notices = {m.customer_id: m for m in Message.objects.filter(template="price_migration_notice")}
    english, portuguese = notices[subs[0].customer_id], notices[subs[1].customer_id]
    assert (english.locale, portuguese.locale) == ("en", "pt-BR")
    assert "March 1, 2027" in english.text and "March 1, 2027" in english.html
    assert "1 de março de 2027" in portuguese.text and "1 de março de 2027" in portuguese.html
    assert "2027-03-01" not in english.text + portuguese.text
    assert "março" not in english.text and "March" not in portuguese.text

"""Bounded catch-up (issue 14): a worker back from downtime bills at most
ASSINA_MAX_CATCHUP_PERIODS (3) periods of a subscription in one pass; further behind, the
subscription is held (nothing billed, an event, ``assina check`` names it) until the operator
releases it by billing the missed periods or skipping them. The sandbox test clock is not
capped. The customer gets one receipt for a catch-up, not one per period.

"Down for N weeks" is a frozen clock moved forward without running anything (``start_clock``),
then one worker pass on real time (``at_due_time=False``).
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from factories import (advance, counts, invoices_of, make_customer, make_plan, real_transactions, reload, run_together,
                       start_clock, subscribe, utc)

from assina.checks import run_checks
from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.notifications.models import Message
from assina.payments.models import PaymentAttempt
from assina.scheduler import run_jobs
from assina.subscriptions import changes, services
from assina.subscriptions.catch_up import catch_up_limit
from assina.subscriptions.due_work import process_due_work
from assina.subscriptions.models import Subscription
from assina.subscriptions.release import release_catch_up
from assina.time import now

pytestmark = pytest.mark.django_db

T0 = utc(2027, 1, 4, 9)  # a Monday


def weeks(n: int, hours: int = 1):
    from datetime import timedelta

    return T0 + timedelta(weeks=n, hours=hours)


@pytest.fixture
def weekly():
    start_clock(T0)
    make_plan("weekly", 990, interval="week")
    return subscribe(make_customer(email="ana@example.com"), "weekly")


def worker_pass() -> dict:
    """One pass of a worker on real time (not the test clock): every job, billing first."""
    return run_jobs(now(), at_due_time=False)


def receipts() -> list[Message]:
    return list(Message.objects.filter(template="receipt").order_by("id"))


def test_a_worker_down_for_ten_weeks_holds_the_subscription_instead_of_billing_ten_periods(weekly):
    start_clock(weeks(10))  # the worker was down
    summary = worker_pass()
    sub = reload(weekly)
    assert summary["held_for_catch_up"] == 1 and summary.get("renewals", 0) == 0
    assert len(invoices_of(sub)) == 1  # only the first period, billed at signup
    assert (sub.catch_up_held_at, sub.next_action_at, sub.status) == (weeks(10), None, "active")
    held = Event.objects.get(type="subscription.catch_up_held")
    assert held.subject_id == sub.pk
    assert held.data == {"periods_due": 10, "limit": 3, "unbilled_from": weeks(1, 0).isoformat()}
    # Named by assina check, with how to release it; nothing else is wrong.
    report = run_checks()
    assert not report["ok"] and report["by_check"] == {"catch_up_held": 1}, report
    assert f"sub_{sub.pk}" in report["details"]["catch_up_held"][0]
    assert "release" in report["details"]["catch_up_held"][0]
    # Idempotent: later passes neither bill nor hold again.
    before = counts()
    start_clock(weeks(11))
    worker_pass()
    assert counts() == before and reload(sub).next_action_at is None


def test_up_to_three_missed_periods_are_billed_with_one_receipt(weekly):
    worker_pass()  # the signup's receipt
    assert len(receipts()) == 1
    start_clock(weeks(3))  # periods starting at weeks 1, 2 and 3 are due: three, the limit
    summary = worker_pass()
    sub = reload(weekly)
    assert summary["renewals"] == 3 and not summary.get("held_for_catch_up")
    assert [i.period_start for i in invoices_of(sub)] == [T0, weeks(1, 0), weeks(2, 0), weeks(3, 0)]
    assert all(i.status == "paid" for i in invoices_of(sub))
    assert sub.catch_up_held_at is None and sub.next_action_at == weeks(4, 0)
    # One receipt for the three periods, naming the three invoices and their sum.
    assert len(receipts()) == 2
    catch_up = receipts()[1]
    numbers = [i.number for i in invoices_of(sub)[1:]]
    assert all(number in catch_up.subject + catch_up.text for number in numbers)
    assert "29.70" in catch_up.text
    assert run_checks()["ok"]
    # A pass again bills nothing and sends nothing.
    before = counts()
    worker_pass()
    assert counts() == before and len(receipts()) == 2


def test_the_sandbox_test_clock_is_not_capped(weekly):
    summary = advance(weeks(10))
    assert summary["renewals"] == 10 and not summary.get("held_for_catch_up")
    assert reload(weekly).catch_up_held_at is None
    assert len(invoices_of(weekly)) == 11
    assert run_checks()["ok"]


def test_only_the_test_clock_in_a_sandbox_goes_uncapped():
    assert catch_up_limit(at_due_time=True) is None
    assert catch_up_limit(at_due_time=False) == 3
    with override_settings(ASSINA_MODE="live"):
        assert catch_up_limit(at_due_time=True) == 3  # a live database never moves time on purpose
    from assina.clock.models import Installation

    from assina.clock.installation import record_mode

    record_mode()
    Installation.objects.filter(pk=1).update(mode="live")  # the database's own mode decides too
    assert catch_up_limit(at_due_time=True) == 3
    Installation.objects.filter(pk=1).update(mode="sandbox")
    with override_settings(ASSINA_MAX_CATCHUP_PERIODS=12):
        assert catch_up_limit(at_due_time=False) == 12


def test_a_larger_documented_limit_bills_everything_due(weekly):
    start_clock(weeks(10))
    with override_settings(ASSINA_MAX_CATCHUP_PERIODS=10):
        summary = process_due_work(now(), at_due_time=False)
    assert summary["renewals"] == 10 and not summary.get("held_for_catch_up")


def test_release_by_billing_the_missed_periods_bills_each_once_with_one_receipt(weekly):
    worker_pass()
    start_clock(weeks(10))
    worker_pass()
    sub = release_catch_up(weekly.pk, "bill")
    starts = [i.period_start for i in invoices_of(sub)]
    assert starts == [T0] + [weeks(n, 0) for n in range(1, 11)]
    assert all(i.status == "paid" and i.created_at == weeks(10) for i in invoices_of(sub)[1:])
    assert (sub.catch_up_held_at, sub.current_period_start, sub.next_action_at) == (None, weeks(10, 0), weeks(11, 0))
    released = Event.objects.get(type="subscription.catch_up_released")
    assert released.data == {"action": "bill", "unbilled_from": weeks(1, 0).isoformat()}
    worker_pass()
    assert len(receipts()) == 2  # the signup's, and one for the ten periods
    assert run_checks()["ok"], run_checks()
    # A second release is refused and changes nothing.
    before = counts()
    with pytest.raises(services.SubscriptionError, match="not held"):
        release_catch_up(weekly.pk, "bill")
    assert counts() == before


def test_release_by_skipping_bills_only_the_current_period(weekly):
    start_clock(weeks(10))
    worker_pass()
    charged = PaymentAttempt.objects.count()
    sub = release_catch_up(weekly.pk, "skip")
    assert [i.period_start for i in invoices_of(sub)] == [T0, weeks(10, 0)]
    assert PaymentAttempt.objects.count() == charged + 1
    assert (sub.catch_up_held_at, sub.current_period_start, sub.next_action_at) == (None, weeks(10, 0), weeks(11, 0))
    released = Event.objects.get(type="subscription.catch_up_released")
    assert released.data == {"action": "skip", "unbilled_from": weeks(1, 0).isoformat(),
                             "billing_from": weeks(10, 0).isoformat(), "periods_skipped": 9}
    # The gap is the operator's decision, not a skipped period.
    assert run_checks()["ok"], run_checks()
    start_clock(weeks(11))
    assert worker_pass()["renewals"] == 1


def test_a_held_subscription_refuses_changes_until_released_and_cancel_now_ends_the_hold(weekly):
    make_plan("weekly-pro", 1990, interval="week")
    start_clock(weeks(10))
    worker_pass()
    before = counts()
    for refused in (lambda: changes.change_subscription(weekly.pk, quantity=2),
                    lambda: services.pause(weekly.pk),
                    lambda: services.cancel_at_period_end(weekly.pk)):
        with pytest.raises(services.SubscriptionError, match="held for catch-up"):
            refused()
    with pytest.raises(services.SubscriptionError):
        release_catch_up(weekly.pk, "later")
    assert counts() == before
    services.cancel_now(weekly.pk)
    sub = reload(weekly)
    assert (sub.status, sub.catch_up_held_at) == ("canceled", None)
    assert run_checks()["ok"], run_checks()


def test_a_trial_that_ended_long_ago_is_held_and_skipping_makes_it_active():
    start_clock(T0)
    make_plan("weekly", 990, interval="week")
    sub = subscribe(make_customer(), "weekly", trial_days=7)
    start_clock(weeks(8))
    worker_pass()
    assert reload(sub).catch_up_held_at == weeks(8) and not Invoice.objects.filter(total__gt=0).exists()
    sub = release_catch_up(sub.pk, "skip")
    assert sub.status == "active" and [i.period_start for i in invoices_of(sub) if i.total] == [weeks(8, 0)]
    assert run_checks()["ok"], run_checks()


@real_transactions
@pytest.mark.postgres_only
def test_four_workers_at_once_hold_or_bill_each_subscription_once():
    start_clock(T0)
    make_plan("weekly", 990, interval="week")
    near = [subscribe(make_customer(), "weekly") for _ in range(20)]
    start_clock(weeks(2))
    far = [subscribe(make_customer(), "weekly", start=weeks(1, 2)) for _ in range(20)]
    start_clock(weeks(6))
    nearer = [subscribe(make_customer(), "weekly", start=weeks(5, 2)) for _ in range(20)]
    start_clock(weeks(8))  # due: near 8 periods, far 6 (both held), nearer 2 (billed)
    until = now()
    errors = run_together(lambda: process_due_work(until, at_due_time=False, batch_size=7))
    assert errors == []
    held = Event.objects.filter(type="subscription.catch_up_held")
    assert sorted(held.values_list("subject_id", flat=True)) == sorted(s.pk for s in near + far)
    assert set(Subscription.objects.filter(catch_up_held_at__isnull=False).values_list("pk", flat=True)) == \
        {s.pk for s in near + far}
    renewals = Invoice.objects.filter(billing_reason="subscription_cycle")
    assert renewals.count() == 2 * len(nearer)
    assert set(renewals.values_list("subscription_id", flat=True)) == {s.pk for s in nearer}
    assert run_checks()["by_check"] == {"catch_up_held": 40}


def test_cli_lists_held_subscriptions_and_releases_them(weekly):
    from argparse import Namespace

    from assina.subscriptions.cli import cmd_held, cmd_release

    assert cmd_held(Namespace()) == {"subscriptions": []}
    start_clock(weeks(10))
    worker_pass()
    [held] = cmd_held(Namespace())["subscriptions"]
    assert (held["id"], held["catch_up_held_at"], held["next_action_at"]) == (f"sub_{weekly.pk}", weeks(10).isoformat()
                                                                              .replace("+00:00", "Z"), None)
    released = cmd_release(Namespace(id=f"sub_{weekly.pk}", bill=False, skip=True))
    assert (released["catch_up_held_at"], released["current_period_start"]) == (None, "2027-03-15T09:00:00Z")
    assert cmd_held(Namespace()) == {"subscriptions": []}


def test_a_catch_up_whose_charges_fail_tells_the_customer_once(weekly):
    """Three missed periods charged to a card that now declines: one "we could not charge" message
    for the catch-up (with the three amounts' sum), not one per period."""
    from factories import FAILING_CARD

    from assina.payments.services import attach_card

    worker_pass()  # the signup's receipt
    attach_card(weekly.customer, FAILING_CARD, now(), make_default=True)
    start_clock(weeks(3))
    worker_pass()
    sub = reload(weekly)
    assert [i.status for i in invoices_of(sub)[1:]] == ["open", "open", "open"]
    failed = list(Message.objects.filter(template="payment_failed"))
    assert len(failed) == 1, [m.key for m in failed]
    assert "29.70" in failed[0].text  # 3 × 9.90

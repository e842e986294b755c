"""Cancelling at period end (and changing one's mind), and pausing with credit for the unused time."""

import pytest
from factories import (
    advance,
    assert_all_invoices_sum,
    event_types,
    fraction_9,
    invoices_of,
    last_event_id,
    lines_of,
    make_customer,
    make_plan,
    real_transactions,
    reload,
    round_half_up,
    start_clock,
    subscribe,
    utc,
)

from assina.core.states import has_access
from assina.customers.models import BalanceTransaction
from assina.events.models import Event
from assina.invoices.models import CreditNote, Invoice, PendingItem
from assina.payments.models import PaymentAttempt
from assina.subscriptions import services
from assina.subscriptions.changes import change_subscription

pytestmark = real_transactions

JAN_1, FEB_1, MAR_1, APR_1 = utc(2027, 1, 1), utc(2027, 2, 1), utc(2027, 3, 1), utc(2027, 4, 1)


def test_cancel_at_period_end_then_reactivate_keeps_renewing():
    start_clock(JAN_1)
    make_plan("basic", 10000)
    sub = subscribe(make_customer(), "basic")
    advance(utc(2027, 1, 10))

    services.cancel_at_period_end(sub.pk, reason="too expensive")
    sub = reload(sub)
    assert (sub.cancel_at_period_end, sub.canceled_at, sub.status) == (True, utc(2027, 1, 10), "active")
    scheduled = Event.objects.get(type="subscription.cancel_scheduled")
    assert scheduled.data == {"ends_at": FEB_1.isoformat(), "reason": "too expensive"}

    advance(utc(2027, 1, 20))
    services.reactivate(sub.pk)
    sub = reload(sub)
    assert (sub.cancel_at_period_end, sub.canceled_at, sub.cancel_reason) == (False, None, "")
    assert event_types(sub)[-1] == "subscription.reactivated"

    advance(APR_1)
    sub = reload(sub)
    assert (sub.status, sub.ended_at, sub.next_action_at) == ("active", None, utc(2027, 5, 1))
    assert [i.period_start for i in invoices_of(sub)] == [JAN_1, FEB_1, MAR_1, APR_1]
    assert "subscription.canceled" not in event_types(sub)
    assert_all_invoices_sum()


def test_cancel_at_period_end_ends_at_the_boundary_with_access_until_then_and_no_more_invoices():
    start_clock(JAN_1)
    make_plan("basic", 10000)
    sub = subscribe(make_customer(), "basic")
    advance(utc(2027, 1, 10))
    services.cancel_at_period_end(sub.pk)

    advance(utc(2027, 1, 31, 23, 59, 59))
    sub = reload(sub)
    assert sub.status == "active" and has_access(sub.status)

    before = last_event_id()
    advance(APR_1)
    sub = reload(sub)
    assert (sub.status, sub.ended_at, sub.cancel_at_period_end, sub.next_action_at) == ("canceled", FEB_1, False, None)
    assert not has_access(sub.status)
    assert len(invoices_of(sub)) == 1
    events = list(Event.objects.filter(id__gt=before).values_list("type", "occurred_at", "data"))
    assert [(t, at) for t, at, _ in events] == [("subscription.updated", FEB_1), ("subscription.canceled", FEB_1)]
    assert events[0][2] == {"status": "canceled", "previous_status": "active", "reason": "canceled"}

    with pytest.raises(services.SubscriptionError, match="has ended and cannot be reactivated"):
        services.reactivate(sub.pk)
    advance(utc(2028, 1, 1))
    assert Invoice.objects.count() == 1
    assert_all_invoices_sum()


def test_pause_credits_the_unused_time_and_the_scheduled_resume_bills_a_new_period_using_it():
    start_clock(JAN_1)
    make_plan("basic", 29900)
    customer = make_customer()
    sub = subscribe(customer, "basic")
    paid = invoices_of(sub)[0]
    pause_at = utc(2027, 1, 11, 6)
    resume_at = utc(2027, 2, 5, 8)
    advance(pause_at)

    services.pause(sub.pk, resumes_at=resume_at)

    # By hand: Jan 11 06:00 -> Feb 1 00:00 is 20 d 18 h = 1,792,800 s of the 31-day period.
    fraction = fraction_9(20 * 86400 + 18 * 3600, 31 * 86400)
    assert str(fraction) == "0.669354839"
    credit = round_half_up(29900 * fraction)
    assert credit == 20014
    sub = reload(sub)
    assert (sub.status, sub.paused_at, sub.resumes_at, sub.next_action_at) == ("paused", pause_at, resume_at, resume_at)
    [note] = CreditNote.objects.all()
    assert (note.invoice_id, note.amount, note.number) == (paid.pk, credit, "CN-2027-000001")
    assert reload(customer).credit_balance == credit
    assert list(BalanceTransaction.objects.values_list("kind", "amount")) == [("credit_note", credit)]
    assert event_types(sub)[-3:] == ["credit_note.created", "subscription.updated", "subscription.paused"]

    advance(utc(2027, 2, 5, 7, 59, 59))
    assert len(invoices_of(sub)) == 1  # nothing billed while paused (not even on Feb 1)

    advance(resume_at)
    sub = reload(sub)
    assert (sub.status, sub.current_period_start, sub.current_period_end) == ("active", resume_at, utc(2027, 3, 5, 8))
    _, resumed = invoices_of(sub)
    assert (resumed.period_start, resumed.period_end, resumed.created_at) == (resume_at, utc(2027, 3, 5, 8), resume_at)
    assert lines_of(resumed) == [("subscription", 29900)]
    assert (resumed.credit_applied, resumed.amount_due, resumed.amount_paid) == (credit, 29900 - credit, 29900 - credit)
    assert PaymentAttempt.objects.get(invoice=resumed).amount == 29900 - credit
    assert reload(customer).credit_balance == 0
    assert "subscription.resumed" in event_types(sub)

    advance(utc(2027, 3, 5, 8))
    assert [i.period_start for i in invoices_of(sub)] == [JAN_1, resume_at, utc(2027, 3, 5, 8)]
    assert_all_invoices_sum()


def test_pause_without_a_date_waits_until_resumed_by_hand():
    start_clock(JAN_1)
    make_plan("basic", 31000)
    customer = make_customer()
    sub = subscribe(customer, "basic")
    advance(utc(2027, 1, 11))
    services.pause(sub.pk)
    assert reload(sub).next_action_at is None
    assert reload(customer).credit_balance == 21000  # 21 of 31 days unused

    advance(utc(2027, 3, 20, 10))
    assert reload(sub).status == "paused" and len(invoices_of(sub)) == 1

    services.resume(sub.pk)
    sub = reload(sub)
    assert (sub.status, sub.current_period_start, sub.current_period_end) == ("active", utc(2027, 3, 20, 10), utc(2027, 4, 20, 10))
    resumed = invoices_of(sub)[-1]
    assert (resumed.total, resumed.credit_applied, resumed.amount_due, resumed.status) == (31000, 21000, 10000, "paid")
    with pytest.raises(services.SubscriptionError, match="is active, not paused"):
        services.resume(sub.pk)
    assert_all_invoices_sum()


def _pro_upgraded_to_max_mid_period_carried():
    start_clock(utc(2027, 1, 31, 10))
    make_plan("pro", 4990)
    make_plan("max", 9990)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    advance(utc(2027, 2, 14, 10))
    change_subscription(sub.pk, plan_code="max")  # carried: -2495 unused Pro, +4995 remaining Max
    return customer, sub


def test_pausing_after_an_upgrade_carried_to_the_next_invoice_settles_it_without_charging_twice():
    # Pro 49.90 from Jan 31; on Feb 14 (half of the 28-day period) an upgrade to Max 99.90 is
    # carried to the next invoice (-24.95 unused Pro, +49.95 remaining Max), then paused at once.
    customer, sub = _pro_upgraded_to_max_mid_period_carried()
    services.pause(sub.pk)

    # The carried lines and the unused Max time are settled at once on a final invoice whose
    # negative total becomes credit: -2495 + 4995 - 4995 = -2495.
    settlement = invoices_of(sub)[-1]
    assert lines_of(settlement) == [("proration", -2495), ("proration", 4995), ("proration", -4995)]
    assert (settlement.total, settlement.amount_due) == (-2495, 0)
    assert reload(customer).credit_balance == 2495
    assert not PendingItem.objects.filter(subscription=sub, invoice__isnull=True).exists()

    advance(utc(2027, 2, 20, 10))
    services.resume(sub.pk)
    resumed = invoices_of(sub)[-1]
    # The customer used Pro for half a period (paid), never used Max: the new Max period costs
    # 99.90 minus the 24.95 credit.
    assert lines_of(resumed) == [("subscription", 9990)]
    assert (resumed.credit_applied, resumed.amount_due, resumed.amount_paid) == (2495, 7495, 7495)


def test_cancel_now_with_proration_after_a_carried_upgrade_bills_the_carried_lines_and_credits_the_rest():
    customer, sub = _pro_upgraded_to_max_mid_period_carried()
    services.cancel_now(sub.pk, prorate=True)

    final = invoices_of(sub)[-1]
    assert lines_of(final) == [("proration", -2495), ("proration", 4995), ("proration", -4995)]
    assert reload(customer).credit_balance == 2495
    assert not PendingItem.objects.filter(subscription=sub, invoice__isnull=True).exists()
    assert reload(sub).status == "canceled"

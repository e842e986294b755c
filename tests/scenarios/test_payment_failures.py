"""Failed payments: a renewal that fails leaves the invoice open and the subscription past
due; a first payment that fails leaves it incomplete, and after 23 hours it expires."""

from factories import (
    FAILING_CARD,
    GOOD_CARD,
    advance,
    assert_all_invoices_sum,
    invoices_of,
    last_event_id,
    make_customer,
    make_plan,
    real_transactions,
    reload,
    start_clock,
    subscribe,
    utc,
)

from assina.time import now
from assina.events.models import Event
from assina.payments.models import PaymentAttempt
from assina.payments.services import attach_card

pytestmark = real_transactions

START = utc(2027, 1, 31, 10)
FEB_28 = utc(2027, 2, 28, 10)


def test_card_failing_on_renewal_leaves_past_due_until_a_working_card_pays_the_invoice():
    start_clock(START)
    make_plan("basic", 4990)
    customer = make_customer()
    sub = subscribe(customer, "basic")
    assert sub.status == "active"
    attach_card(customer, FAILING_CARD, now())  # attaches fine, every charge is declined

    before = last_event_id()
    advance(utc(2027, 2, 28, 12))  # before the first retry (Mar 1, 10:00)

    sub = reload(sub)
    assert sub.status == "past_due"
    _, renewal = invoices_of(sub)
    assert (renewal.status, renewal.period_start, renewal.amount_due, renewal.amount_paid) == ("open", FEB_28, 4990, 0)
    [attempt] = PaymentAttempt.objects.filter(invoice=renewal)
    assert (attempt.status, attempt.decline_code, attempt.completed_at) == ("failed", "card_declined", FEB_28)
    assert attempt.payment_method.last4 == "0341"
    assert attempt.next_retry_at == renewal.next_payment_attempt == utc(2027, 3, 1, 10)
    events = list(Event.objects.filter(id__gt=before).values_list("type", "data"))
    assert [t for t, _ in events] == ["invoice.created", "payment.failed", "payment.retry_scheduled", "subscription.updated"]
    assert events[1][1]["decline_code"] == "card_declined" and events[1][1]["invoice"] == renewal.pk
    assert events[1][1]["next_retry_at"] == "2027-03-01T10:00:00+00:00" and events[1][1]["final"] is False
    assert events[3][1] == {"status": "past_due", "previous_status": "active", "reason": "payment_failed"}

    advance(utc(2027, 3, 5))  # retried on Mar 1 and Mar 3, declined both times
    assert list(PaymentAttempt.objects.filter(invoice=renewal).values_list("number", "status", "created_at")) == [
        (1, "failed", FEB_28), (2, "failed", utc(2027, 3, 1, 10)), (3, "failed", utc(2027, 3, 3, 10))]

    attach_card(customer, GOOD_CARD, now())  # a new card pays the open invoice at once

    renewal.refresh_from_db()
    assert (renewal.status, renewal.amount_paid, renewal.paid_at) == ("paid", 4990, utc(2027, 3, 5))
    assert list(PaymentAttempt.objects.filter(invoice=renewal).values_list("number", "status")) == [
        (1, "failed"), (2, "failed"), (3, "failed"), (4, "succeeded")]
    assert reload(sub).status == "active"
    assert Event.objects.filter(type="subscription.updated", data__reason="payment_succeeded", subject_id=sub.pk).exists()

    advance(utc(2027, 3, 31, 10))
    latest = invoices_of(sub)[-1]
    assert (latest.period_start, latest.status) == (utc(2027, 3, 31, 10), "paid")
    assert reload(sub).status == "active"
    assert_all_invoices_sum()


def test_first_payment_failing_leaves_incomplete_and_23_hours_later_canceled_with_the_invoice_void():
    start_clock(START)
    make_plan("basic", 4990)
    customer = make_customer(card=FAILING_CARD)

    sub = subscribe(customer, "basic")

    assert sub.status == "incomplete"
    [invoice] = invoices_of(sub)
    assert (invoice.status, invoice.billing_reason, invoice.amount_due) == ("open", "subscription_create", 4990)
    assert PaymentAttempt.objects.get(invoice=invoice).decline_code == "card_declined"
    assert sub.next_action_at == utc(2027, 2, 1, 9)  # 23 hours

    advance(utc(2027, 2, 1, 8, 59, 59))
    assert reload(sub).status == "incomplete"

    before = last_event_id()
    advance(utc(2027, 2, 1, 9))
    sub = reload(sub)
    assert (sub.status, sub.ended_at, sub.cancel_reason, sub.next_action_at) == (
        "canceled", utc(2027, 2, 1, 9), "incomplete_expired", None)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.voided_at) == ("void", utc(2027, 2, 1, 9))
    assert list(Event.objects.filter(id__gt=before).values_list("type", flat=True)) == [
        "invoice.voided", "subscription.updated", "subscription.canceled"]

    advance(utc(2027, 6, 1))
    assert len(invoices_of(sub)) == 1
    assert_all_invoices_sum()


def test_incomplete_subscription_paid_within_23_hours_becomes_active():
    start_clock(START)
    make_plan("basic", 4990)
    customer = make_customer(card=FAILING_CARD)
    sub = subscribe(customer, "basic")
    advance(utc(2027, 2, 1, 8))
    attach_card(customer, GOOD_CARD, now())  # the open first invoice is paid at once with it
    assert invoices_of(sub)[0].paid_at == utc(2027, 2, 1, 8)
    sub = reload(sub)
    assert sub.status == "active" and sub.next_action_at == FEB_28
    advance(FEB_28)
    assert [i.status for i in invoices_of(sub)] == ["paid", "paid"]
    assert reload(sub).status == "active"


def test_a_backdated_subscription_whose_first_payment_fails_still_gets_23_hours_from_its_creation():
    start_clock(utc(2027, 3, 10, 12))
    make_plan("basic", 4990)
    sub = subscribe(make_customer(card=FAILING_CARD), "basic", start=utc(2027, 3, 1))
    assert (sub.status, sub.started_at, sub.current_period_start) == ("incomplete", utc(2027, 3, 1), utc(2027, 3, 1))
    assert sub.next_action_at == utc(2027, 3, 11, 11)  # 23 h after it was created, not after its start

    advance(utc(2027, 3, 11, 10, 59, 59))
    assert reload(sub).status == "incomplete"
    advance(utc(2027, 3, 11, 11))
    assert reload(sub).status == "canceled"
    assert invoices_of(sub)[0].status == "void"

"""A trial bills nothing until it ends; then the first period is invoiced and charged."""

from factories import (
    advance,
    assert_all_invoices_sum,
    invoices_of,
    last_event_id,
    lines_of,
    make_customer,
    make_plan,
    real_transactions,
    reload,
    start_clock,
    subscribe,
    utc,
)

from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.payments.models import PaymentAttempt

pytestmark = real_transactions

START = utc(2027, 3, 3, 9, 15)
TRIAL_END = utc(2027, 3, 17, 9, 15)  # 14 days later


def test_fourteen_day_trial_bills_at_trial_end_and_becomes_active():
    start_clock(START)
    make_plan("team", 9900, trial_days=14)
    sub = subscribe(make_customer(), "team")
    assert (sub.status, sub.trial_end, sub.current_period_end, sub.next_action_at) == (
        "trialing", TRIAL_END, TRIAL_END, TRIAL_END)
    assert Invoice.objects.count() == 0

    advance(utc(2027, 3, 17, 9, 14, 59))
    assert reload(sub).status == "trialing"
    assert Invoice.objects.count() == 0

    before = last_event_id()
    advance(TRIAL_END)
    sub = reload(sub)
    assert sub.status == "active"
    assert (sub.current_period_start, sub.current_period_end) == (TRIAL_END, utc(2027, 4, 17, 9, 15))
    [invoice] = invoices_of(sub)
    assert (invoice.period_start, invoice.period_end, invoice.created_at) == (TRIAL_END, utc(2027, 4, 17, 9, 15), TRIAL_END)
    assert (invoice.status, invoice.total, invoice.amount_paid, invoice.number) == ("paid", 9900, 9900, "2027-000001")
    assert lines_of(invoice) == [("subscription", 9900)]
    trial_ended = Event.objects.get(id__gt=before, type="subscription.updated", subject_id=sub.pk)
    assert trial_ended.data == {"status": "active", "previous_status": "trialing", "reason": "trial_ended"}
    assert trial_ended.occurred_at == TRIAL_END
    assert sorted(Event.objects.filter(id__gt=before).values_list("type", flat=True)) == [
        "invoice.created", "invoice.paid", "subscription.updated"]

    advance(utc(2027, 5, 17, 9, 15))
    assert [i.period_start for i in invoices_of(sub)] == [TRIAL_END, utc(2027, 4, 17, 9, 15), utc(2027, 5, 17, 9, 15)]
    assert_all_invoices_sum()


def test_trial_without_a_card_ends_past_due_with_an_open_invoice_and_a_failed_attempt():
    start_clock(START)
    make_plan("team", 9900, trial_days=14)
    sub = subscribe(make_customer(card=None), "team")
    assert sub.status == "trialing"

    before = last_event_id()
    advance(utc(2027, 3, 20))

    sub = reload(sub)
    assert sub.status == "past_due"
    [invoice] = invoices_of(sub)
    assert (invoice.status, invoice.total, invoice.amount_due, invoice.amount_paid) == ("open", 9900, 9900, 0)
    assert invoice.period_start == TRIAL_END
    [attempt] = PaymentAttempt.objects.filter(invoice=invoice)
    assert (attempt.status, attempt.decline_code, attempt.amount, attempt.payment_method_id) == (
        "failed", "no_payment_method", 9900, None)
    events = list(Event.objects.filter(id__gt=before).values_list("type", "data"))
    statuses = [(d["previous_status"], d["status"], d["reason"]) for t, d in events if t == "subscription.updated"]
    assert statuses == [("trialing", "active", "trial_ended"), ("active", "past_due", "payment_failed")]
    failed = [d for t, d in events if t == "payment.failed"]
    assert len(failed) == 1 and failed[0]["decline_code"] == "no_payment_method"
    assert_all_invoices_sum()

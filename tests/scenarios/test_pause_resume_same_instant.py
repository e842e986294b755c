"""Pausing and resuming at the same instant (a frozen clock, a script, a double click).

Resuming at the very start of a period the pause interrupted used to start a "new" period
that was the same period again: a second invoice for (subscription, period start), refused
by the database (IntegrityError, a 409 in the API). The resume now continues that period:
the pause's credit is charged back, nothing is billed twice and nothing is lost."""

from django.db.models import Sum
from factories import (
    advance, assert_all_invoices_sum, invoices_of, make_customer, make_plan, real_transactions, reload,
    start_clock, subscribe, utc,
)

from payments_support import card_fails, card_recovers

from assina.invoices.models import Invoice
from assina.payments.models import PaymentAttempt
from assina.subscriptions import services

pytestmark = real_transactions

JAN_1, FEB_1, MAR_1 = utc(2027, 1, 1), utc(2027, 2, 1), utc(2027, 3, 1)


def _charged(customer) -> int:
    """What the customer's card paid, all invoices together."""
    return PaymentAttempt.objects.filter(invoice__customer=customer, status="succeeded").aggregate(s=Sum("amount"))["s"] or 0


def _period_invoices(sub) -> list:
    return [i.period_start for i in invoices_of(sub) if i.period_start is not None]


def _pause_and_resume(sub):
    services.pause(sub.pk)
    return services.resume(sub.pk)


def test_pause_and_resume_at_the_start_of_the_first_period():
    start_clock(JAN_1)
    make_plan("pro", 29900)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    resumed = _pause_and_resume(sub)

    assert (resumed.status, resumed.current_period_start, resumed.current_period_end) == ("active", JAN_1, FEB_1)
    assert (resumed.paused_at, resumed.resumes_at, resumed.next_action_at) == (None, None, FEB_1)
    first, charge_back = invoices_of(sub)
    assert (first.period_start, first.total, first.status) == (JAN_1, 29900, "paid")
    assert first.credit_notes.get().amount == 29900  # the pause credited the whole unused period
    assert (charge_back.period_start, charge_back.billing_reason) == (None, Invoice.Reason.SUBSCRIPTION_UPDATE)
    assert (charge_back.total, charge_back.credit_applied, charge_back.amount_paid, charge_back.status) == (
        29900, 29900, 0, "paid")  # paid by the credit: the card is not charged again
    assert [(l.kind, l.amount, l.period_start, l.period_end) for l in charge_back.lines.all()] == [
        ("proration", 29900, JAN_1, FEB_1)]
    assert reload(customer).credit_balance == 0 and _charged(customer) == 29900

    advance(FEB_1)  # the period ends when it always would have: renewed once
    assert _period_invoices(sub) == [JAN_1, FEB_1]
    assert _charged(customer) == 2 * 29900 and reload(sub).current_period_end == MAR_1
    assert_all_invoices_sum()


def test_pause_and_resume_at_a_renewal_instant_and_again():
    start_clock(JAN_1)
    make_plan("pro", 29900)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    advance(FEB_1)
    _pause_and_resume(sub)
    resumed = _pause_and_resume(sub)  # twice at the same instant
    assert (resumed.status, resumed.current_period_start, resumed.current_period_end) == ("active", FEB_1, MAR_1)
    assert _period_invoices(sub) == [JAN_1, FEB_1]
    assert reload(customer).credit_balance == 0 and _charged(customer) == 2 * 29900
    advance(MAR_1)
    assert _period_invoices(sub) == [JAN_1, FEB_1, MAR_1] and _charged(customer) == 3 * 29900
    assert_all_invoices_sum()


def test_pause_and_resume_twice_at_the_same_instant_mid_period():
    start_clock(JAN_1)
    make_plan("pro", 31000)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    moment = utc(2027, 1, 11)  # 10 of 31 days used: 21000 unused
    advance(moment)
    _pause_and_resume(sub)  # a new period starts now, billed less the credit for the unused time
    assert _charged(customer) == 31000 + 31000 - 21000
    resumed = _pause_and_resume(sub)  # paused at the start of that new period: it continues
    assert (resumed.status, resumed.current_period_start, resumed.current_period_end) == ("active", moment, utc(2027, 2, 11))
    assert _period_invoices(sub) == [JAN_1, moment]
    assert reload(customer).credit_balance == 0 and _charged(customer) == 31000 + 31000 - 21000
    assert_all_invoices_sum()


def test_past_due_paused_and_resumed_at_the_renewal_instant_owes_the_period_once():
    start_clock(JAN_1)
    make_plan("pro", 29900)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    card_fails(customer, utc(2027, 1, 31), "insufficient_funds")
    advance(FEB_1)
    renewal = invoices_of(sub)[-1]
    assert (reload(sub).status, renewal.status, renewal.amount_due) == ("past_due", "open", 29900)
    _pause_and_resume(sub)
    # The pause credited the unpaid renewal (it asks for nothing now); the charge-back asks for it instead.
    renewal, charge_back = invoices_of(sub)[-2:]
    assert (renewal.amount_due, charge_back.amount_due, charge_back.status) == (0, 29900, "open")
    assert _period_invoices(sub) == [JAN_1, FEB_1] and reload(customer).credit_balance == 0
    card_recovers(customer, utc(2027, 2, 2))
    advance(utc(2027, 2, 4))  # the retry collects it
    assert reload(charge_back).status == "paid" and _charged(customer) == 2 * 29900
    assert reload(sub).status == "active"
    assert_all_invoices_sum()

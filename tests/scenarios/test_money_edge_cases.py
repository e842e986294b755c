"""Edge cases where money, periods or the billing run could go wrong (found in review)."""

import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from factories import (
    FAILING_CARD,
    GOOD_CARD,
    advance,
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
from assina.customers.models import BalanceTransaction, Customer
from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.invoices.services import InvoiceError, create_credit_note, mark_uncollectible, void_invoice
from assina.payments.models import PaymentAttempt, SandboxCharge
from assina.payments.services import (
    PaymentError, attach_card, attach_card_token, check_card, pay_invoice, reconcile_pending, start_attempts,
)
from assina.subscriptions.changes import change_subscription
from assina.subscriptions.due_work import _process_batch
from assina.subscriptions.models import ScheduledChange
from assina.subscriptions.services import cancel_now

pytestmark = real_transactions


def test_an_interval_change_now_cancels_a_change_scheduled_for_the_old_period_end():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("basic", 1000)
    make_plan("pro", 3000)
    make_plan("pro-year", 30000, interval="year")
    sub = subscribe(make_customer(), "basic")
    change_subscription(sub.pk, plan_code="pro", at_period_end=True)  # would apply on Feb 10
    advance(utc(2027, 1, 20, 9))
    change_subscription(sub.pk, plan_code="pro-year")  # a yearly cycle starts now

    advance(utc(2027, 2, 11))
    sub = reload(sub)
    assert (sub.plan.code, sub.interval, sub.current_period_end) == ("pro-year", "year", utc(2028, 1, 20, 9))
    assert list(ScheduledChange.objects.filter(subscription=sub).values_list("status", flat=True)) == ["canceled"]
    advance(utc(2028, 1, 21))  # the yearly renewal happens; the billing run does not crash
    assert invoices_of(sub)[-1].period_start == utc(2028, 1, 20, 9)


def test_cancel_now_after_an_upgrade_billed_at_once_credits_all_the_unused_time():
    start_clock(utc(2027, 1, 1))
    make_plan("basic", 1000)
    make_plan("pro", 3000)
    customer = make_customer()
    sub = subscribe(customer, "basic")  # Jan 1 - Feb 1, paid 1000
    advance(utc(2027, 1, 16, 12))  # half of the 31-day period
    change_subscription(sub.pk, plan_code="pro", invoice_now=True)  # -500 + 1500: pays 1000 more
    assert sum(i.amount_paid for i in invoices_of(sub)) == 2000
    cancel_now(sub.pk, prorate=True)
    # Used: half a period of basic (500). The other 1500 paid is the customer's.
    assert reload(customer).credit_balance == 1500
    assert sum(BalanceTransaction.objects.filter(customer=customer).values_list("amount", flat=True)) == 1500


def _pending_attempt_on_open_invoice():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer(card=FAILING_CARD)
    sub = subscribe(customer, "pro")  # incomplete: its invoice is open
    invoice = invoices_of(sub)[0]
    with transaction.atomic():  # a new card kept without the immediate retry attach_card makes
        attach_card_token(Customer.objects.get(pk=customer.pk), check_card(GOOD_CARD, now()), now())
    customer = Customer.objects.select_related("default_payment_method").get(pk=customer.pk)
    with transaction.atomic():  # the attempt is written, then the process dies before charging
        charges = start_attempts([Invoice.objects.get(pk=invoice.pk)], {customer.pk: customer.default_payment_method}, now())
    return customer, invoice, charges[0]


@pytest.mark.parametrize("close", [
    lambda invoice: void_invoice(invoice.pk, now()),
    lambda invoice: mark_uncollectible(invoice.pk, now()),
    lambda invoice: create_credit_note(invoice.pk, 4990, "goodwill", now()),
], ids=["void", "uncollectible", "credit note"])
def test_an_invoice_cannot_be_closed_while_a_payment_of_it_is_in_flight(close):
    customer, invoice, charge = _pending_attempt_on_open_invoice()
    with pytest.raises(InvoiceError, match="in progress"):
        close(invoice)
    assert reload(invoice).status == "open"
    reconcile_pending(now())
    invoice = reload(invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 4990)
    assert SandboxCharge.objects.filter(idempotency_key=charge.idempotency_key).count() == 1


def test_a_charge_that_lands_on_a_closed_invoice_becomes_customer_credit():
    customer, invoice, charge = _pending_attempt_on_open_invoice()
    # Closed behind the services' back (the services refuse it now): the money must still be accounted for.
    Invoice.objects.filter(pk=invoice.pk).update(status="void")
    reconcile_pending(now())
    assert PaymentAttempt.objects.get(idempotency_key=charge.idempotency_key).status == "succeeded"
    assert reload(customer).credit_balance == 4990
    assert Event.objects.filter(type="payment.credited_to_balance", subject_id=invoice.pk).count() == 1


def test_a_credit_note_that_settles_a_past_due_invoice_pays_it_and_reactivates_the_subscription():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    attach_card(Customer.objects.get(pk=customer.pk), FAILING_CARD, now())
    advance(utc(2027, 2, 10, 10))
    invoice = invoices_of(sub)[-1]
    assert (reload(sub).status, invoice.status) == ("past_due", "open")
    since = last_event_id()
    create_credit_note(invoice.pk, 4990, "goodwill", now())
    assert reload(invoice).status == "paid"
    assert reload(sub).status == "active"
    types = list(Event.objects.filter(id__gt=since).values_list("type", flat=True))
    assert "invoice.paid" in types and "subscription.updated" in types


def test_canceling_an_incomplete_subscription_voids_its_first_invoice():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer(card=FAILING_CARD)
    sub = subscribe(customer, "pro")
    assert reload(sub).status == "incomplete"
    cancel_now(sub.pk)
    invoice = invoices_of(sub)[0]
    assert invoice.status == "void"
    attach_card(Customer.objects.get(pk=customer.pk), GOOD_CARD, now())
    with pytest.raises(PaymentError, match="only open invoices can be paid"):
        pay_invoice(invoice.pk, now())
    assert not SandboxCharge.objects.filter(succeeded=True).exists()


@pytest.mark.postgres_only
def test_two_workers_billing_one_customer_spend_its_credit_once():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer()
    first, second = subscribe(customer, "pro"), subscribe(customer, "pro")
    create_credit_note(invoices_of(first)[0].pk, 3000, "goodwill", now())
    advance(utc(2027, 2, 10, 8))
    until = utc(2027, 2, 10, 9)
    holding = threading.Event()

    def worker():
        try:
            with transaction.atomic():
                _process_batch([first.pk], until, None, Counter())
                holding.set()
                time.sleep(1.0)  # keep the batch's locks while the other worker starts
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert holding.wait(10)
    _process_batch([second.pk], until, None, Counter())
    thread.join()
    one, two = invoices_of(first)[-1], invoices_of(second)[-1]
    assert one.credit_applied + two.credit_applied == 3000
    assert reload(customer).credit_balance == 0


def test_a_change_to_a_plan_retired_before_the_period_end_is_not_applied():
    from assina.catalog.models import Plan

    start_clock(utc(2027, 1, 10, 9))
    make_plan("basic", 1000)
    make_plan("legacy", 500)
    sub = subscribe(make_customer(), "basic")
    change_subscription(sub.pk, plan_code="legacy", at_period_end=True)
    Plan.objects.filter(code="legacy").update(active=False)
    advance(utc(2027, 2, 10, 10))
    sub = reload(sub)
    assert sub.plan.code == "basic"
    assert [l.amount for l in invoices_of(sub)[-1].lines.all()] == [1000]
    assert Event.objects.filter(type="subscription.change_canceled", subject_id=sub.pk).count() == 1

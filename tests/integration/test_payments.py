"""Payments services: refunds and credit notes, the credit balance before a retry, payment
methods, cards about to expire, the sandbox's decline codes, bad input (nothing changes), and
``assina check`` finding a violation."""

import pytest
from django.db import transaction
from factories import (
    FAILING_CARD, GOOD_CARD, advance, counts, invoices_of, make_customer, make_plan, real_transactions, reload,
    start_clock, subscribe, utc,
)
from payments_support import assert_no_violations, card_fails

from assina.time import now
from assina.checks import run_checks
from assina.events.models import Event
from assina.invoices.models import CreditNote, Invoice
from assina.invoices.services import add_balance, void_invoice
from assina.payments import methods
from assina.payments.gateway import CardError
from assina.payments.models import PaymentAttempt, Refund, SandboxCharge
from assina.payments.refunds import refund_invoice
from assina.payments.sandbox import TEST_CARDS, schedule_card
from assina.payments.services import PaymentError, attach_card, check_card, pay_invoice

pytestmark = real_transactions


def _paid_invoice():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    return customer, sub, invoices_of(sub)[0]


def test_partial_then_full_refund_each_with_a_credit_note_never_more_than_paid():
    customer, sub, invoice = _paid_invoice()
    first = refund_invoice(invoice.pk, now(), amount=1000, reason="late delivery")
    assert (first.status, first.amount, first.idempotency_key) == ("succeeded", 1000, f"assina_inv_{invoice.pk}_refund_1")
    assert first.credit_note.amount == 1000 and first.credit_note.number.startswith("CN-2027-")
    before = counts()
    with pytest.raises(PaymentError, match="exceeds"):
        refund_invoice(invoice.pk, now(), amount=3991)
    assert counts() == before and Refund.objects.count() == 1
    rest = refund_invoice(invoice.pk, now())
    assert rest.amount == 3990
    assert sum(CreditNote.objects.filter(invoice=invoice).values_list("amount", flat=True)) == 4990
    assert reload(customer).credit_balance == 0  # refunded to the card, not to the balance
    with pytest.raises(PaymentError, match="exceeds"):
        refund_invoice(invoice.pk, now(), amount=1)
    assert Event.objects.filter(type="refund.succeeded").count() == 2
    assert_no_violations()


@pytest.mark.parametrize("amount", [0, -500])
def test_a_refund_of_nothing_or_a_negative_amount_is_refused(amount):
    _customer, _sub, invoice = _paid_invoice()
    before = counts()
    with pytest.raises(PaymentError, match="positive"):
        refund_invoice(invoice.pk, now(), amount=amount)
    assert counts() == before


def test_paying_or_refunding_a_void_invoice_is_refused_and_changes_nothing():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    sub = subscribe(make_customer(card=FAILING_CARD), "pro")  # incomplete, its invoice open
    invoice = invoices_of(sub)[0]
    void_invoice(invoice.pk, now())
    before = counts()
    with pytest.raises(PaymentError, match="void"):
        pay_invoice(invoice.pk, now())
    with pytest.raises(PaymentError, match="only paid invoices"):
        refund_invoice(invoice.pk, now())
    assert counts() == before


def test_a_payment_method_of_another_customer_or_an_unknown_token_is_refused():
    customer, _sub, _invoice = _paid_invoice()
    other = make_customer()
    theirs = reload(other).default_payment_method
    before = counts()
    with pytest.raises(PaymentError, match="another customer"):
        methods.set_default(customer, f"pm_{theirs.pk}", now())
    with pytest.raises(PaymentError, match="another customer"):
        methods.remove(customer, theirs.pk, now())
    with pytest.raises(PaymentError, match="unknown payment method"):
        methods.set_default(customer, "pm_999999", now())
    with pytest.raises(CardError, match="unknown card token"):
        methods.add_token(customer, "pm_sandbox_nope", now())
    with pytest.raises(CardError):
        attach_card(customer, "1234567812345678", now())
    assert counts() == before and reload(customer).default_payment_method_id != theirs.pk


def test_add_replace_remove_and_choose_the_default_card():
    customer, sub, _invoice = _paid_invoice()
    first = reload(customer).default_payment_method
    second = methods.add_card(customer, "5555555555554444", now(), make_default=False)
    assert reload(customer).default_payment_method_id == first.pk
    methods.set_default(customer, second.pk, now())
    assert reload(customer).default_payment_method_id == second.pk
    third = methods.replace(customer, second.pk, now(), number=GOOD_CARD, exp_month=4, exp_year=2030)
    assert reload(customer).default_payment_method_id == third.pk and reload(second).detached_at == now()
    methods.remove(customer, third.pk, now())
    assert reload(customer).default_payment_method_id == first.pk  # the newest remaining card
    assert [m["removed"] for m in methods.methods_json(customer)] == [False, True, True]
    types = set(Event.objects.filter(customer_id=customer.pk).values_list("type", flat=True))
    assert {"payment_method.attached", "payment_method.default_changed", "payment_method.replaced",
            "payment_method.detached"} <= types
    advance(utc(2027, 2, 10, 10))
    assert invoices_of(sub)[-1].status == "paid"


def test_credit_granted_after_a_failure_is_used_before_the_card_is_retried():
    customer, sub, _first = _paid_invoice()
    card_fails(customer, utc(2027, 2, 1), "insufficient_funds")
    advance(utc(2027, 2, 10, 10))
    renewal = invoices_of(sub)[-1]
    assert renewal.status == "open"
    with transaction.atomic():
        add_balance(customer.pk, 5000, "BRL", "adjustment", now(), None, "goodwill")
    advance(utc(2027, 2, 12))  # the retry of Feb 11 finds the credit first
    renewal.refresh_from_db()
    assert (renewal.status, renewal.credit_applied, renewal.amount_due, renewal.dunning_status) == ("paid", 4990, 0, "recovered")
    assert PaymentAttempt.objects.filter(invoice=renewal).count() == 1  # the card was not tried again
    assert reload(customer).credit_balance == 10 and reload(sub).status == "active"
    assert_no_violations()


def test_cards_expiring_within_30_days_are_announced_once():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer(card=None)
    method = attach_card(customer, GOOD_CARD, now(), exp_month=3, exp_year=2027)
    subscribe(customer, "pro")
    advance(utc(2027, 2, 28, 23))  # within 30 days of Mar 31
    advance(utc(2027, 3, 20))
    [event] = Event.objects.filter(type="payment_method.expiring")
    assert event.data == {"payment_method": method.pk, "brand": "visa", "last4": "4242", "exp_month": 3, "exp_year": 2027,
                          "expires_at": "2027-03-31T23:59:59+00:00", "expired": False}
    assert event.occurred_at == utc(2027, 3, 1, 23, 59, 59)
    assert reload(method).expiring_notified_at == event.occurred_at


def test_the_sandbox_knows_every_decline_code_and_a_card_can_fail_then_recover():
    start_clock(utc(2027, 1, 10, 9))
    for number, (behaviour, code) in TEST_CARDS.items():
        if behaviour == "declined_on_attach":
            with pytest.raises(CardError) as declined:
                check_card(number, now())
            assert declined.value.decline_code == code
    assert {code for _b, code in TEST_CARDS.values()} >= {
        "card_declined", "insufficient_funds", "expired_card", "lost_card", "stolen_card", "incorrect_cvc", "processing_error"}
    token = check_card(GOOD_CARD, now()).token
    schedule_card(token, utc(2027, 2, 1), "processing_error")
    schedule_card(token, utc(2027, 2, 5), "")
    from assina.payments.gateway import ChargeRequest
    from assina.payments.gateways import get_gateway

    results = get_gateway().charge_many([ChargeRequest(f"k{d}", token, 100, "BRL", utc(2027, 2, d)) for d in (1, 4, 5)])
    assert [(r.succeeded, r.decline_code) for r in results] == [(False, "processing_error"), (False, "processing_error"), (True, "")]
    with pytest.raises(Exception, match="unknown decline code"):
        schedule_card(token, utc(2027, 3, 1), "made_up")


def test_check_reports_a_charge_without_a_paid_invoice():
    _customer, _sub, invoice = _paid_invoice()
    assert run_checks()["ok"]
    Invoice.objects.filter(pk=invoice.pk).update(amount_paid=0, status="open")  # tampered behind the services
    result = run_checks()
    assert not result["ok"] and result["by_check"]["charges_match_invoices"] >= 1
    assert SandboxCharge.objects.count() == 1


def test_a_refund_left_pending_by_a_crash_is_sent_again_with_its_key_once():
    _customer, _sub, invoice = _paid_invoice()
    payment = PaymentAttempt.objects.get(invoice=invoice)
    with transaction.atomic():  # the refund row is written, then the process dies before the gateway call
        refund = Refund.objects.create(invoice=invoice, attempt=payment, number=1, idempotency_key=f"assina_inv_{invoice.pk}_refund_1",
                                       amount=2000, currency="BRL", created_at=now())
    from assina.payments.models import SandboxRefund

    advance(utc(2027, 1, 11))  # the worker's next run reconciles it
    advance(utc(2027, 1, 12))
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.credit_note is not None
    assert SandboxRefund.objects.filter(idempotency_key=refund.idempotency_key).count() == 1
    assert_no_violations()

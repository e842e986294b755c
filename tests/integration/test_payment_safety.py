"""A crash between writing a payment attempt and learning its result never charges twice."""

import pytest
from django.db import transaction

from assina.core.invoicing import draft_for_period
from assina.invoices.models import Invoice
from assina.invoices.services import InvoiceDraft, issue_invoices
from assina.payments.gateway import ChargeRequest
from assina.payments.gateways import get_gateway
from assina.payments.models import PaymentAttempt, SandboxCharge
from assina.payments.services import start_attempts
from assina.subscriptions.due_work import process_due_work
from assina.subscriptions.terms import terms_for
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc

pytestmark = pytest.mark.django_db(transaction=True)


def _invoice_with_pending_attempt():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    advance(utc(2027, 2, 10, 8))
    # The renewal is due at 09:00. Write its invoice and pending attempt, then "crash" before
    # charging: the attempt stays pending, which is what a killed worker leaves behind.
    terms = terms_for(sub)
    with transaction.atomic():
        draft = draft_for_period(terms, 1)
        invoice = issue_invoices([InvoiceDraft(
            customer_id=customer.pk, subscription_id=sub.pk, currency="BRL", billing_reason="subscription_cycle",
            at=draft.period.start, lines=list(draft.lines), period_start=draft.period.start, period_end=draft.period.end,
        )])[0]
        charges = start_attempts([invoice], {customer.pk: customer.default_payment_method})
    return sub, invoice, charges[0]


def test_an_attempt_left_pending_by_a_crash_is_charged_once_on_restart():
    sub, invoice, charge = _invoice_with_pending_attempt()
    assert PaymentAttempt.objects.get(idempotency_key=charge.idempotency_key).status == "pending"
    assert not SandboxCharge.objects.filter(idempotency_key=charge.idempotency_key).exists()

    process_due_work(utc(2027, 2, 10, 8))  # the restarted worker reconciles before anything else

    attempt = PaymentAttempt.objects.get(idempotency_key=charge.idempotency_key)
    assert attempt.status == "succeeded"
    assert SandboxCharge.objects.filter(idempotency_key__startswith=f"assina_inv_{invoice.pk}_").count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_paid == invoice.amount_due == 4990


def test_a_charge_the_gateway_made_before_the_crash_is_not_made_again():
    sub, invoice, charge = _invoice_with_pending_attempt()
    # The gateway received the call and charged the card; the answer was lost with the process.
    first = get_gateway().charge_many([ChargeRequest(idempotency_key=charge.idempotency_key, token=charge.token,
                                                     amount=charge.amount, currency=charge.currency, at=charge.created_at)])[0]
    assert first.succeeded

    process_due_work(utc(2027, 2, 10, 8))
    process_due_work(utc(2027, 2, 10, 8))  # and again: still nothing new

    assert SandboxCharge.objects.filter(idempotency_key__startswith=f"assina_inv_{invoice.pk}_").count() == 1
    assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1
    attempt = PaymentAttempt.objects.get(idempotency_key=charge.idempotency_key)
    assert attempt.status == "succeeded" and attempt.gateway_charge_id == first.charge_id
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_paid == 4990
    # The renewal itself is not billed twice either: one invoice for the period.
    advance(utc(2027, 2, 10, 10))
    assert Invoice.objects.filter(subscription=sub, period_start=invoice.period_start).count() == 1

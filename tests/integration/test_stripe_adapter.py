"""The Stripe adapter end to end against localstripe (a Stripe-compatible server that runs
offline), started by this module on 127.0.0.1: customers, cards, off-session charges,
declines feeding dunning, refunds, and the reconciliation of a charge whose answer was lost."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings
from factories import GOOD_CARD, advance, invoices_of, make_customer, make_plan, real_transactions, reload, start_clock, subscribe, utc
from payments_support import assert_no_violations

from assina.time import now
from assina.payments.gateway import CardError, ChargeRequest
from assina.payments.gateways import get_gateway
from assina.payments.methods import add_token
from assina.payments.models import GatewayCustomer, PaymentAttempt
from assina.payments.refunds import refund_invoice
from assina.payments.services import attach_card, reconcile_pending, start_attempts

pytestmark = real_transactions
LOCALSTRIPE = Path(sys.executable).with_name("localstripe")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def localstripe_url():
    """A fresh server per test: keys (invoice ids) repeat between test databases."""
    port = _free_port()
    process = subprocess.Popen([str(LOCALSTRIPE), "--port", str(port), "--from-scratch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("localstripe did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def stripe_gateway(localstripe_url):
    with override_settings(ASSINA_GATEWAY="stripe", ASSINA_STRIPE_API_KEY="sk_test_assina", ASSINA_STRIPE_API_BASE=localstripe_url):
        yield get_gateway()


def test_cards_and_renewals_go_through_stripe_and_a_decline_enters_dunning(stripe_gateway):
    assert stripe_gateway.name == "stripe"
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer()
    method = reload(customer).default_payment_method
    assert method.gateway == "stripe" and method.token.startswith("pm_") and method.last4 == "4242"
    assert GatewayCustomer.objects.get(customer=customer).remote_id.startswith("cus_")
    sub = subscribe(customer, "pro")
    [first] = invoices_of(sub)
    attempt = PaymentAttempt.objects.get(invoice=first)
    assert (first.status, attempt.status, attempt.gateway) == ("paid", "succeeded", "stripe")
    assert attempt.gateway_charge_id.startswith("pi_")

    # A declined card is refused when attached, as at Stripe; nothing is kept.
    with pytest.raises(CardError) as declined:
        attach_card(customer, "4000000000000002", now())
    assert declined.value.decline_code == "card_declined"
    with pytest.raises(CardError):
        add_token(customer, "pm_unknown", now())

    attach_card(customer, "4000000000000341", now())  # attaches, then every charge fails
    advance(utc(2027, 2, 10, 10))
    renewal = invoices_of(sub)[-1]
    failed = PaymentAttempt.objects.get(invoice=renewal)
    assert (failed.status, failed.decline_code, renewal.dunning_status) == ("failed", "card_declined", "retrying")
    assert reload(sub).status == "past_due"

    attach_card(customer, GOOD_CARD, now())  # paid at once through Stripe
    assert reload(renewal).status == "paid" and reload(sub).status == "active"

    refund = refund_invoice(renewal.pk, now(), amount=1000)
    assert refund.status == "succeeded" and refund.gateway_refund_id.startswith("re_")
    refund = refund_invoice(renewal.pk, now())
    assert refund.amount == 3990
    assert_no_violations()


def test_a_charge_made_before_a_crash_is_found_by_its_key_and_not_made_again(stripe_gateway):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    advance(utc(2027, 2, 10, 8))
    from assina.core.invoicing import draft_for_period
    from assina.invoices.services import InvoiceDraft, issue_invoices
    from assina.subscriptions.terms import terms_for

    with transaction.atomic():
        draft = draft_for_period(terms_for(sub), 1)
        invoice = issue_invoices([InvoiceDraft(
            customer_id=customer.pk, subscription_id=sub.pk, currency="BRL", billing_reason="subscription_cycle",
            at=draft.period.start, lines=list(draft.lines), period_start=draft.period.start, period_end=draft.period.end)])[0]
        [charge] = start_attempts([invoice], {customer.pk: reload(customer).default_payment_method})
    # Stripe charged the card; the answer was lost with the process.
    first = stripe_gateway.charge_many([ChargeRequest(charge.idempotency_key, charge.token, charge.amount, charge.currency,
                                                      charge.created_at, customer_ref=charge.customer_ref)])[0]
    assert first.succeeded
    assert stripe_gateway.find_charge(charge.idempotency_key).charge_id == first.charge_id

    reconcile_pending(now())
    reconcile_pending(now())

    attempt = PaymentAttempt.objects.get(idempotency_key=charge.idempotency_key)
    assert (attempt.status, attempt.gateway_charge_id) == ("succeeded", first.charge_id)
    intents = [pi for pi in stripe_gateway.client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
               if pi.metadata.to_dict().get("assina_idempotency_key") == charge.idempotency_key]
    assert len(intents) == 1  # charged once
    assert reload(invoice).status == "paid"

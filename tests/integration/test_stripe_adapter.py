"""The Stripe adapter end to end against localstripe (a Stripe-compatible server that runs
offline), started by this module on 127.0.0.1: customers, cards from SetupIntents and payment
method ids (never card numbers), off-session charges, declines feeding dunning, refunds, and the
reconciliation of a charge whose answer was lost."""

import pytest
from django.db import transaction
from django.test import override_settings
from factories import GOOD_CARD, advance, invoices_of, make_customer, make_plan, real_transactions, reload, start_clock, subscribe, utc
from localstripe_support import browser_confirm_setup, browser_payment_method, localstripe_server, stripe_settings
from payments_support import assert_no_violations

from assina.time import now
from assina.payments.gateway import CardError, ChargeRequest
from assina.payments.gateways import get_gateway
from assina.payments.methods import add_token, finish_setup, start_setup
from assina.payments.models import GatewayCustomer, PaymentAttempt, PaymentMethod
from assina.payments.refunds import refund_invoice
from assina.payments.services import CardNumberRefused, PaymentError, attach_card, reconcile_pending, start_attempts

pytestmark = real_transactions


@pytest.fixture
def localstripe_url():
    """A fresh server per test: keys (invoice ids) repeat between test databases."""
    with localstripe_server() as url:
        yield url


@pytest.fixture
def stripe_gateway(localstripe_url):
    with override_settings(**stripe_settings(localstripe_url)):
        yield get_gateway()


def test_cards_and_renewals_go_through_stripe_and_a_decline_enters_dunning(stripe_gateway, localstripe_url):
    assert stripe_gateway.name == "stripe"
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer(card=browser_payment_method(localstripe_url, GOOD_CARD))
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
        attach_card(customer, browser_payment_method(localstripe_url, "4000000000000002"), now())
    assert declined.value.decline_code == "card_declined"
    with pytest.raises(CardError):
        add_token(customer, "pm_unknown", now())

    attach_card(customer, browser_payment_method(localstripe_url, "4000000000000341"), now())  # attaches, then charges fail
    advance(utc(2027, 2, 10, 10))
    renewal = invoices_of(sub)[-1]
    failed = PaymentAttempt.objects.get(invoice=renewal)
    assert (failed.status, failed.decline_code, renewal.dunning_status) == ("failed", "card_declined", "retrying")
    assert reload(sub).status == "past_due"

    attach_card(customer, browser_payment_method(localstripe_url, GOOD_CARD), now())  # paid at once through Stripe
    assert reload(renewal).status == "paid" and reload(sub).status == "active"

    refund = refund_invoice(renewal.pk, now(), amount=1000)
    assert refund.status == "succeeded" and refund.gateway_refund_id.startswith("re_")
    refund = refund_invoice(renewal.pk, now())
    assert refund.amount == 3990
    assert_no_violations()


def test_a_charge_made_before_a_crash_is_found_by_its_key_and_not_made_again(stripe_gateway, localstripe_url):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer(card=browser_payment_method(localstripe_url, GOOD_CARD))
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


def test_a_card_number_is_refused_before_anything_reaches_stripe(stripe_gateway, monkeypatch):
    """The adapter has no raw-card call left; a number given anyway is refused by Assina itself."""
    start_clock(utc(2027, 1, 10, 9))
    customer = make_customer(card=None)

    def no_raw_card(*args, **kwargs):
        raise AssertionError("a card number was sent to Stripe")

    monkeypatch.setattr(type(stripe_gateway.client.v1.payment_methods), "create", no_raw_card)
    for number in (GOOD_CARD, "4242 4242 4242 4242", "4242-4242-4242-4242"):
        with pytest.raises(CardNumberRefused) as refused:
            attach_card(customer, number, now())
        assert number.replace(" ", "").replace("-", "")[:12] not in str(refused.value)  # not echoed back
        with pytest.raises(CardNumberRefused):
            add_token(customer, number, now())
    assert not hasattr(stripe_gateway, "attach_test_card") and not hasattr(stripe_gateway, "attach_card")
    assert not PaymentMethod.objects.exists() and not GatewayCustomer.objects.exists()


def test_a_setup_intent_confirmed_in_the_browser_adds_the_card_that_pays_the_open_invoice(stripe_gateway, localstripe_url):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer(card=None)
    sub = subscribe(customer, "pro")
    [invoice] = invoices_of(sub)
    assert (invoice.status, reload(sub).status) == ("open", "incomplete")

    # A declined card: Stripe.js shows Stripe's message; the setup never succeeded, so Assina keeps nothing.
    declined = start_setup(customer)
    status, body = browser_confirm_setup(localstripe_url, declined.client_secret, "4000000000000002")
    assert status == 402 and body["error"]["message"] == "Your card was declined."
    with pytest.raises(CardError, match="not confirmed"):
        finish_setup(customer, declined.id, now())
    assert not PaymentMethod.objects.exists()

    setup = start_setup(customer)
    remote = GatewayCustomer.objects.get(customer=customer).remote_id
    assert stripe_gateway.client.v1.setup_intents.retrieve(setup.id).customer == remote
    # Not confirmed yet: the browser's word that it was is not enough.
    with pytest.raises(CardError, match="not confirmed"):
        finish_setup(customer, setup.id, now())
    status, body = browser_confirm_setup(localstripe_url, setup.client_secret, GOOD_CARD)
    assert status == 200 and body["status"] == "succeeded"
    # Another customer cannot keep this customer's setup.
    other = make_customer(card=None)
    with pytest.raises(CardError, match="another customer"):
        finish_setup(other, setup.id, now())
    with pytest.raises(CardError, match="unknown card setup"):
        finish_setup(customer, "pm_" + setup.id, now())

    method = finish_setup(customer, setup.id, now())
    assert (method.gateway, method.last4, method.token) == ("stripe", "4242", body["payment_method"])
    assert stripe_gateway.client.v1.payment_methods.retrieve(method.token).customer == remote
    assert reload(customer).default_payment_method == method
    assert (reload(invoice).status, reload(sub).status) == ("paid", "active")
    with pytest.raises(PaymentError, match="already attached"):
        finish_setup(customer, setup.id, now())  # the same setup twice keeps one card
    assert PaymentMethod.objects.filter(customer=customer).count() == 1
    assert_no_violations()


def test_a_payment_method_of_another_stripe_customer_is_refused(stripe_gateway, localstripe_url):
    start_clock(utc(2027, 1, 10, 9))
    token = browser_payment_method(localstripe_url, GOOD_CARD)
    stranger = stripe_gateway.create_customer(email="x@example.com", name="X", reference="elsewhere")
    stripe_gateway.attach_to_customer(token, stranger)
    customer = make_customer(card=None)
    with pytest.raises(PaymentError, match="another customer"):
        attach_card(customer, token, now())
    assert not PaymentMethod.objects.exists()

"""The Stripe adapter, on the official ``stripe`` package: customers, payment methods,
SetupIntents, off-session PaymentIntents with idempotency keys, and refunds.

Cards reach Stripe from the customer's browser (Stripe.js confirms a SetupIntent this adapter
starts); the adapter only ever handles payment method ids, never a card number or a CVC.

Each charge is a PaymentIntent created and confirmed at once (``off_session``) with Assina's
idempotency key both as Stripe's ``Idempotency-Key`` (a repeated call returns the first
result) and in its metadata, so ``find_charge`` can find it again after a crash: by Stripe's
search API, or by listing recent PaymentIntents on servers without search (localstripe, used
by the tests). ``ASSINA_STRIPE_API_BASE`` points it at such a server.
"""

from __future__ import annotations

from typing import Sequence
from urllib.parse import urlsplit

import stripe
from django.conf import settings
from django.utils.translation import gettext_noop as N_

from .gateway import AttachedCard, CardError, CardSetup, ChargeRequest, ChargeResult, RefundRequest, RefundResult

KEY_FIELD = "assina_idempotency_key"
LIST_LIMIT = 1000  # PaymentIntents looked through when the server has no search


class StripeGateway:
    """Never sees a card number: cards come as payment method ids from Stripe.js (a SetupIntent
    confirmed in the customer's browser, or a ``pm_...`` an API client got from Stripe)."""

    name = "stripe"
    needs_customer = True
    collects_in_browser = True
    accepts_test_numbers = False

    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        options = {"base_addresses": {"api": api_base}} if api_base else {}
        self.client = stripe.StripeClient(api_key, max_network_retries=2, **options)

    # --- cards and customers --------------------------------------------------------------

    def retrieve_card(self, token: str) -> AttachedCard:
        try:
            return _attached(self.client.v1.payment_methods.retrieve(token))
        except stripe.InvalidRequestError:
            raise CardError(N_("unknown card token %(token)s"), "invalid_payment_method", token=repr(token)) from None

    @staticmethod
    def browser_fields() -> dict:
        """What the card page needs for Stripe.js: the publishable key, the script, and the only
        sources its Content-Security-Policy adds (Stripe's documented list for Elements; with
        localstripe, its own address)."""
        script = settings.ASSINA_STRIPE_JS_URL
        js_origin = _origin(script)
        scripts, frames = [js_origin], [js_origin]
        if js_origin == "https://js.stripe.com":
            scripts.append("https://*.js.stripe.com")
            frames += ["https://*.js.stripe.com", "https://hooks.stripe.com"]
        api = _origin(settings.ASSINA_STRIPE_API_BASE) or "https://api.stripe.com"
        return {"publishable_key": settings.ASSINA_STRIPE_PUBLISHABLE_KEY, "script": script,
                "sources": {"script-src": scripts, "frame-src": frames, "connect-src": [api]}}

    def start_card_setup(self, customer_ref: str, reference: str) -> CardSetup:
        """A SetupIntent for an off-session card of ``customer_ref``; the customer's browser
        confirms it with Stripe.js, so the card number goes from their browser to Stripe only."""
        try:
            intent = self.client.v1.setup_intents.create(params={
                "customer": customer_ref, "usage": "off_session", "payment_method_types": ["card"],
                "metadata": {"assina_customer": reference}})
        except stripe.StripeError:
            raise CardError(N_("the payment gateway could not be reached: try again in a few minutes"),
                            "gateway_unavailable") from None
        return CardSetup(intent.id, intent.client_secret)

    def finish_card_setup(self, setup_id: str, customer_ref: str, reference: str) -> AttachedCard:
        """The card a confirmed SetupIntent saved, after checking with Stripe (not the browser)
        that it succeeded and was made for this customer."""
        if not setup_id.startswith("seti_"):
            raise CardError(N_("unknown card setup %(setup)s"), "setup_intent_unexpected_state", setup=repr(setup_id))
        try:
            intent = self.client.v1.setup_intents.retrieve(setup_id)
        except stripe.InvalidRequestError:
            raise CardError(N_("unknown card setup %(setup)s"), "setup_intent_unexpected_state", setup=repr(setup_id)) from None
        except stripe.StripeError:
            raise CardError(N_("the payment gateway could not be reached: try again in a few minutes"),
                            "gateway_unavailable") from None
        if intent.customer != customer_ref or _metadata(intent).get("assina_customer") != reference:
            raise CardError(N_("this card setup belongs to another customer"), "setup_intent_unexpected_state")
        if intent.status != "succeeded" or not intent.payment_method:
            raise CardError(N_("the card was not confirmed (the card setup is %(status)s)"), "setup_intent_unexpected_state",
                            status=intent.status)
        pm = intent.payment_method
        return self.retrieve_card(pm if isinstance(pm, str) else pm.id)

    def detach_card(self, token: str) -> None:
        try:
            self.client.v1.payment_methods.detach(token)
        except stripe.InvalidRequestError:
            pass  # already detached at Stripe: the local removal goes on

    def create_customer(self, *, email: str, name: str, reference: str) -> str:
        customer = self.client.v1.customers.create(params={"email": email, "name": name or email,
                                                        "metadata": {"assina_customer": reference}},
                                                options={"idempotency_key": f"assina_customer_{reference}"})
        return customer.id

    def attach_to_customer(self, token: str, customer_ref: str) -> None:
        try:
            self.client.v1.payment_methods.attach(token, params={"customer": customer_ref})
        except stripe.CardError as exc:
            raise CardError(exc.user_message or N_("Your card was declined."), _code(exc)) from None
        except stripe.InvalidRequestError as exc:
            raise CardError(N_("the gateway refused this payment method: %(error)s"), "invalid_payment_method",
                            error=exc.user_message or str(exc)) from None

    # --- charges --------------------------------------------------------------------------

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        return [self._charge(r) for r in requests]

    def _charge(self, request: ChargeRequest) -> ChargeResult:
        params = {"amount": request.amount, "currency": request.currency.lower(), "payment_method": request.token,
                  "confirm": True, "off_session": True, "metadata": {KEY_FIELD: request.idempotency_key}}
        if request.customer_ref:
            params["customer"] = request.customer_ref
        try:
            intent = self.client.v1.payment_intents.create(params=params, options={"idempotency_key": request.idempotency_key})
        except stripe.CardError as exc:
            return ChargeResult(request.idempotency_key, False, charge_id=_intent_of(exc), decline_code=_code(exc),
                                message=exc.user_message or "")
        except stripe.InvalidRequestError as exc:
            return ChargeResult(request.idempotency_key, False, decline_code="invalid_payment_method",
                                message=exc.user_message or str(exc))
        return _result(request.idempotency_key, intent)

    def find_charge(self, idempotency_key: str) -> ChargeResult | None:
        intent = self._find_intent(idempotency_key)
        return _result(idempotency_key, intent) if intent is not None else None

    def _find_intent(self, key: str):
        try:
            found = self.client.v1.payment_intents.search(params={"query": f"metadata['{KEY_FIELD}']:'{key}'"})
            return found.data[0] if found.data else None
        except stripe.InvalidRequestError:
            pass  # a Stripe-compatible server without search
        seen = 0
        for intent in self.client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter():
            if _metadata(intent).get(KEY_FIELD) == key:
                return intent
            seen += 1
            if seen >= LIST_LIMIT:
                break
        return None

    def refund(self, request: RefundRequest) -> RefundResult:
        try:
            refund = self.client.v1.refunds.create(params={"payment_intent": request.charge_id, "amount": request.amount},
                                                options={"idempotency_key": request.idempotency_key})
        except stripe.InvalidRequestError as exc:
            return RefundResult(request.idempotency_key, False, message=exc.user_message or str(exc))
        return RefundResult(request.idempotency_key, refund.status in ("succeeded", "pending"), refund.id)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def _metadata(obj) -> dict:
    metadata = getattr(obj, "metadata", None)
    return metadata.to_dict() if metadata is not None else {}


def _attached(pm) -> AttachedCard:
    card = getattr(pm, "card", None)
    if getattr(pm, "type", "card") != "card" or card is None:
        raise CardError(N_("payment method %(token)s is not a card"), "invalid_payment_method", token=repr(pm.id))
    customer = pm.customer
    return AttachedCard(token=pm.id, brand=card.brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year,
                        customer_ref=(customer if isinstance(customer, str) else getattr(customer, "id", "")) or "")


def _code(exc: stripe.StripeError) -> str:
    error = exc.error
    return (getattr(error, "decline_code", None) or exc.code or "card_declined") if error else (exc.code or "card_declined")


def _intent_of(exc: stripe.StripeError) -> str:
    error = exc.error
    intent = getattr(error, "payment_intent", None) if error else None
    return getattr(intent, "id", "") if intent else ""


def _result(key: str, intent) -> ChargeResult:
    if intent.status == "succeeded":
        return ChargeResult(key, True, charge_id=intent.id)
    error = intent.last_payment_error
    code = (getattr(error, "decline_code", None) or getattr(error, "code", None) or "card_declined") if error else "card_declined"
    return ChargeResult(key, False, charge_id=intent.id, decline_code=code,
                        message=(getattr(error, "message", "") or "") if error else "")

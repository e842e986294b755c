"""The Stripe adapter, on the official ``stripe`` package: customers, payment methods,
off-session PaymentIntents with idempotency keys, and refunds.

Each charge is a PaymentIntent created and confirmed at once (``off_session``) with Assina's
idempotency key both as Stripe's ``Idempotency-Key`` (a repeated call returns the first
result) and in its metadata, so ``find_charge`` can find it again after a crash: by Stripe's
search API, or by listing recent PaymentIntents on servers without search (localstripe, used
by the tests). ``ASSINA_STRIPE_API_BASE`` points it at such a server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

import stripe
from django.utils.translation import gettext_noop as N_

from .gateway import AttachedCard, CardDetails, CardError, ChargeRequest, ChargeResult, RefundRequest, RefundResult

KEY_FIELD = "assina_idempotency_key"
LIST_LIMIT = 1000  # PaymentIntents looked through when the server has no search


class StripeGateway:
    name = "stripe"
    needs_customer = True

    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        options = {"base_addresses": {"api": api_base}} if api_base else {}
        self.client = stripe.StripeClient(api_key, max_network_retries=2, **options)

    # --- cards and customers --------------------------------------------------------------

    def attach_card(self, card: CardDetails, at: datetime) -> AttachedCard:
        try:
            pm = self.client.v1.payment_methods.create(params={"type": "card", "card": {
                "number": "".join(card.number.split()), "exp_month": card.exp_month, "exp_year": card.exp_year,
                "cvc": card.cvc or "123"}})
        except stripe.CardError as exc:
            raise CardError(exc.user_message or N_("Your card was declined."), _code(exc)) from None
        except stripe.InvalidRequestError as exc:
            raise CardError(N_("the card was refused by the gateway: %(error)s"), "invalid_number",
                            error=exc.user_message or str(exc)) from None
        return _attached(pm)

    def retrieve_card(self, token: str) -> AttachedCard:
        try:
            return _attached(self.client.v1.payment_methods.retrieve(token))
        except stripe.InvalidRequestError:
            raise CardError(N_("unknown card token %(token)s"), "invalid_payment_method", token=repr(token)) from None

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


def _metadata(obj) -> dict:
    metadata = getattr(obj, "metadata", None)
    return metadata.to_dict() if metadata is not None else {}


def _attached(pm) -> AttachedCard:
    card = pm.card
    return AttachedCard(token=pm.id, brand=card.brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year)


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

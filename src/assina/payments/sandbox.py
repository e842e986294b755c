"""The built-in sandbox gateway: Stripe's well-known test cards, without the internet.

Like Stripe, cards that decline do so already when they are attached (a zero-amount check),
except 4000000000000341, which attaches fine and then fails every charge. A card also fails
with ``expired_card`` once the charge time is past its expiry month.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Sequence

from django.db import transaction
from django.utils.translation import gettext_noop as N_

from assina.db import insert_rows

from .gateway import AttachedCard, CardDetails, CardError, ChargeRequest, ChargeResult
from .models import SandboxCard, SandboxCharge

# number -> (behaviour, decline code when attaching or charging)
TEST_CARDS: dict[str, tuple[str, str]] = {
    "4242424242424242": ("succeeds", ""),
    "5555555555554444": ("succeeds", ""),
    "378282246310005": ("succeeds", ""),
    "4000000000000002": ("declined_on_attach", "card_declined"),
    "4000000000009995": ("declined_on_attach", "insufficient_funds"),
    "4000000000000069": ("declined_on_attach", "expired_card"),
    "4000000000000127": ("declined_on_attach", "incorrect_cvc"),
    "4000000000000119": ("declined_on_attach", "processing_error"),
    "4000000000009987": ("declined_on_attach", "lost_card"),
    "4000000000009979": ("declined_on_attach", "stolen_card"),
    "4000000000000341": ("attaches_then_fails", "card_declined"),
}

CHARGE_FIELDS = ("idempotency_key", "charge_id", "token", "amount", "currency", "succeeded", "decline_code", "created_at")

# Stored in English with the attempt (like Stripe's messages); shown translated.
DECLINE_MESSAGES = {
    "card_declined": N_("Your card was declined."),
    "insufficient_funds": N_("Your card has insufficient funds."),
    "expired_card": N_("Your card has expired."),
    "incorrect_cvc": N_("Your card's security code is incorrect."),
    "processing_error": N_("An error occurred while processing your card. Try again in a little bit."),
    "lost_card": N_("Your card was declined."),
    "stolen_card": N_("Your card was declined."),
}
INVALID_PAYMENT_METHOD = N_("invalid payment method")


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    return "unknown"


def _expired(exp_month: int, exp_year: int, at: datetime) -> bool:
    return (at.year, at.month) > (exp_year, exp_month)


class SandboxGateway:
    name = "sandbox"

    def attach_card(self, card: CardDetails, at: datetime) -> AttachedCard:
        number = "".join(card.number.split())
        if number not in TEST_CARDS:
            raise CardError(N_("unknown sandbox card %(number)s: use a test card such as 4242424242424242"),
                            "invalid_number", number=repr(number))
        if not 1 <= card.exp_month <= 12:
            raise CardError(N_("the expiry month must be between 1 and 12"), "invalid_expiry_month")
        if _expired(card.exp_month, card.exp_year, at):
            raise CardError(DECLINE_MESSAGES["expired_card"], "expired_card")
        behaviour, code = TEST_CARDS[number]
        if behaviour == "declined_on_attach":
            raise CardError(DECLINE_MESSAGES[code], code)
        token = "pm_sandbox_" + secrets.token_hex(12)
        SandboxCard.objects.create(
            token=token, behaviour=behaviour, brand=card_brand(number), last4=number[-4:],
            exp_month=card.exp_month, exp_year=card.exp_year,
        )
        return AttachedCard(token=token, brand=card_brand(number), last4=number[-4:], exp_month=card.exp_month, exp_year=card.exp_year)

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        """Charge in one round trip; a key seen before returns its first result (no new charge)."""
        if not requests:
            return []
        keys = [r.idempotency_key for r in requests]
        with transaction.atomic():
            known = {row[0]: row for row in SandboxCharge.objects.filter(idempotency_key__in_list=keys).values_list(*CHARGE_FIELDS)}
            cards = {token: (behaviour, month, year) for token, behaviour, month, year in
                     SandboxCard.objects.filter(token__in_list=list({r.token for r in requests}))
                     .values_list("token", "behaviour", "exp_month", "exp_year")}
            new_rows = []
            for request in requests:
                if request.idempotency_key in known:
                    continue
                card = cards.get(request.token)
                if card is None:
                    code = "invalid_payment_method"
                elif card[0] == "attaches_then_fails":
                    code = "card_declined"
                elif _expired(card[1], card[2], request.at):
                    code = "expired_card"
                else:
                    code = ""
                row = (request.idempotency_key, "ch_sandbox_" + secrets.token_hex(12), request.token, request.amount,
                       request.currency, not code, code, request.at)
                known[request.idempotency_key] = row
                new_rows.append(row)
            insert_rows(SandboxCharge, CHARGE_FIELDS, new_rows)
        return [self._result(known[key]) for key in keys]

    def find_charge(self, idempotency_key: str) -> ChargeResult | None:
        row = SandboxCharge.objects.filter(idempotency_key=idempotency_key).values_list(*CHARGE_FIELDS).first()
        return self._result(row) if row else None

    @staticmethod
    def _result(row: tuple) -> ChargeResult:
        key, charge_id, _token, _amount, _currency, succeeded, code, _at = row
        return ChargeResult(
            idempotency_key=key, succeeded=succeeded, charge_id=charge_id, decline_code=code,
            message=DECLINE_MESSAGES.get(code, INVALID_PAYMENT_METHOD if code else ""),
        )


def get_gateway() -> SandboxGateway:
    # The Stripe adapter arrives with the payments issue; until then every database uses the sandbox.
    return SandboxGateway()

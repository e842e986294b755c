"""The built-in sandbox gateway: Stripe's well-known test cards, without the internet.

Like Stripe, cards that decline do so already when they are attached (a zero-amount check),
except 4000000000000341, which attaches fine and then fails every charge. A card also fails
with ``expired_card`` once the charge time is past its expiry month.

``schedule_card`` makes an attached card start failing with any decline code at a given time,
or recover at another — a card that runs out of funds and is topped up — so dunning scenarios
can model every decline code at charge time.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Sequence

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop as N_

from assina.db import Many, insert_one, insert_rows

from .gateway import AttachedCard, CardDetails, CardError, ChargeRequest, ChargeResult, RefundRequest, RefundResult
from .models import SandboxCard, SandboxCharge, SandboxRefund
from .queries import sandbox_cards

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
    "fraudulent": N_("Your card was declined."),
    "do_not_honor": N_("Your card was declined."),
    "generic_decline": N_("Your card was declined."),
}
# Codes ``schedule_card`` accepts (what a charge can answer), besides "" (succeeds again).
CHARGE_DECLINE_CODES = tuple(DECLINE_MESSAGES)
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
    """Plays a provider inside the database. Its test form takes card numbers, but only the
    documented test cards above: a real card number is refused (and live mode refuses this
    gateway altogether)."""

    name = "sandbox"
    needs_customer = False
    collects_in_browser = False
    accepts_test_numbers = True

    def attach_test_card(self, card: CardDetails, at: datetime) -> AttachedCard:
        number = "".join(card.number.split())
        if number not in TEST_CARDS:
            # Only the last 4 digits are echoed: a real number typed here goes no further.
            raise CardError(N_("the card ending in %(last4)s is not a sandbox test card: use a test card such as "
                               "4242424242424242"), "invalid_number", last4=number[-4:])
        if not 1 <= card.exp_month <= 12:
            raise CardError(N_("the expiry month must be between 1 and 12"), "invalid_expiry_month")
        if _expired(card.exp_month, card.exp_year, at):
            raise CardError(DECLINE_MESSAGES["expired_card"], "expired_card")
        behaviour, code = TEST_CARDS[number]
        if behaviour == "declined_on_attach":
            raise CardError(DECLINE_MESSAGES[code], code)
        token = "pm_sandbox_" + secrets.token_hex(12)
        insert_one(SandboxCard(token=token, behaviour=behaviour, brand=card_brand(number), last4=number[-4:],
                               exp_month=card.exp_month, exp_year=card.exp_year))
        return AttachedCard(token=token, brand=card_brand(number), last4=number[-4:], exp_month=card.exp_month, exp_year=card.exp_year)

    def retrieve_card(self, token: str) -> AttachedCard:
        row = SandboxCard.objects.filter(token=token, detached=False).values_list("brand", "last4", "exp_month", "exp_year").first()
        if row is None:
            raise CardError(N_("unknown card token %(token)s"), "invalid_payment_method", token=repr(token))
        return AttachedCard(token, *row)

    def detach_card(self, token: str) -> None:
        SandboxCard.objects.filter(token=token).update(detached=True)

    def create_customer(self, *, email: str, name: str, reference: str) -> str:
        return f"cus_sandbox_{reference}"

    def attach_to_customer(self, token: str, customer_ref: str) -> None:
        return None

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        """Charge in one round trip; a key seen before returns its first result (no new charge)."""
        if not requests:
            return []
        try:
            return self._charge_many(requests)
        except IntegrityError:
            # Another worker charged one of these keys at the same moment (a reconciling worker
            # and the one that wrote the attempt): its charge stands, read it back.
            return self._charge_many(requests)

    def _charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        keys = [r.idempotency_key for r in requests]
        # The cards as they are before the charge is written, read outside the write
        # transaction, as a remote gateway reads them before it records a charge.
        cards = sandbox_cards({r.token for r in requests})
        # One draw of randomness for the batch, cut into a 24-hex-digit charge id per request.
        random = secrets.token_hex(12 * len(requests))
        rows = [(r.idempotency_key, "ch_sandbox_" + random[24 * i:24 * i + 24], r.token, r.amount, r.currency,
                 not code, code, r.at)
                for i, r in enumerate(requests) for code in (_charge_code(cards.get(r.token), r.at),)]
        try:
            # The common case: every key is new. The unique key index tells when one is not,
            # without reading the keys first.
            with transaction.atomic():
                insert_rows(SandboxCharge, CHARGE_FIELDS, rows)
            known = {row[0]: row for row in rows}
        except IntegrityError:
            # A key seen before (a retried call) returns its first result, not a new charge.
            with transaction.atomic():
                known = {row[0]: row for row in SandboxCharge.objects.filter(idempotency_key__in_list=Many(keys))
                         .values_list(*CHARGE_FIELDS)}
                new_rows = []
                for row in rows:
                    if row[0] not in known:
                        known[row[0]] = row
                        new_rows.append(row)
                insert_rows(SandboxCharge, CHARGE_FIELDS, new_rows)
        return [self._result(known[key]) for key in keys]

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund (part of) a successful charge; a key seen before returns its first result."""
        with transaction.atomic():
            seen = SandboxRefund.objects.filter(idempotency_key=request.idempotency_key).first()
            if seen is not None:
                return RefundResult(request.idempotency_key, True, seen.refund_id)
            charge = SandboxCharge.objects.select_for_update().filter(charge_id=request.charge_id, succeeded=True).first()
            if charge is None:
                return RefundResult(request.idempotency_key, False, message=N_("no successful charge to refund"))
            refunded = sum(SandboxRefund.objects.filter(charge_id=request.charge_id).values_list("amount", flat=True))
            if request.amount <= 0 or refunded + request.amount > charge.amount:
                return RefundResult(request.idempotency_key, False, message=N_("the refund exceeds what is left of the charge"))
            refund = SandboxRefund.objects.create(idempotency_key=request.idempotency_key, refund_id="re_sandbox_" + secrets.token_hex(12),
                                                  charge_id=request.charge_id, amount=request.amount, currency=request.currency,
                                                  created_at=request.at)
        return RefundResult(request.idempotency_key, True, refund.refund_id)

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


def _charge_code(card: tuple | None, at: datetime) -> str:
    """The decline code of a charge at ``at`` ("" when it succeeds)."""
    if card is None or card[4]:
        return "invalid_payment_method"
    behaviour, month, year, schedule, _detached = card
    if _expired(month, year, at):
        return "expired_card"
    code = "card_declined" if behaviour == "attaches_then_fails" else ""
    for when, scheduled in sorted(schedule or ()):
        if datetime.fromisoformat(when) <= at:
            code = scheduled
    return code


def schedule_card(token: str, at: datetime, decline_code: str = "") -> None:
    """From ``at`` on, charges to the sandbox card ``token`` fail with ``decline_code``, or
    succeed again when it is empty (the card was topped up, the bank lifted a block)."""
    from django.utils.translation import gettext as _

    from assina.core.errors import DomainError

    if decline_code and decline_code not in CHARGE_DECLINE_CODES:
        raise DomainError(_("unknown decline code %(code)s (use one of: %(codes)s)")
                          % {"code": repr(decline_code), "codes": ", ".join(CHARGE_DECLINE_CODES)})
    with transaction.atomic():
        card = SandboxCard.objects.select_for_update().filter(token=token).first()
        if card is None:
            raise DomainError(_("unknown card token %(token)s") % {"token": repr(token)})
        card.schedule = sorted([*card.schedule, [at.isoformat(), decline_code]])
        card.save(update_fields=["schedule"])

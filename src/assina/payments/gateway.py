"""The boundary to payment providers: plain dataclasses in and out (Saleor-style).

Adapters translate these to a provider's API. Every charge carries an idempotency key so a
retried call can never charge twice, and ``find_charge`` lets a restarted worker learn what
happened to a call whose answer it never received.

Card numbers never cross this boundary for a real provider: the customer types them into the
provider's own fields in their browser (Stripe.js), which gives Assina a payment method id; a
gateway with ``collects_in_browser`` offers ``start_card_setup``/``finish_card_setup`` for that
(a Stripe SetupIntent). Only the sandbox gateway (``accepts_test_numbers``) takes a card number,
and only its documented test cards (``SandboxGateway.attach_test_card``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Sequence

from assina.core.errors import DomainError


class CardError(DomainError):
    """The gateway refused a card. The message is an English template (see ``DomainError``)."""

    def __init__(self, message: str, decline_code: str, /, **params: object):
        super().__init__(message, **params)
        self.decline_code = decline_code


@dataclass(frozen=True, slots=True)
class CardDetails:
    number: str
    exp_month: int
    exp_year: int
    cvc: str = ""


@dataclass(frozen=True, slots=True)
class AttachedCard:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    # The gateway customer the card is already attached to ("" when none): a SetupIntent
    # attaches it at Stripe; a card attached to another customer there is refused.
    customer_ref: str = ""


@dataclass(frozen=True, slots=True)
class CardSetup:
    """A card setup started at the gateway (a Stripe SetupIntent): the browser confirms it with
    ``client_secret`` in the gateway's own fields, then hands back ``id``."""

    id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    idempotency_key: str
    token: str
    amount: int
    currency: str
    at: datetime
    description: str = ""
    customer_ref: str = ""  # the customer's id at the gateway (Stripe charges a customer's card)


@dataclass(frozen=True, slots=True)
class ChargeResult:
    idempotency_key: str
    succeeded: bool
    charge_id: str = ""
    decline_code: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class RefundRequest:
    idempotency_key: str
    charge_id: str
    amount: int
    currency: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundResult:
    idempotency_key: str
    succeeded: bool
    refund_id: str = ""
    message: str = ""


class PaymentGateway(Protocol):
    """What Assina needs of a payment provider. ``needs_customer``: cards are kept on a
    customer at the provider (Stripe), so Assina creates one there and passes its id.
    ``collects_in_browser``: cards are added through ``start_card_setup`` and the provider's
    own fields. ``accepts_test_numbers``: the sandbox, whose test form takes its test cards."""

    name: str
    needs_customer: bool
    collects_in_browser: bool
    accepts_test_numbers: bool

    def retrieve_card(self, token: str) -> AttachedCard:
        """A card tokenized elsewhere (the provider's own fields); CardError when unknown."""
        ...

    def start_card_setup(self, customer_ref: str, reference: str) -> CardSetup:
        """Start adding a card for the gateway customer ``customer_ref`` (``collects_in_browser`` only)."""
        ...

    def finish_card_setup(self, setup_id: str, customer_ref: str, reference: str) -> AttachedCard:
        """The card of a setup the browser confirmed; CardError unless it succeeded for this customer."""
        ...

    def detach_card(self, token: str) -> None: ...

    def create_customer(self, *, email: str, name: str, reference: str) -> str: ...

    def attach_to_customer(self, token: str, customer_ref: str) -> None: ...

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]: ...

    def find_charge(self, idempotency_key: str) -> ChargeResult | None: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

"""The boundary to payment providers: plain dataclasses in and out (Saleor-style).

Adapters translate these to a provider's API. Every charge carries an idempotency key so a
retried call can never charge twice, and ``find_charge`` lets a restarted worker learn what
happened to a call whose answer it never received.
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
    customer at the provider (Stripe), so Assina creates one there and passes its id."""

    name: str
    needs_customer: bool

    def attach_card(self, card: CardDetails, at: datetime) -> AttachedCard: ...

    def retrieve_card(self, token: str) -> AttachedCard:
        """A card tokenized elsewhere (the provider's own form); CardError when unknown."""
        ...

    def detach_card(self, token: str) -> None: ...

    def create_customer(self, *, email: str, name: str, reference: str) -> str: ...

    def attach_to_customer(self, token: str, customer_ref: str) -> None: ...

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]: ...

    def find_charge(self, idempotency_key: str) -> ChargeResult | None: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

"""What the invoices app states: the durable events it records, and the facts it publishes to
the apps above it (``assina.dispatch``).

Each fact is a frozen dataclass published inside the transaction that made the change; the app
above reacts to it in that same transaction (invoices never imports payments or subscriptions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Invoice

# The types of the events this app records in the durable log (``assina.events``).
EVENT_TYPES: tuple[str, ...] = (
    "invoice.created",
    "invoice.paid",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "credit_note.created",
)


@dataclass(frozen=True)
class InvoiceSettled:
    """An invoice of a subscription was settled other than by a card payment (a credit note,
    the customer's credit balance): the subscription may have nothing left to pay."""

    invoice_id: int
    subscription_id: int
    at: datetime


@dataclass(frozen=True)
class InvoiceChanging:
    """An invoice is about to be voided, written off or credited (its row is locked). A
    handler that must keep it as it is raises a ``DomainError``, which refuses the change (a
    payment in flight may already have charged the card)."""

    invoice: Invoice

"""What the payments app states: the durable events it records, and the facts it publishes to
the apps above it (``assina.dispatch``).

Each fact is a frozen dataclass, published inside the transaction that made the change; the
app above reacts to it in that same transaction (payments never imports subscriptions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from assina.invoices.models import Invoice

# The types of the events this app records in the durable log (``assina.events``). It also
# records ``invoice.paid`` and ``credit_note.created`` (a card payment, a refund), which the
# invoices app declares.
EVENT_TYPES: tuple[str, ...] = (
    "payment_method.attached",
    "payment_method.default_changed",
    "payment_method.detached",
    "payment_method.replaced",
    "payment.failed",
    "payment.retry_scheduled",
    "payment.credited_to_balance",
    "invoice.recovered",
    "invoice.credit_applied",
    "invoice.dunning_exhausted",
    "refund.succeeded",
    "refund.failed",
    "dunning_policy.updated",
)


@dataclass(frozen=True)
class CardDetached:
    """A customer's card was removed: whatever used it must stop doing so (subscriptions fall
    back to the customer's default)."""

    method_id: int


@dataclass(frozen=True)
class CardReplaced:
    """A new card takes the place of an old one on everything that used it (the old one is
    detached right after, in its own transaction)."""

    old_method_id: int
    new_method_id: int


class PaymentOutcome(NamedTuple):
    """One payment result as applied to its invoice (a named tuple: the billing run makes one
    per renewal)."""

    subscription_id: int | None
    invoice_id: int
    succeeded: bool
    paid: bool  # the result paid the invoice (a success on an invoice closed meanwhile did not)
    entered_dunning: bool  # the failure left the invoice open, with retries or a final action ahead
    grace_until: datetime | None  # when it entered dunning: the end of the policy's grace period
    at: datetime
    # This result's durable events (rows in ``assina.events`` EVENT_FIELDS order), written in
    # one INSERT after the reactions: a reaction appends its own events here, after the
    # payment's, so the log reads in the order things happened.
    events: list[tuple]


@dataclass(frozen=True)
class PaymentResultsApplied:
    """A batch of payment results was applied to their attempts and invoices (one fact per
    batch: the billing run applies a thousand at once). Published before the invoices are
    written, so a reaction locks what it changes before the invoice rows are."""

    outcomes: Sequence[PaymentOutcome]


@dataclass(frozen=True)
class DunningExhausted:
    """The dunning schedule of a subscription's invoice is over: its final action (``action``,
    one of ``assina.core.dunning.FINAL_ACTION_CODES``) is due on the subscription. The invoice
    part is done (dunning status, written off when the action says so)."""

    invoice: Invoice
    action: str
    at: datetime
    attempts: int  # how many payment attempts the invoice had

    def event_data(self, final_action: str, previous_status: str | None, status: str | None) -> dict:
        """What the ``*.dunning_exhausted`` event carries, given what was done to the subscription."""
        return exhausted_data(self.invoice, final_action, previous_status, status, self.attempts)


def exhausted_data(invoice: Invoice, final_action: str, previous_status: str | None, status: str | None,
                   attempts: int) -> dict:
    return {"invoice": invoice.pk, "number": invoice.number, "amount_due": invoice.amount_due,
            "currency": invoice.currency, "final_action": final_action, "subscription": invoice.subscription_id,
            "previous_status": previous_status, "status": status, "attempts": attempts,
            "failed_since": invoice.dunning_started_at.isoformat() if invoice.dunning_started_at else None}

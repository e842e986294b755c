"""What a payment result does to an invoice and to its subscription's status.

- A successful charge pays an open or written-off invoice. A charge that lands on an invoice
  closed meanwhile (void, or paid another way) pays nothing: the money is the customer's, kept
  as credit balance.
- A failed charge of an open invoice puts it in dunning (see ``assina.core.dunning``), unless
  it is the first invoice of a new subscription: that one is not retried, the subscription
  expires 23 hours after it was created (Stripe's rule) and the invoice is voided.
- A subscription waiting for a payment (past due, incomplete, unpaid) becomes active when a
  payment leaves none of its invoices open; an active or trialing one becomes past due when a
  failure puts one of its invoices in dunning (it keeps access until the grace period ends).

These run once per payment result, that is once per renewal in the billing run: plain
comparisons on status strings, nothing built.
"""

from __future__ import annotations

from .invoice_states import InvoiceStatus
from .states import AWAITING_PAYMENT, SubscriptionStatus

_OPEN = InvoiceStatus.OPEN.value
_PAYABLE = frozenset({InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value})
_AWAITING_PAYMENT = frozenset(s.value for s in AWAITING_PAYMENT)
_GOES_PAST_DUE = frozenset({SubscriptionStatus.ACTIVE.value, SubscriptionStatus.TRIALING.value})

# The billing reason of a subscription's first invoice (``Invoice.Reason.SUBSCRIPTION_CREATE``).
FIRST_INVOICE_REASON = "subscription_create"


def success_pays(invoice_status: str) -> bool:
    """Whether a successful charge pays an invoice in this status (else the money goes to the
    customer's credit balance: the invoice was closed while the charge was in flight)."""
    return invoice_status in _PAYABLE


def failure_enters_dunning(invoice_status: str, billing_reason: str, has_subscription: bool) -> bool:
    """Whether a failed charge puts the invoice in dunning (retries, then the final action).

    An open first invoice of a subscription is never retried: its subscription is incomplete
    (an open first invoice exists only while its subscription is: paying it, crediting it in
    full or ending the subscription all close it), and it expires instead.
    """
    return invoice_status == _OPEN and not (has_subscription and billing_reason == FIRST_INVOICE_REASON)


def reactivated_by_payment(subscription_status: str) -> bool:
    """Whether a subscription in this status becomes active once none of its invoices is open."""
    return subscription_status in _AWAITING_PAYMENT


def past_due_after_failure(subscription_status: str, entered_dunning: bool) -> bool:
    """Whether a failed charge makes a subscription in this status past due."""
    return entered_dunning and subscription_status in _GOES_PAST_DUE

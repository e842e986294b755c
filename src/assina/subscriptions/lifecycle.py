"""Shared steps of the subscription use cases: status changes, billing a period at once, access."""

from __future__ import annotations

from datetime import datetime

from assina.core.invoicing import DraftLine, draft_for_period
from assina.core.states import SubscriptionStatus, transition
from assina.core.states import has_access as status_has_access
from assina.events.services import record
from assina.invoices.models import Invoice
from assina.invoices.services import InvoiceDraft, issue_invoices, pending_lines
from assina.payments.models import PaymentAttempt, PaymentMethod
from assina.payments.services import start_attempts

from .models import Subscription
from .terms import terms_for


def set_status(sub: Subscription, target: SubscriptionStatus, at: datetime, reason: str) -> None:
    previous = sub.status
    sub.status = transition(SubscriptionStatus(previous), target).value
    record("subscription.updated", sub, at, {"status": sub.status, "previous_status": previous, "reason": reason})


def customer_method(sub: Subscription) -> PaymentMethod | None:
    if sub.payment_method_id:
        return sub.payment_method
    return sub.customer.default_payment_method


def bill_period_now(sub: Subscription, index: int, reason: str, at: datetime,
                    extra_lines: list[DraftLine] | None = None, terms=None, *,
                    new: bool = False) -> tuple[Invoice, list[PaymentAttempt]]:
    """Issue the invoice of period ``index`` (plus carried items) and write its pending attempt.

    Runs in the caller's transaction; the caller collects the attempts after committing.
    ``terms``: ``sub``'s current terms when the caller has built them already. ``new``: ``sub``
    was inserted in this transaction, so no item can be carried over to it yet (none is read).
    """
    terms = terms or terms_for(sub)
    draft = draft_for_period(terms, index)
    carried, carried_ids = ([], []) if new else pending_lines(sub.pk)
    # Written with its first attempt counted, and the attempt carries the invoice as written
    # (``apply_results`` then reads neither back).
    invoice = issue_invoices([InvoiceDraft(
        customer_id=sub.customer_id, subscription_id=sub.pk, currency=sub.currency, billing_reason=reason, at=at,
        lines=list(draft.lines) + (extra_lines or []) + carried, period_start=draft.period.start,
        period_end=draft.period.end, pending_item_ids=carried_ids, locale=sub.customer.locale,
    )], first_attempt=True)[0]
    attempts = start_attempts([invoice], {sub.customer_id: customer_method(sub)}, at, counted=True)
    return invoice, attempts


def has_access(sub: Subscription, at: datetime) -> bool:
    """Whether the customer may use the product at ``at``: trialing, active, or past due
    within the dunning grace period."""
    return status_has_access(sub.status, sub.grace_until, at)

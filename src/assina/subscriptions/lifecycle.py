"""Shared steps of the subscription use cases: status changes, next work time, first invoices."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Min

from assina.core.invoicing import DraftLine, draft_for_period
from assina.core.states import SubscriptionStatus, transition
from assina.db import Many
from assina.events.services import record
from assina.invoices.models import Invoice
from assina.invoices.services import InvoiceDraft, issue_invoices, pending_lines
from assina.payments.models import PaymentAttempt, PaymentMethod
from assina.payments.services import start_attempts

from .models import ScheduledChange, Subscription
from .terms import terms_for

# Stripe gives a subscription whose first payment failed 23 hours before it expires.
INCOMPLETE_EXPIRES_AFTER_HOURS = 23


def next_action_at(sub: Subscription) -> datetime | None:
    """When the worker must next look at this subscription (None: never again)."""
    return next_action_times([sub])[sub.pk]


# Statuses whose next action is the end of the current period unless a change comes first.
_PERIOD_END_STATUSES = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.TRIALING})


def next_action_times(subs: list[Subscription]) -> dict[int, datetime | None]:
    """``next_action_at`` of many subscriptions, with one query for their pending changes (a
    billing batch with many declines would otherwise ask one subscription at a time)."""
    running = [s.pk for s in subs if SubscriptionStatus(s.status) in _PERIOD_END_STATUSES]
    first_change = dict(
        ScheduledChange.objects.filter(subscription_id__in_list=Many(running), status=ScheduledChange.Status.PENDING)
        .values("subscription_id").annotate(first=Min("effective_at")).values_list("subscription_id", "first")
    ) if running else {}
    return {s.pk: _next_action(s, first_change.get(s.pk)) for s in subs}


def _next_action(sub: Subscription, change_at: datetime | None) -> datetime | None:
    status = SubscriptionStatus(sub.status)
    if status in (SubscriptionStatus.CANCELED, SubscriptionStatus.UNPAID):
        # Unpaid: no new periods until the open invoice is paid (then billing goes on from the
        # period that was not paid, like Stripe's unpaid subscriptions that keep invoicing).
        return None
    if status is SubscriptionStatus.PAUSED:
        return sub.resumes_at
    if status is SubscriptionStatus.INCOMPLETE:
        return sub.created_at + timedelta(hours=INCOMPLETE_EXPIRES_AFTER_HOURS)
    return sub.current_period_end if change_at is None else min(sub.current_period_end, change_at)


def set_status(sub: Subscription, target: SubscriptionStatus, at: datetime, reason: str) -> None:
    previous = sub.status
    sub.status = transition(SubscriptionStatus(previous), target).value
    record("subscription.updated", sub, at, {"status": sub.status, "previous_status": previous, "reason": reason})


def customer_method(sub: Subscription) -> PaymentMethod | None:
    if sub.payment_method_id:
        return sub.payment_method
    return sub.customer.default_payment_method


def bill_period_now(sub: Subscription, index: int, reason: str, at: datetime,
                    extra_lines: list[DraftLine] | None = None) -> tuple[Invoice, list[PaymentAttempt]]:
    """Issue the invoice of period ``index`` (plus carried items) and write its pending attempt.

    Runs in the caller's transaction; the caller collects the attempts after committing.
    """
    terms = terms_for(sub)
    draft = draft_for_period(terms, index)
    carried, carried_ids = pending_lines(sub.pk)
    invoice = issue_invoices([InvoiceDraft(
        customer_id=sub.customer_id, subscription_id=sub.pk, currency=sub.currency, billing_reason=reason, at=at,
        lines=list(draft.lines) + (extra_lines or []) + carried, period_start=draft.period.start,
        period_end=draft.period.end, pending_item_ids=carried_ids, locale=sub.customer.locale,
    )])[0]
    attempts = start_attempts([invoice], {sub.customer_id: customer_method(sub)}, at)
    return invoice, attempts


def reactivate_if_settled(subscription_id: int, at: datetime) -> None:
    """A past-due or incomplete subscription whose invoices are all settled becomes active
    (called when an invoice is settled other than by a card payment, e.g. by a credit note)."""
    sub = Subscription.objects.select_for_update(of=("self",)).get(pk=subscription_id)
    if sub.status not in (SubscriptionStatus.PAST_DUE.value, SubscriptionStatus.INCOMPLETE.value,
                          SubscriptionStatus.UNPAID.value):
        return
    if Invoice.objects.filter(subscription_id=sub.pk, status="open").exists():
        return
    set_status(sub, SubscriptionStatus.ACTIVE, at, "invoice_settled")
    sub.grace_until = None
    sub.next_action_at = next_action_at(sub)
    sub.save(update_fields=["status", "grace_until", "next_action_at"])


def has_access(sub: Subscription, at: datetime) -> bool:
    """Whether the customer may use the product at ``at``: trialing, active, or past due
    within the dunning grace period."""
    from assina.core.states import has_access as status_has_access

    return status_has_access(sub.status, sub.grace_until, at)

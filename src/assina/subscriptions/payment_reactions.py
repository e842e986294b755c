"""Subscriptions follow what happens to their invoices' money (``payments.events`` and
``invoices.events``), in the transaction that made it happen:

- payment results applied (one fact per batch): a subscription waiting for a payment becomes
  active when none of its invoices is left open; an active or trialing one becomes past due,
  with the dunning policy's grace period, when a failure puts its invoice in dunning;
- an invoice settled by credit (a credit note, the credit balance): the same reactivation;
- a dunning schedule exhausted: its final action on a past-due subscription (cancel at the end
  of the period, mark unpaid, or pause).

The rules are ``assina.core.payment_results`` and ``assina.core.dunning``'s. The first invoice
of a new subscription is never put in dunning: payments tells it by its billing reason alone,
since an open first invoice exists only while its subscription is incomplete (the
subscription leaves that status only by that invoice being paid or settled, or by ending,
which voids it first); ``assina check`` verifies it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import DEFAULT_DB_ALIAS

from assina.core.dunning import CANCEL, UNPAID, final_action_applies
from assina.core.invoice_states import InvoiceStatus
from assina.core.payment_results import past_due_after_failure, reactivated_by_payment
from assina.core.states import SubscriptionStatus, transition
from assina.dispatch import on
from assina.events.services import record
from assina.invoices.events import InvoiceSettled
from assina.invoices.models import Invoice
from assina.payments.events import DunningExhausted, PaymentResultsApplied

from . import store
from .lifecycle import set_status
from .models import ScheduledChange, Subscription
from .queries import FOLLOWED_FIELDS, open_invoice_ids, subscriptions_to_follow
from .services import end_at_period_end

_OPEN = InvoiceStatus.OPEN.value


def follow_payment_results(fact: PaymentResultsApplied) -> None:
    """Change the status of the subscriptions the batch's results concern, in the order of the
    results; each change's event goes after its result's own events.

    Only subscriptions whose status may change are locked and loaded, in one query: those with
    a failed payment, and those with a successful one that are not active (a renewal paid by an
    active subscription, the common case, touches no subscription row)."""
    outcomes = fact.outcomes
    failed = {o.subscription_id for o in outcomes if not o.succeeded}
    paid = {o.subscription_id for o in outcomes} - failed
    # Instances as ``.only(*FOLLOWED_FIELDS)`` builds them (``store`` writes model instances).
    subs = {row[0]: Subscription.from_db(DEFAULT_DB_ALIAS, FOLLOWED_FIELDS, row)
            for row in subscriptions_to_follow(failed - {None}, paid - {None})}
    if not subs:
        return
    settled: set[int] = set()  # the batch's invoices paid so far, in the order of the results
    changed: dict[int, Subscription] = {}
    for outcome in outcomes:
        if outcome.paid:
            settled.add(outcome.invoice_id)
        sub = subs.get(outcome.subscription_id)
        if sub is None:
            continue
        if outcome.succeeded:
            if reactivated_by_payment(sub.status) and not _others_open(sub.pk, outcome.invoice_id, settled):
                _set_status(sub, SubscriptionStatus.ACTIVE, outcome.at, outcome.events, "payment_succeeded")
                sub.grace_until = None
                changed[sub.pk] = sub
        elif past_due_after_failure(sub.status, outcome.entered_dunning):
            _set_status(sub, SubscriptionStatus.PAST_DUE, outcome.at, outcome.events, "payment_failed")
            sub.grace_until = outcome.grace_until
            changed[sub.pk] = sub
    store.save_many(changed.values(), ["status", "grace_until"])


def _others_open(sub_id: int, paid_id: int, settled: set[int]) -> bool:
    """Whether the subscription still has an open invoice besides ``paid_id``, counting those
    the batch has paid so far as paid (their rows are written after the reaction)."""
    return any(pk not in settled for pk in open_invoice_ids(sub_id, paid_id))


def _set_status(sub: Subscription, target: SubscriptionStatus, at: datetime, events: list[tuple], reason: str) -> None:
    """``lifecycle.set_status``, with the event added to the batch's rows instead of recorded."""
    previous = sub.status
    sub.status = transition(SubscriptionStatus(previous), target).value
    events.append(("subscription.updated", at, sub.customer_id, "subscription", sub.pk,
                   {"status": sub.status, "previous_status": previous, "reason": reason}))


def reactivate_if_settled(fact: InvoiceSettled) -> None:
    """A subscription waiting for a payment whose invoices are all settled becomes active
    (an invoice settled other than by a card payment, e.g. by a credit note)."""
    sub = Subscription.objects.select_for_update(of=("self",)).get(pk=fact.subscription_id)
    if not reactivated_by_payment(sub.status):
        return
    if Invoice.objects.filter(subscription_id=sub.pk, status=_OPEN).exists():
        return
    set_status(sub, SubscriptionStatus.ACTIVE, fact.at, "invoice_settled")
    sub.grace_until = None
    store.save(sub, ["status", "grace_until"])


def take_final_action(fact: DunningExhausted) -> None:
    """The dunning schedule of one of the subscription's invoices is over: a past-due
    subscription is canceled at the end of its period, marked unpaid or paused, as the policy
    says (one that is no longer past due is left as it is)."""
    invoice, action, at = fact.invoice, fact.action, fact.at
    sub = (Subscription.objects.select_for_update(of=("self",)).select_related("customer")
           .get(pk=invoice.subscription_id))
    previous = sub.status
    acted = final_action_applies(previous)
    if acted:
        if action == CANCEL:
            sub.cancel_reason = "payment_failed"
            # A final usage invoice's attempts stay pending: the next billing run reconciles them.
            end_at_period_end(sub, at)
        elif action == UNPAID:
            set_status(sub, SubscriptionStatus.UNPAID, at, "dunning_exhausted")
            sub.grace_until = None
            store.save(sub, ["status", "grace_until"])
        else:
            set_status(sub, SubscriptionStatus.PAUSED, at, "dunning_exhausted")
            sub.paused_at = at
            sub.resumes_at = None
            sub.grace_until = None
            sub.current_period_end = max(at, sub.current_period_start)
            store.save(sub, ["status", "paused_at", "resumes_at", "grace_until", "current_period_end"])
            ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING) \
                .update(status=ScheduledChange.Status.CANCELED)
            record("subscription.paused", sub, at, {"resumes_at": None, "reason": "dunning_exhausted"})
    record("subscription.dunning_exhausted", sub, at,
           fact.event_data(action if acted else "none", previous, sub.status))


def register() -> None:
    on(PaymentResultsApplied, follow_payment_results)
    on(InvoiceSettled, reactivate_if_settled)
    on(DunningExhausted, take_final_action)

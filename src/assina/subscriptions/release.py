"""Releasing a subscription held for catch-up (``catch_up``): the operator decides what the
missed periods cost the customer.

- ``bill``: every missed period is billed now, up to the period that contains now, through the
  billing run's own renewal path with no limit (same invoices, same uniqueness per period
  start, charged after the commit). The customer gets one message for the catch-up.
- ``skip``: the missed periods are not billed (no invoice, no charge, no metered usage for that
  time); billing goes on from the period that contains now, at the same anchor, which is
  billed at once like a renewal. ``assina check`` reads the release's event, so the gap is
  not reported as a skipped period.

Both record ``subscription.catch_up_released`` in the same transaction as the change. Releasing
a subscription that is not held is refused, so a repeated release changes nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.periods import period_index_containing
from assina.core.states import SubscriptionStatus
from assina.events.services import record
from assina.invoices.models import Invoice
from assina.payments.services import collect
from assina.time import now as clock_now

from . import store
from .due_work import bill_all_due
from .lifecycle import bill_period_now, set_status
from .models import Subscription
from .services import SubscriptionError, get_subscription
from .terms import index_of_period_starting, terms_for

ACTIONS = ("bill", "skip")


def release_catch_up(sub_id: int | str, action: str) -> Subscription:
    """Release held subscription ``sub_id``: ``bill`` its missed periods or ``skip`` them."""
    if action not in ACTIONS:
        raise SubscriptionError(_("say how to release it: bill the missed periods or skip them"))
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        if sub.catch_up_held_at is None:
            raise SubscriptionError(_("subscription sub_%(id)s is not held for catch-up") % {"id": sub.pk})
        charges = _bill_missed(sub, at) if action == "bill" else _skip_missed(sub, at)
    collect(charges, at)
    sub.refresh_from_db()
    return sub


def _bill_missed(sub: Subscription, at) -> list:
    """Unhold and bill every period due by ``at`` (the row stays locked by this transaction,
    so no worker claims it meanwhile)."""
    unbilled_from = sub.current_period_end
    sub.catch_up_held_at = None
    store.save(sub, ["catch_up_held_at"])
    record("subscription.catch_up_released", sub, at, {"action": "bill", "unbilled_from": unbilled_from.isoformat()})
    return bill_all_due(sub.pk, at)


def _skip_missed(sub: Subscription, at) -> list:
    """Unhold, move the period to the one containing ``at`` without billing the missed ones,
    and bill that period now."""
    terms = terms_for(sub)
    index = period_index_containing(terms.anchor, terms.interval, terms.interval_count, at, terms.tz)
    period = terms.period(index)
    unbilled_from = sub.current_period_end
    skipped = index - index_of_period_starting(terms, unbilled_from)
    sub.catch_up_held_at = None
    if sub.status == SubscriptionStatus.TRIALING.value:
        set_status(sub, SubscriptionStatus.ACTIVE, at, "trial_ended")
    sub.current_period_start, sub.current_period_end = period.start, period.end
    store.save(sub)
    record("subscription.catch_up_released", sub, at, {
        "action": "skip", "unbilled_from": unbilled_from.isoformat(), "billing_from": period.start.isoformat(),
        "periods_skipped": skipped,
    })
    _invoice, attempts = bill_period_now(sub, index, Invoice.Reason.SUBSCRIPTION_CYCLE, at)
    return attempts

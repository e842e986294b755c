"""Validating saves against billing, 30 days after the cancel flow (issue 16).

A cancel session counts as **saved** only if it ended with an accepted offer (outcome
``saved``) **and** the subscription is still paying 30 days after the session started — checked
against billing, not "did not click cancel". Sessions the customer left without taking an offer
(outcome ``abandoned``: "keep my subscription", an idle hour, a newer session) are checked too,
so the report can say how many stayed without an offer, but they are never counted as saves:
the save rate measures what the offers did.

**Still paying** at the moment of the check, exactly:

- status ``active``, or ``trialing`` with a card on file (the trial's end will charge it);
- not set to cancel at the period end, not ended (so not ``canceled``), not ``paused``, not
  ``past_due``, ``unpaid`` or ``incomplete``;
- and no invoice of the subscription issued by then is still unpaid (``open`` or
  ``uncollectible``).

The job runs at each session's 30-day mark under the test clock (``next_due``), and at ``until``
for a worker catching up (it then reads the subscription as it is at ``until``). Each check
writes ``save_checked_at`` and ``still_paying_at_30_days`` and records
``cancel_flow.save_validated`` in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from assina.core.invoice_states import InvoiceStatus
from assina.core.states import SubscriptionStatus as S
from assina.events.services import record
from assina.invoices.models import Invoice
from assina.jobs import Due
from assina.subscriptions.models import Subscription

from .models import CancelSession

SAVE_WINDOW = timedelta(days=30)
CHECKED_OUTCOMES = (CancelSession.Outcome.SAVED.value, CancelSession.Outcome.ABANDONED.value)
UNPAID_INVOICES = (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value)
BATCH = 500


def unchecked():
    """Sessions whose 30-day check is still to be made (once their 30 days have passed)."""
    return CancelSession.objects.filter(outcome__in=CHECKED_OUTCOMES, save_checked_at__isnull=True)


def due_sessions(until: datetime):
    return unchecked().filter(started_at__lte=until - SAVE_WINDOW)


def has_work(until: datetime) -> bool:
    # The job's own query.
    return due_sessions(until).exists()


def next_due() -> Due | None:
    """The first 30-day mark still to check: the test clock stops there, so the subscription is
    read as it is at that moment."""
    first = unchecked().order_by("started_at").values_list("started_at", flat=True).first()
    return Due(first + SAVE_WINDOW) if first is not None else None


def still_paying(sub: Subscription, at: datetime, *, unpaid_invoice: bool) -> bool:
    """Whether ``sub`` is active and paying at ``at`` (the module's definition)."""
    if sub.ended_at is not None or sub.cancel_at_period_end:
        return False
    if sub.status == S.ACTIVE.value:
        return not unpaid_invoice
    if sub.status == S.TRIALING.value:
        has_card = sub.payment_method_id is not None or sub.customer.default_payment_method_id is not None
        return has_card and not unpaid_invoice
    return False  # paused, past due, unpaid, incomplete, canceled


def _first_unpaid(sub_ids: list[int], until: datetime) -> dict[int, datetime]:
    """When each subscription's earliest invoice that is unpaid now was issued (by ``until``)."""
    first: dict[int, datetime] = {}
    for sub_id, created in (Invoice.objects.filter(subscription_id__in=sub_ids, status__in=UNPAID_INVOICES,
                                                   created_at__lte=until)
                            .values_list("subscription_id", "created_at")):
        first[sub_id] = min(created, first.get(sub_id, created))
    return first


def validate_saves(until: datetime, *, at_due_time: bool) -> dict:
    """Check every session whose 30 days have passed by ``until``: at its 30-day mark under the
    test clock, at ``until`` otherwise."""
    checked = saved = 0
    while True:
        with transaction.atomic():
            batch = list(due_sessions(until).select_for_update(of=("self",)).select_related(
                "subscription__customer").order_by("started_at", "pk")[:BATCH])
            moments = {s.pk: (s.started_at + SAVE_WINDOW if at_due_time else until) for s in batch}
            unpaid = _first_unpaid([s.subscription_id for s in batch], until) if batch else {}
            for session in batch:
                at = moments[session.pk]
                sub = session.subscription
                paying = still_paying(sub, at, unpaid_invoice=sub.pk in unpaid and unpaid[sub.pk] <= at)
                session.save_checked_at = at
                session.still_paying_at_30_days = paying
                session.save(update_fields=["save_checked_at", "still_paying_at_30_days"])
                is_save = paying and session.outcome == CancelSession.Outcome.SAVED.value
                record("cancel_flow.save_validated", session, at, {
                    "subscription": sub.pk, "outcome": session.outcome, "status": sub.status,
                    "still_paying": paying, "saved": is_save})
                saved += is_save
        checked += len(batch)
        if len(batch) < BATCH:
            return {"checked": checked, "saved": saved}

"""The work the clock makes due: renewals, trial ends, scheduled changes, period-end
cancellations, resumes and expiring incomplete subscriptions.

Both the worker (real time) and the sandbox test clock (``assina clock advance``) call
``process_due_work``. Subscriptions are taken in batches, earliest due first; each batch is
one transaction that claims its rows (``SKIP LOCKED`` on PostgreSQL, so several workers share
the work), issues every invoice of the batch with a few bulk statements and writes the
pending payment attempts; the charges happen after the commit. Renewals are the hot path and
never do one query per subscription.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from django.db import transaction

from assina.clock.services import now as clock_now
from assina.db import update_many
from assina.core.periods import period_starting_at
from assina.core.invoicing import DraftLine, LineKind, draft_for_period
from assina.core.states import SubscriptionStatus, transition
from assina.events.models import Event
from assina.events.services import event_row, record_many
from assina.invoices.models import Invoice, PendingItem
from assina.invoices.services import InvoiceDraft, issue_invoices
from assina.customers.models import Customer
from assina.payments.models import PaymentAttempt, PaymentMethod
from assina.payments.services import collect, reconcile_pending, start_attempts

from .changes import apply_scheduled_change
from .lifecycle import next_action_at
from .models import ScheduledChange, Subscription
from .services import end_at_period_end, expire_incomplete, resume_locked
from .terms import TermsLoader

S = SubscriptionStatus
RENEWABLE = (S.ACTIVE.value, S.PAST_DUE.value, S.TRIALING.value)


def process_due_work(until: datetime | None = None, *, batch_size: int = 1000, at_due_time: bool = True) -> dict:
    """Process everything due up to ``until`` (default: now), in time order. Returns counts.

    With ``at_due_time`` each piece of work happens at the moment it fell due (the test clock);
    otherwise at the current time (a worker catching up after downtime).
    """
    until = until or clock_now()
    summary: Counter = Counter()
    summary["reconciled_attempts"] += reconcile_pending(None if at_due_time else until)
    stuck_guard: tuple | None = None
    while True:
        due = list(
            Subscription.objects.filter(next_action_at__lte=until)
            .order_by("next_action_at", "id").values_list("id", "next_action_at")[:batch_size]
        )
        if not due:
            break
        if tuple(due) == stuck_guard:
            raise RuntimeError(f"due work made no progress on subscriptions {[i for i, _ in due][:10]}")
        stuck_guard = tuple(due)
        attempts = _process_batch([i for i, _ in due], until, None if at_due_time else until, summary)
        collect(attempts)
    return dict(summary)


def _process_batch(ids: list[int], until: datetime, fixed_at: datetime | None, summary: Counter) -> list[PaymentAttempt]:
    attempts: list[PaymentAttempt] = []
    with transaction.atomic():
        subs = list(
            Subscription.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=ids, next_action_at__lte=until)
            .order_by("pk")
        )
        changes: dict[int, list[ScheduledChange]] = defaultdict(list)
        for change in ScheduledChange.objects.filter(subscription_id__in=[s.pk for s in subs], status=ScheduledChange.Status.PENDING).order_by("effective_at", "pk"):
            changes[change.subscription_id].append(change)
        renewals: list[Subscription] = []
        for sub in subs:
            at = fixed_at or sub.next_action_at
            due_change = next((c for c in changes[sub.pk] if c.effective_at <= sub.next_action_at), None)
            if sub.status == S.PAUSED.value:
                attempts += resume_locked(sub, at)
                summary["resumed"] += 1
            elif sub.status == S.INCOMPLETE.value:
                expire_incomplete(sub, at)
                summary["expired_incomplete"] += 1
            elif sub.cancel_at_period_end and sub.current_period_end <= sub.next_action_at:
                end_at_period_end(sub, sub.current_period_end if fixed_at is None else at)
                summary["canceled_at_period_end"] += 1
            elif due_change is not None:
                apply_scheduled_change(sub, due_change, at)
                sub.next_action_at = next_action_at(sub)
                sub.save(update_fields=["next_action_at"])
                summary["scheduled_changes"] += 1
            elif sub.status in RENEWABLE:
                renewals.append(sub)
            else:
                sub.next_action_at = next_action_at(sub)
                sub.save(update_fields=["next_action_at"])
        attempts += _renew(renewals, changes, fixed_at, summary)
    return attempts


def _renew(subs: list[Subscription], changes: dict[int, list[ScheduledChange]], fixed_at: datetime | None,
           summary: Counter) -> list[PaymentAttempt]:
    """Bill the next period of every subscription in ``subs`` with bulk statements."""
    if not subs:
        return []
    loader = TermsLoader()
    loader.load(subs)
    ids = [s.pk for s in subs]
    earliest = min(s.current_period_end for s in subs)
    billed = set(Invoice.objects.filter(subscription_id__in=ids, period_start__gte=earliest).values_list("subscription_id", "period_start"))
    carried: dict[int, list[PendingItem]] = defaultdict(list)
    for item in PendingItem.objects.filter(subscription_id__in=ids, invoice__isnull=True).order_by("pk"):
        carried[item.subscription_id].append(item)
    customers = {pk: (balance, method) for pk, balance, method in
                 Customer.objects.filter(pk__in={s.customer_id for s in subs}).values_list("pk", "credit_balance", "default_payment_method_id")}
    balances = {pk: balance for pk, (balance, _) in customers.items() if balance > 0}
    method_ids = {s.pk: s.payment_method_id or customers[s.customer_id][1] for s in subs}
    methods_by_id = PaymentMethod.objects.in_bulk({m for m in method_ids.values() if m})

    drafts: list[InvoiceDraft] = []
    events: list[Event] = []
    for sub in subs:
        at = fixed_at or sub.current_period_end
        terms = loader.terms(sub)
        index, period = period_starting_at(terms.anchor, terms.interval, terms.interval_count, sub.current_period_end, terms.tz)
        if (sub.pk, period.start) not in billed:
            items = carried.get(sub.pk, [])
            lines = list(draft_for_period(terms, index, period).lines) + [
                DraftLine(kind=LineKind(i.kind), description=i.description, amount=i.amount, item_code=i.item_code,
                          period_start=i.period_start, period_end=i.period_end) for i in items
            ]
            drafts.append(InvoiceDraft(customer_id=sub.customer_id, subscription_id=sub.pk, currency=sub.currency,
                                       billing_reason=Invoice.Reason.SUBSCRIPTION_CYCLE, at=at, lines=lines,
                                       period_start=period.start, period_end=period.end,
                                       pending_item_ids=[i.pk for i in items]))
        if sub.status == S.TRIALING.value:
            sub.status = transition(S.TRIALING, S.ACTIVE).value
            events.append(event_row("subscription.updated", sub, at, {"status": sub.status, "previous_status": S.TRIALING.value, "reason": "trial_ended"}))
            summary["trials_ended"] += 1
        sub.current_period_start, sub.current_period_end = period.start, period.end
        pending_at = [c.effective_at for c in changes.get(sub.pk, []) if c.effective_at > period.start]
        sub.next_action_at = min([period.end, *pending_at])
    invoices = issue_invoices(drafts, balances)
    update_many(subs, ["status", "current_period_start", "current_period_end", "next_action_at"])
    record_many(events)
    summary["renewals"] += len(invoices)
    methods = {s.customer_id: methods_by_id.get(method_ids[s.pk]) for s in subs}
    return start_attempts(invoices, methods)

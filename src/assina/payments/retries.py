"""The dunning job: retry failed payments when they fall due, and take the final action when
the schedule is over.

The invoice rows are the queue: ``next_payment_attempt`` (a retry is due) and
``dunning_final_at`` (the final action is due). Each batch is one transaction that claims its
invoices (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the
work), clears their due time and writes the pending attempts; the charges happen after the
commit, and their results schedule the next retry (``services.apply_results``). A worker killed
anywhere leaves either the due time (nothing happened) or a pending attempt (reconciled by its
idempotency key) — never a lost or doubled charge.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from assina.core.invoice_states import InvoiceStatus
from assina.core.states import SubscriptionStatus
from assina.customers.models import Customer
from assina.db import update_rows
from assina.events.services import record
from assina.invoices.models import Invoice
from assina.subscriptions.models import Subscription

from .dunning import CANCEL, EXHAUSTED, PAUSE, UNPAID, current_policy
from .models import PaymentAttempt, PaymentMethod
from .services import PendingCharge, collect, start_attempts

BATCH_SIZE = 500
OPEN = InvoiceStatus.OPEN.value


def run(until: datetime, *, at_due_time: bool) -> dict:
    """Every retry and final action due up to ``until``, earliest first (and refunds a crash
    left pending, sent again with their key)."""
    from .models import Refund
    from .refunds import reconcile_refunds

    summary: Counter = Counter()
    if Refund.objects.filter(status=Refund.Status.PENDING).exists():
        summary["reconciled_refunds"] += reconcile_refunds(until)
    while True:
        charges, claimed = _claim_retries(until, at_due_time, summary)
        collect(charges)
        finals = _final_actions(until, at_due_time, summary)
        if not claimed and not finals:
            break
    return dict(summary)


def _claim_retries(until: datetime, at_due_time: bool, summary: Counter) -> tuple[list[PendingCharge], int]:
    from .credit import apply_credit_balance

    with transaction.atomic():
        invoices = list(Invoice.objects.select_for_update(skip_locked=True, of=("self",))
                        .filter(status=OPEN, next_payment_attempt__lte=until)
                        .order_by("next_payment_attempt", "pk")[:BATCH_SIZE])
        if not invoices:
            return [], 0
        times = {i.pk: (i.next_payment_attempt if at_due_time else until) for i in invoices}
        update_rows(Invoice, ["next_payment_attempt"], [(None, i.pk) for i in invoices])
        in_flight = set(PaymentAttempt.objects.filter(invoice_id__in_list=[i.pk for i in invoices],
                                                      status=PaymentAttempt.Status.PENDING).values_list("invoice_id", flat=True))
        with_credit = set(Customer.objects.filter(pk__in_list=list({i.customer_id for i in invoices}), credit_balance__gt=0)
                          .values_list("pk", flat=True))
        due = []
        for invoice in invoices:
            if invoice.pk in in_flight:
                continue  # its result (being reconciled) schedules what comes next
            if invoice.customer_id in with_credit and apply_credit_balance(invoice, times[invoice.pk]):
                summary["paid_by_credit_balance"] += 1
                continue
            due.append(invoice)
        methods = methods_for(due)
        charges = start_attempts(due, {}, times=times, by_invoice=methods)
        summary["payment_retries"] += len(charges)
    return charges, len(invoices)


def methods_for(invoices: list[Invoice]) -> dict[int, PaymentMethod | None]:
    """Invoice id -> the card to charge: the subscription's own when still attached, else the
    customer's default (three queries for the whole batch)."""
    sub_methods = dict(Subscription.objects.filter(pk__in_list=list({i.subscription_id for i in invoices if i.subscription_id}))
                       .exclude(payment_method_id=None).values_list("pk", "payment_method_id"))
    defaults = dict(Customer.objects.filter(pk__in_list=list({i.customer_id for i in invoices}))
                    .values_list("pk", "default_payment_method_id"))
    wanted = {m for m in [*sub_methods.values(), *defaults.values()] if m}
    methods = {m.pk: m for m in PaymentMethod.objects.filter(pk__in_list=list(wanted), detached_at__isnull=True)}
    chosen = {}
    for invoice in invoices:
        own = methods.get(sub_methods.get(invoice.subscription_id))
        chosen[invoice.pk] = own or methods.get(defaults.get(invoice.customer_id))
    return chosen


def retry_open_invoices(customer_id: int, at: datetime, *, method: PaymentMethod | None = None) -> int:
    """A customer added or changed a card: try every open invoice of theirs now (with that
    card), whatever the schedule said. Returns how many were tried."""
    with transaction.atomic():
        invoices = list(Invoice.objects.select_for_update(skip_locked=True, of=("self",))
                        .filter(customer_id=customer_id, status=OPEN, amount_due__gt=0).order_by("pk"))
        if not invoices:
            return 0
        in_flight = set(PaymentAttempt.objects.filter(invoice_id__in_list=[i.pk for i in invoices],
                                                      status=PaymentAttempt.Status.PENDING).values_list("invoice_id", flat=True))
        from .credit import apply_credit_balance

        due = [i for i in invoices if i.pk not in in_flight and not apply_credit_balance(i, at)]
        update_rows(Invoice, ["next_payment_attempt"], [(None, i.pk) for i in due])
        chosen = methods_for(due) if method is None else {i.pk: method for i in due}
        charges = start_attempts(due, {}, at, by_invoice=chosen)
    collect(charges, at)
    return len(charges)


def _final_actions(until: datetime, at_due_time: bool, summary: Counter) -> int:
    """Take the final action on invoices whose schedule is over (one transaction each: rare)."""
    ids = list(Invoice.objects.filter(status=OPEN, dunning_final_at__lte=until)
               .order_by("dunning_final_at", "pk").values_list("pk", flat=True)[:BATCH_SIZE])
    done = 0
    policy = current_policy() if ids else None
    for invoice_id in ids:
        action = take_final_action(invoice_id, until, at_due_time, policy)
        if action:
            summary[f"dunning_{action}"] += 1
            done += 1
    return done


def take_final_action(invoice_id: int, until: datetime, at_due_time: bool, policy=None) -> str | None:
    from assina.invoices.services import mark_uncollectible
    from assina.subscriptions.lifecycle import next_action_at, set_status
    from assina.subscriptions.models import ScheduledChange
    from assina.subscriptions.services import end_at_period_end

    policy = policy or current_policy()
    with transaction.atomic():
        invoice = (Invoice.objects.select_for_update(skip_locked=True, of=("self",))
                   .filter(pk=invoice_id, status=OPEN, dunning_final_at__lte=until).first())
        if invoice is None:
            return None  # another worker took it, or it was paid meanwhile
        if PaymentAttempt.objects.filter(invoice=invoice, status=PaymentAttempt.Status.PENDING).exists():
            return None  # a charge in flight decides first
        at = invoice.dunning_final_at if at_due_time else until
        action = policy.final_action
        invoice.dunning_final_at = None
        invoice.next_payment_attempt = None
        invoice.dunning_status = EXHAUSTED
        invoice.save(update_fields=["dunning_final_at", "next_payment_attempt", "dunning_status"])
        sub = None
        if invoice.subscription_id:
            sub = (Subscription.objects.select_for_update(of=("self",)).select_related("customer")
                   .filter(pk=invoice.subscription_id).first())
        previous = sub.status if sub else None
        acted_on_subscription = sub is not None and sub.status == SubscriptionStatus.PAST_DUE.value
        if action in (CANCEL, PAUSE):
            # Written off (the customer may still pay it: an uncollectible invoice is payable).
            mark_uncollectible(invoice.pk, at)
        if acted_on_subscription:
            if action == CANCEL:
                sub.cancel_reason = "payment_failed"
                end_at_period_end(sub, at)
            elif action == UNPAID:
                set_status(sub, SubscriptionStatus.UNPAID, at, "dunning_exhausted")
                sub.grace_until = None
                sub.next_action_at = next_action_at(sub)
                sub.save(update_fields=["status", "grace_until", "next_action_at"])
            else:
                set_status(sub, SubscriptionStatus.PAUSED, at, "dunning_exhausted")
                sub.paused_at = at
                sub.resumes_at = None
                sub.grace_until = None
                sub.current_period_end = max(at, sub.current_period_start)
                sub.next_action_at = next_action_at(sub)
                sub.save(update_fields=["status", "paused_at", "resumes_at", "grace_until", "current_period_end",
                                        "next_action_at"])
                ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING) \
                    .update(status=ScheduledChange.Status.CANCELED)
                record("subscription.paused", sub, at, {"resumes_at": None, "reason": "dunning_exhausted"})
        attempts = PaymentAttempt.objects.filter(invoice=invoice).count()
        data = {"invoice": invoice.pk, "number": invoice.number, "amount_due": invoice.amount_due,
                "currency": invoice.currency, "final_action": action if acted_on_subscription or not sub else "none",
                "subscription": invoice.subscription_id, "previous_status": previous,
                "status": sub.status if sub else None, "attempts": attempts,
                "failed_since": invoice.dunning_started_at.isoformat() if invoice.dunning_started_at else None}
        if sub is not None:
            record("subscription.dunning_exhausted", sub, at, data)
        else:
            record("invoice.dunning_exhausted", invoice, at, data)
    return action


def open_dunning(customer_id: int | None = None) -> Q:
    """Invoices in dunning now (for admin lists and reports)."""
    query = Q(status=OPEN, dunning_started_at__isnull=False)
    if customer_id is not None:
        query &= Q(customer_id=customer_id)
    return query

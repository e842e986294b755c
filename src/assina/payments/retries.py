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

from assina.core.dunning import EXHAUSTED, WRITES_OFF, Policy
from assina.core.invoice_states import InvoiceStatus
from assina.customers.models import Customer
from assina.db import update_rows
from assina.dispatch import publish
from assina.events.services import record
from assina.invoices.models import Invoice
from assina.invoices.services import mark_uncollectible

from .credit import apply_credit_balance
from .dunning import current_policy
from .events import DunningExhausted, exhausted_data
from .models import PaymentAttempt, Refund
from .refunds import reconcile_refunds
from .services import PendingCharge, collect, methods_for, start_attempts

BATCH_SIZE = 500
OPEN = InvoiceStatus.OPEN.value


def run(until: datetime, *, at_due_time: bool) -> dict:
    """Every retry and final action due up to ``until``, earliest first (and refunds a crash
    left pending, sent again with their key)."""
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


def take_final_action(invoice_id: int, until: datetime, at_due_time: bool, policy: Policy | None = None) -> str | None:
    """The invoice's dunning schedule is over: mark it exhausted (and write it off when the
    action says so). What the action does to the invoice's subscription is the subscriptions
    app's reaction to ``DunningExhausted``, in this transaction; an invoice without a
    subscription only records that its dunning is over."""
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
        if action in WRITES_OFF:
            # Written off (the customer may still pay it: an uncollectible invoice is payable).
            mark_uncollectible(invoice.pk, at)
        attempts = PaymentAttempt.objects.filter(invoice=invoice).count()
        if invoice.subscription_id:
            publish(DunningExhausted(invoice, action, at, attempts))
        else:
            record("invoice.dunning_exhausted", invoice, at, exhausted_data(invoice, action, None, None, attempts))
    return action


def open_dunning(customer_id: int | None = None) -> Q:
    """Invoices in dunning now (for admin lists and reports)."""
    query = Q(status=OPEN, dunning_started_at__isnull=False)
    if customer_id is not None:
        query &= Q(customer_id=customer_id)
    return query

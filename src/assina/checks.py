"""``assina check``: the money invariants, verified from the tables (usable by operators).

- no invoice charged twice: at most one successful charge per invoice, besides charges that
  landed after it was closed and went to the customer's credit balance;
- no period billed twice or skipped: per subscription, no two invoices for the same period, and
  each billed period starts where the previous one ended (unless the subscription was resumed
  then, which starts a new cycle), and the current period of a billing subscription is billed;
- invoice and credit-note numbers are gapless per year, and the sequences are ahead of them;
- money: successful charges = what paid invoices collected + late charges credited to balance;
  a paid invoice collected exactly what it asked; refunds never exceed the charge; the sandbox
  gateway's ledger agrees with the attempts;
- every failed attempt has a retry scheduled, or waits for a new card with its final action
  due, or its final action was taken (or its invoice is closed / paid);
- every subscription's stored ``next_action_at`` is the one its rule computes
  (``subscriptions.store.next_action_times``): a stale one means the billing run would look
  at it at the wrong time, or never again;
- an open first invoice (billing reason ``subscription_create``) belongs to an incomplete
  subscription: payments keeps that invoice out of dunning by its billing reason alone, without
  reading the subscription (``core.payment_results``), and relies on this;
- no subscription is held for catch-up (``catch_up_held``): each held one is named with how to
  release it. It is not a broken invariant but work only the operator can do (bill the missed
  periods or skip them), so the check stays red until it is done. Periods skipped by a release
  are not reported as skipped (the release's event names them).

Each check reads plain rows in a few queries (100,000 subscriptions take seconds). It reads
invoices, payments and subscriptions alike, so it sits above every app, like the CLI.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from django.db.models import Count, F, Sum

from assina.core.invoice_states import InvoiceStatus
from assina.core.states import PAYING, SubscriptionStatus
from assina.events.models import Event
from assina.invoices.models import CreditNote, Invoice, NumberSequence
from assina.payments.models import PaymentAttempt, Refund, SandboxCharge
from assina.subscriptions.store import next_action_times
from assina.subscriptions.models import Subscription

MAX_LISTED = 50  # violations listed per check (all are counted)
# Subscriptions whose next action time is recomputed per pass: two queries each (the rows,
# their pending scheduled changes), and a bounded number of rows in memory.
NEXT_ACTION_CHUNK = 10_000


class Report:
    def __init__(self) -> None:
        self.violations: dict[str, list[str]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, check: str, text: str) -> None:
        self.counts[check] += 1
        if len(self.violations[check]) < MAX_LISTED:
            self.violations[check].append(text)

    def json(self, totals: dict) -> dict:
        return {"ok": not self.counts, "violations": sum(self.counts.values()),
                "by_check": dict(self.counts), "details": dict(self.violations), "checked": totals}


def run_checks() -> dict:
    report = Report()
    totals = {
        "subscriptions": Subscription.objects.count(),
        "invoices": Invoice.objects.count(),
        "attempts": PaymentAttempt.objects.count(),
        "failed_attempts": PaymentAttempt.objects.filter(status=PaymentAttempt.Status.FAILED).count(),
        "refunds": Refund.objects.count(),
    }
    _charged_once(report)
    _periods(report)
    _numbers(report)
    _money(report)
    _failed_attempts_followed(report)
    _next_action_times(report)
    _open_first_invoices_incomplete(report)
    _catch_up_held(report)
    return report.json(totals)


def _late_credits() -> dict[int, int]:
    """Invoice id -> amount of charges that landed after it was closed (credited to balance)."""
    credits: dict[int, int] = defaultdict(int)
    for subject_id, data in Event.objects.filter(type="payment.credited_to_balance").values_list("subject_id", "data"):
        credits[subject_id] += int(data.get("amount", 0))
    return credits


def _charged_once(report: Report) -> None:
    late_count: dict[int, int] = defaultdict(int)
    for subject_id in Event.objects.filter(type="payment.credited_to_balance").values_list("subject_id", flat=True):
        late_count[subject_id] += 1
    for invoice_id, n in (PaymentAttempt.objects.filter(status=PaymentAttempt.Status.SUCCEEDED).values("invoice_id")
                          .annotate(n=Count("id")).filter(n__gt=1).values_list("invoice_id", "n")):
        if n - late_count.get(invoice_id, 0) > 1:
            report.add("invoice_charged_twice", f"invoice {invoice_id}: {n} successful charges")


def _periods(report: Report) -> None:
    resumed = set(Event.objects.filter(type="subscription.resumed").values_list("subject_id", "occurred_at"))
    # A release of a held subscription that skipped its missed periods: billing goes on from here.
    resumed |= {(subject_id, datetime.fromisoformat(data["billing_from"])) for subject_id, data in
                Event.objects.filter(type="subscription.catch_up_released").values_list("subject_id", "data")
                if data.get("action") == "skip" and data.get("billing_from")}
    rows = (Invoice.objects.filter(subscription__isnull=False, period_start__isnull=False)
            .exclude(status=InvoiceStatus.VOID.value).order_by("subscription_id", "period_start")
            .values_list("subscription_id", "period_start", "period_end", "number"))
    by_sub: dict[int, list[tuple]] = defaultdict(list)
    for sub_id, start, end, number in rows:
        by_sub[sub_id].append((start, end, number))
    for sub_id, periods in by_sub.items():
        for (s1, e1, n1), (s2, e2, n2) in zip(periods, periods[1:]):
            if s1 == s2 or e1 == e2:
                report.add("period_billed_twice", f"sub_{sub_id}: {n1} and {n2} bill {s2.isoformat()}")
            elif s2 > e1 and (sub_id, s2) not in resumed:
                report.add("period_skipped", f"sub_{sub_id}: nothing billed from {e1.isoformat()} to {s2.isoformat()}")
    billed = {(sub_id, p[0]) for sub_id, periods in by_sub.items() for p in periods}
    # Imported history (``imported_at``) is never billed: its periods have no invoices by design.
    for sub_id, start, trial_end in (Subscription.objects.filter(status__in=PAYING, imported_at__isnull=True)
                                     .values_list("pk", "current_period_start", "trial_end")):
        if (sub_id, start) not in billed and not (trial_end and start < trial_end):
            report.add("period_skipped", f"sub_{sub_id}: its current period ({start.isoformat()}) has no invoice")


NUMBER = re.compile(r"^(?:CN-)?(\d{4})-(\d+)$")


def _numbers(report: Report) -> None:
    sequences = dict(NumberSequence.objects.values_list("key", "next_value"))
    for prefix, values in (("invoice", Invoice.objects.exclude(number=None).values_list("number", flat=True)),
                           ("credit-note", CreditNote.objects.values_list("number", flat=True))):
        by_year: dict[int, list[int]] = defaultdict(list)
        for number in values:
            match = NUMBER.match(number)
            if match is None:
                report.add("numbers_gapless", f"{prefix} number {number!r} is malformed")
                continue
            by_year[int(match[1])].append(int(match[2]))
        for year, numbers in by_year.items():
            numbers.sort()
            expected = list(range(1, len(numbers) + 1))
            if numbers != expected:
                missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))[:10]
                duplicated = len(numbers) - len(set(numbers))
                report.add("numbers_gapless", f"{prefix} {year}: missing {missing}, duplicated {duplicated}")
            next_value = sequences.get(f"{prefix}-{year}")
            if next_value is not None and next_value != len(numbers) + 1:
                report.add("numbers_gapless", f"{prefix} {year}: sequence at {next_value}, {len(numbers)} numbers used")


def _money(report: Report) -> None:
    late = _late_credits()
    charged = dict(PaymentAttempt.objects.filter(status=PaymentAttempt.Status.SUCCEEDED).values("invoice_id")
                   .annotate(s=Sum("amount")).values_list("invoice_id", "s"))
    for pk, status, due, paid, number in Invoice.objects.values_list("pk", "status", "amount_due", "amount_paid", "number"):
        if status == InvoiceStatus.PAID.value and paid != due:
            report.add("charges_match_invoices", f"invoice {number}: paid {paid} of {due} due")
        if status != InvoiceStatus.PAID.value and paid != 0:
            report.add("charges_match_invoices", f"invoice {number} is {status} with {paid} paid")
        if charged.get(pk, 0) != paid + late.get(pk, 0):
            report.add("charges_match_invoices",
                       f"invoice {number}: charges {charged.get(pk, 0)} != paid {paid} + credited late {late.get(pk, 0)}")
    total_charged = sum(charged.values())
    total_paid = Invoice.objects.aggregate(s=Sum("amount_paid"))["s"] or 0
    if total_charged != total_paid + sum(late.values()):
        report.add("charges_match_invoices", f"successful charges {total_charged} != paid invoices {total_paid} "
                                             f"+ late charges credited {sum(late.values())}")
    # Refunds: never more than the charge they give back.
    for attempt_id, amount, refunded in (Refund.objects.exclude(status=Refund.Status.FAILED).values("attempt_id")
                                         .annotate(r=Sum("amount")).values_list("attempt_id", "attempt__amount", "r")):
        if refunded > amount:
            report.add("refunds_within_charges", f"attempt {attempt_id}: {refunded} refunded of {amount}")
    for refund_id in Refund.objects.filter(status=Refund.Status.SUCCEEDED, credit_note__isnull=True).values_list("pk", flat=True):
        report.add("refunds_within_charges", f"refund {refund_id} has no credit note")
    # The sandbox gateway's own ledger: every charge it made is a settled attempt with its result.
    attempts = {key: (status, amount) for key, status, amount in
                PaymentAttempt.objects.filter(gateway="sandbox").values_list("idempotency_key", "status", "amount")}
    for key, succeeded, amount in SandboxCharge.objects.values_list("idempotency_key", "succeeded", "amount"):
        status, expected = attempts.get(key, (None, None))
        if status is None:
            report.add("gateway_matches_attempts", f"gateway charge {key} has no attempt")
        elif status == PaymentAttempt.Status.PENDING:
            continue  # a crash left it in flight: reconciled by the next run
        elif (status == PaymentAttempt.Status.SUCCEEDED) != succeeded or amount != expected:
            report.add("gateway_matches_attempts", f"gateway charge {key} ({'ok' if succeeded else 'declined'}, {amount}) "
                                                   f"but attempt {status} ({expected})")


def _failed_attempts_followed(report: Report) -> None:
    """Open invoices whose latest attempt failed must have what comes next."""
    failed_last = (Invoice.objects.filter(status=InvoiceStatus.OPEN.value, attempt_count__gt=0)
                   .filter(attempts__number=F("attempt_count"), attempts__status=PaymentAttempt.Status.FAILED)
                   .values_list("pk", "number", "next_payment_attempt", "dunning_final_at", "dunning_status",
                                "subscription__status", "subscription__next_action_at", "billing_reason"))
    for pk, number, next_retry, final_at, dunning, sub_status, sub_next, reason in failed_last:
        if next_retry or final_at or dunning == "exhausted":
            continue
        if sub_status == SubscriptionStatus.INCOMPLETE.value and sub_next is not None:
            continue  # the first payment: the subscription expires (and the invoice is voided) on its own
        report.add("failed_attempt_followed", f"invoice {number}: failed, no retry scheduled and no final action")


def _next_action_times(report: Report) -> None:
    """Each subscription's stored next action time equals the computed one, read in chunks by id."""
    after = 0
    while True:
        subs = list(Subscription.objects.filter(pk__gt=after).order_by("pk")[:NEXT_ACTION_CHUNK])
        if not subs:
            return
        computed = next_action_times(subs)
        for sub in subs:
            if sub.next_action_at != computed[sub.pk]:
                stored = sub.next_action_at.isoformat() if sub.next_action_at else None
                expected = computed[sub.pk].isoformat() if computed[sub.pk] else None
                report.add("next_action_at_computed", f"sub_{sub.pk}: next_action_at {stored}, computed {expected}")
        after = subs[-1].pk


def _catch_up_held(report: Report) -> None:
    rows = (Subscription.objects.filter(catch_up_held_at__isnull=False).order_by("pk")
            .values_list("pk", "catch_up_held_at", "current_period_end"))
    for pk, held_at, unbilled_from in rows:
        report.add("catch_up_held",
                   f"sub_{pk}: held since {held_at.isoformat()}, nothing billed from {unbilled_from.isoformat()}; "
                   f"release it: assina subscription release sub_{pk} --bill (or --skip)")


def _open_first_invoices_incomplete(report: Report) -> None:
    rows = (Invoice.objects.filter(status=InvoiceStatus.OPEN.value, billing_reason=Invoice.Reason.SUBSCRIPTION_CREATE,
                                   subscription__isnull=False)
            .exclude(subscription__status=SubscriptionStatus.INCOMPLETE.value)
            .values_list("number", "subscription_id", "subscription__status"))
    for number, sub_id, status in rows:
        report.add("open_first_invoice_incomplete",
                   f"invoice {number}: open first invoice of sub_{sub_id}, which is {status}")

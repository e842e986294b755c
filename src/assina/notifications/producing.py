"""Messages that follow recorded events: welcome, receipt, payment failed, cancellation...

Each handled event gets an ``EventReceipt`` row in the same transaction as its messages, and
each message has a unique key naming the fact it tells (``receipt:invoice:42``), so a pass that
crashes, runs twice or runs on two workers at once never doubles a message. Event ids on
PostgreSQL may commit out of order, so unprocessed events are found by the absence of a receipt
(an anti-join), never by "the last id seen"; ``ProducerState.scan_floor`` only skips ids that
were already visible ``ASSINA_EMAIL_CLAIM_SECONDS`` of wall-clock time ago.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from time import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import translation

from assina.customers.models import Customer
from assina.events.models import Event
from assina.i18n import gateway_message

from . import card_links, links
from .catch_up_receipts import catch_up_group, catch_up_receipt
from .context import card_vars, invoice_vars, local_date, money, subscription_vars
from .models import EventReceipt, ProducerState
from .outbox import Draft, render_new, store
from .rendering import message_locale

CONSUMED = (
    "subscription.created", "invoice.paid", "payment.failed", "subscription.cancel_scheduled",
    "subscription.canceled", "subscription.paused", "subscription.resumed", "payment_method.expiring",
    "plan.price_changed", "subscription.dunning_exhausted",
)
CHUNK = 500


def wall_now() -> datetime:
    """Wall-clock time, only for leases and the scan floor (never for business decisions)."""
    return datetime.fromtimestamp(time(), tz=timezone.utc)


def state() -> ProducerState:
    found, _created = ProducerState.objects.get_or_create(pk=1)
    return found


def _unprocessed(floor: int, types: tuple[str, ...] = CONSUMED):
    return (Event.objects.filter(type__in=types, id__gt=floor)
            .exclude(Exists(EventReceipt.objects.filter(event_id=OuterRef("pk")))))


def has_unprocessed(until: datetime, after: datetime | None = None, types: tuple[str, ...] = CONSUMED) -> bool:
    """Whether an event up to ``until`` (and after ``after``, when the caller knows the earlier
    ones are handled: an index range instead of a scan) still waits for its messages (the job
    runner's check); only events of ``types`` when given."""
    floor = ProducerState.objects.filter(pk=1).values_list("scan_floor", flat=True).first() or 0
    waiting = _unprocessed(floor, types).filter(occurred_at__lte=until)
    if after is not None:
        waiting = waiting.filter(occurred_at__gt=after)
    return waiting.exists()


def produce_from_events(until: datetime, *, at_due_time: bool, types: tuple[str, ...] = CONSUMED) -> Counter:
    """The messages of the events up to ``until`` not handled yet (of ``types`` only, when given:
    the others wait for a later pass, which the receipts make exact)."""
    counts: Counter = Counter()
    floor = state().scan_floor
    while True:
        events = list(_unprocessed(floor, types).filter(occurred_at__lte=until).order_by("id")[:CHUNK])
        if not events:
            break
        # Rendered before the write transaction (on SQLite the write lock is then held for the
        # inserts only); the messages' unique keys and the receipts make a second producer's
        # copy of the same work a no-op.
        rows = render_new(_drafts_for(events), until)
        with transaction.atomic():
            counts["emails_queued"] += store(rows)
            EventReceipt.objects.bulk_create([EventReceipt(event_id=e.pk, processed_at=until) for e in events],
                                             ignore_conflicts=True)
        counts["events_processed"] += len(events)
    _advance_floor(floor)
    return counts


def _advance_floor(floor: int) -> None:
    """Move the scan floor up to an id that was the highest visible one long enough ago that no
    transaction holding a lower id can still be open, and below which everything is handled."""
    current = state()
    # SQLite has one writer at a time and hands out ids inside it, so ids become visible in
    # order and the floor may follow at once; PostgreSQL waits out the longest transaction.
    lease = timedelta(0) if connection.vendor == "sqlite" else timedelta(seconds=settings.ASSINA_EMAIL_CLAIM_SECONDS)
    wall = wall_now()
    if current.floor_candidate > current.scan_floor and current.floor_candidate_seen \
            and wall - current.floor_candidate_seen >= lease \
            and not _unprocessed(floor).filter(id__lte=current.floor_candidate).exists():
        ProducerState.objects.filter(pk=1, scan_floor__lt=current.floor_candidate).update(scan_floor=current.floor_candidate)
        current.floor_candidate_seen = None
    if current.floor_candidate_seen is None or current.floor_candidate <= current.scan_floor:
        top = Event.objects.aggregate(top=Max("id"))["top"] or 0
        ProducerState.objects.filter(pk=1).update(floor_candidate=top, floor_candidate_seen=wall)


# --- from events to drafts -------------------------------------------------------------------

def _drafts_for(events: list[Event]) -> list[Draft]:
    from assina.invoices.models import Invoice
    from assina.payments.models import PaymentAttempt, PaymentMethod
    from assina.subscriptions.models import Subscription

    customers = Customer.objects.in_bulk({e.customer_id for e in events if e.customer_id})
    invoice_ids = {e.subject_id for e in events if e.type == "invoice.paid"}
    attempt_ids = [e.subject_id for e in events if e.type == "payment.failed"]
    attempts = PaymentAttempt.objects.in_bulk(attempt_ids) if attempt_ids else {}
    invoice_ids |= {a.invoice_id for a in attempts.values()}
    invoice_ids |= {e.data.get("invoice") for e in events if e.type == "subscription.dunning_exhausted" and e.data.get("invoice")}
    invoices = Invoice.objects.prefetch_related("lines").in_bulk(invoice_ids) if invoice_ids else {}
    sub_ids = {e.subject_id for e in events if e.subject_type == "subscription"}
    sub_ids |= {i.subscription_id for i in invoices.values() if i.subscription_id}
    subs = (Subscription.objects.select_related("plan", "payment_method").prefetch_related("items__plan_version")
            .in_bulk(sub_ids)) if sub_ids else {}
    method_ids = [e.subject_id for e in events if e.subject_type == "paymentmethod"]
    methods = PaymentMethod.objects.in_bulk(method_ids) if method_ids else {}

    drafts: list[Draft] = []
    for event in events:
        customer = customers.get(event.customer_id)
        if event.type == "plan.price_changed":
            drafts += _price_change(event)
            continue
        if customer is None:
            continue
        handler = HANDLERS.get(event.type)
        if handler is not None:
            drafts += handler(event, customer, subs=subs, invoices=invoices, attempts=attempts, methods=methods)
    return drafts


def _draft(key: str, template: str, customer, event: Event, context: dict) -> Draft:
    return Draft(key=key, template=template, customer=customer, due_at=event.occurred_at, context=context,
                 event_id=event.pk)


def _welcome(event, customer, *, subs, **_):
    sub = subs.get(event.subject_id)
    if sub is None:
        return []
    # One welcome per customer, whatever number of subscriptions they start.
    return [_draft(f"welcome:customer:{customer.pk}", "welcome", customer, event,
                   {"subscription": subscription_vars(sub, customer), "trialing": sub.status == "trialing"})]


def _receipt(event, customer, *, invoices, subs, **_):
    invoice = invoices.get(event.subject_id)
    if invoice is None or invoice.total <= 0:
        return []  # nothing was charged (a trial's first invoice): no receipt to send
    sub = subs.get(invoice.subscription_id)
    group = catch_up_group(invoice)
    if group is not None:  # several periods billed at once: one receipt for all (issue 14)
        found = catch_up_receipt(group, customer)
        return [] if found is None else [_draft(found[0], "receipt", customer, event, {
            "invoice": found[1], "subscription": subscription_vars(sub, customer) if sub else {}})]
    return [_draft(f"receipt:invoice:{invoice.pk}", "receipt", customer, event, {
        "invoice": invoice_vars(invoice, customer),
        "subscription": subscription_vars(sub, customer) if sub else {},
    })]


def _payment_failed(event, customer, *, attempts, invoices, **_):
    attempt = attempts.get(event.subject_id)
    invoice = invoices.get(attempt.invoice_id) if attempt else None
    if invoice is None:
        return []
    data = event.data or {}
    with translation.override("pt-br" if message_locale(customer.locale) == "pt-BR" else "en"):
        reason = gateway_message(data.get("message") or attempt.message or "").rstrip(".")  # the template ends the sentence
    next_retry = data.get("next_retry_at")
    next_retry = datetime.fromisoformat(next_retry) if next_retry else invoice.next_payment_attempt
    return [_draft(f"payment_failed:attempt:{attempt.pk}", "payment_failed", customer, event, {
        "invoice": invoice_vars(invoice, customer),
        "payment": {"amount": money(attempt.amount, attempt.currency, customer.locale), "reason": reason,
                    "attempt": data.get("attempt") or attempt.number,
                    "next_retry_on": local_date(next_retry, customer.locale, customer.time_zone)},
        "update_card_url": card_links.update_card_url(customer.pk),
    })]


def _dunning_exhausted(event, customer, *, invoices, **_):
    """Retries are over and access is suspended (``unpaid``): one last "update your card". A
    cancellation or a pause as final action is told by its own event."""
    data = event.data or {}
    invoice = invoices.get(data.get("invoice"))
    if invoice is None or data.get("final_action") != "unpaid":
        return []
    return [_draft(f"payment_failed:exhausted:{event.pk}", "payment_failed", customer, event, {
        "invoice": invoice_vars(invoice, customer),
        "payment": {"amount": money(invoice.amount_due, invoice.currency, customer.locale), "reason": "",
                    "attempt": data.get("attempts") or 0, "next_retry_on": ""},
        "update_card_url": card_links.update_card_url(customer.pk),
    })]


def _cancel_scheduled(event, customer, *, subs, **_):
    sub = subs.get(event.subject_id)
    if sub is None:
        return []
    ends_at = datetime.fromisoformat(event.data["ends_at"]) if event.data.get("ends_at") else sub.current_period_end
    return [_draft(f"cancellation:event:{event.pk}", "cancellation", customer, event, {
        "subscription": subscription_vars(sub, customer),
        "access_ends_on": local_date(ends_at, customer.locale, customer.time_zone),
        "reactivate_url": links.reactivate_url(sub.pk) if sub.cancel_at_period_end else "",
    })]


def _canceled(event, customer, *, subs, **_):
    sub = subs.get(event.subject_id)
    if sub is None:
        return []
    # The end of a cancellation the customer was already told about (at period end) is not news.
    told = (Event.objects.filter(subject_type="subscription", subject_id=sub.pk, id__lt=event.pk,
                                 type__in=("subscription.cancel_scheduled", "subscription.reactivated"))
            .order_by("-id").values_list("type", flat=True).first())
    if told == "subscription.cancel_scheduled":
        return []
    ended = datetime.fromisoformat(event.data["ended_at"]) if event.data.get("ended_at") else event.occurred_at
    return [_draft(f"cancellation:event:{event.pk}", "cancellation", customer, event, {
        "subscription": subscription_vars(sub, customer),
        "access_ends_on": local_date(ended, customer.locale, customer.time_zone), "reactivate_url": "",
    })]


def _paused(event, customer, *, subs, **_):
    sub = subs.get(event.subject_id)
    if sub is None:
        return []
    resumes = event.data.get("resumes_at")
    return [_draft(f"paused:event:{event.pk}", "paused", customer, event, {
        "subscription": subscription_vars(sub, customer),
        "resumes_on": local_date(datetime.fromisoformat(resumes), customer.locale, customer.time_zone) if resumes else "",
    })]


def _resumed(event, customer, *, subs, **_):
    sub = subs.get(event.subject_id)
    if sub is None:
        return []
    return [_draft(f"resumed:event:{event.pk}", "resumed", customer, event, {"subscription": subscription_vars(sub, customer)})]


def _card_expiring(event, customer, *, methods, **_):
    method = methods.get(event.subject_id)
    if method is None or method.detached_at is not None:
        return []
    return [_draft(f"card_expiring:method:{method.pk}:{method.exp_year}-{method.exp_month:02d}", "card_expiring", customer,
                   event, {"card": card_vars(method), "update_card_url": card_links.update_card_url(customer.pk)})]


def _price_change(event: Event) -> list[Draft]:
    """A price change that applies to existing subscribers at a date (``effective_at`` and
    ``applies_to_existing`` in the event): tell each of them. Today's ``change_plan_price``
    grandfathers existing subscribers, so its events carry neither and nobody is told."""
    from assina.catalog.models import Plan
    from assina.subscriptions.models import Subscription

    data = event.data or {}
    if not data.get("applies_to_existing") or not data.get("effective_at"):
        return []
    plan = Plan.objects.filter(pk=event.subject_id).first()
    if plan is None:
        return []
    effective = datetime.fromisoformat(data["effective_at"])
    drafts = []
    subs = (Subscription.objects.filter(plan=plan).exclude(status="canceled")
            .select_related("customer", "plan", "payment_method").prefetch_related("items__plan_version"))
    for sub in subs:
        customer = sub.customer
        drafts.append(_draft(f"price_change:sub:{sub.pk}:v{data.get('version')}", "price_change", customer, event, {
            "subscription": subscription_vars(sub, customer),
            "old_price": money(data.get("previous_amount", 0), plan.currency, customer.locale),
            "new_price": money(data.get("amount", 0), plan.currency, customer.locale),
            "effective_on": local_date(effective, customer.locale, customer.time_zone),
        }))
    return drafts


HANDLERS = {
    "subscription.created": _welcome,
    "invoice.paid": _receipt,
    "payment.failed": _payment_failed,
    "subscription.cancel_scheduled": _cancel_scheduled,
    "subscription.canceled": _canceled,
    "subscription.paused": _paused,
    "subscription.resumed": _resumed,
    "payment_method.expiring": _card_expiring,
    "subscription.dunning_exhausted": _dunning_exhausted,
}

# The events whose messages other jobs read: the onboarding reminders follow the welcome.
READ_BY_REMINDERS = tuple(event_type for event_type, handler in HANDLERS.items() if handler is _welcome)

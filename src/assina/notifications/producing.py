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
from django.utils.translation import gettext as _

from assina.customers.models import Customer
from assina.events.models import Event

from . import card_links, links
from .catch_up_receipts import catch_up_group, catch_up_receipt
from .context import card_vars, invoice_vars, local_date, money, subscription_vars
from .declines import decline_reason
from .models import EventReceipt, Message, ProducerState
from .outbox import Draft, build_row, render_new, store
from .rendering import TemplateCache

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
        rows = render_new(_drafts_for(events, (lambda e: e.occurred_at) if at_due_time else (lambda e: until)), until)
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

# Messages whose premise a later change can undo (a cancellation reactivated, a pause resumed,
# an invoice paid after all): checked when produced and again, made anew, when sent.
RECHECKED = frozenset({"cancellation", "paused", "resumed", "payment_failed"})
# Events about a subscription that can undo or supersede what an earlier one told.
_LIFECYCLE = ("subscription.cancel_scheduled", "subscription.reactivated", "subscription.canceled",
              "subscription.paused", "subscription.resumed")


def _drafts_for(events: list[Event], when=None, told: dict | None = None) -> list[Draft]:
    """The drafts of ``events`` (in id order) as the database is now. ``when(event)`` is the
    time the message will say it is (its Date: the event's time under the test clock, else
    now); ``told`` collects, by key, whether each message goes out, so a later event of the
    same pass sees an earlier one's decision before it is stored."""
    from assina.invoices.models import Invoice
    from assina.payments.models import PaymentAttempt, PaymentMethod
    from assina.subscriptions.models import Subscription

    when = when or (lambda event: event.occurred_at)
    told = {} if told is None else told
    customers = Customer.objects.in_bulk({e.customer_id for e in events if e.customer_id})
    invoice_ids = {e.subject_id for e in events if e.type == "invoice.paid"}
    attempt_ids = [e.subject_id for e in events if e.type == "payment.failed"]
    attempts = PaymentAttempt.objects.in_bulk(attempt_ids) if attempt_ids else {}
    invoice_ids |= {a.invoice_id for a in attempts.values()}
    invoice_ids |= {e.data.get("invoice") for e in events if e.type == "subscription.dunning_exhausted" and e.data.get("invoice")}
    invoices = Invoice.objects.prefetch_related("lines").in_bulk(invoice_ids) if invoice_ids else {}
    sub_ids = {e.subject_id for e in events if e.subject_type == "subscription"}
    later = _later_events({e.subject_id for e in events if e.type in _LIFECYCLE},
                          min((e.pk for e in events if e.type in _LIFECYCLE), default=0))
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
            made = handler(event, customer, subs=subs, invoices=invoices, attempts=attempts, methods=methods,
                           at=when(event), later=later.get(event.subject_id, ()) if event.subject_type == "subscription" else (),
                           told=told)
            for draft in made:
                told[draft.key] = not draft.skip
            drafts += made
    return drafts


def _later_events(sub_ids: set, after: int) -> dict[int, list[Event]]:
    """The lifecycle events of these subscriptions from ``after`` on, by subscription, in order."""
    found: dict[int, list[Event]] = {}
    if not sub_ids:
        return found
    for event in (Event.objects.filter(subject_type="subscription", subject_id__in=sub_ids, type__in=_LIFECYCLE,
                                       id__gt=after).only("id", "type", "subject_id", "data", "occurred_at").order_by("id")):
        found.setdefault(event.subject_id, []).append(event)
    return found


def _after(event: Event, later, at: datetime, *types: str) -> list[Event]:
    """The events of ``types`` that followed ``event`` by ``at``, the time the message says it
    is: with the real clock, now; under the test clock, the message goes out at its event's
    time, so what happened later in simulated time has not happened yet for it."""
    return [e for e in later if e.pk > event.pk and e.type in types and e.occurred_at <= at]


def _draft(key: str, template: str, customer, event: Event, context: dict, skip: str = "") -> Draft:
    return Draft(key=key, template=template, customer=customer, due_at=event.occurred_at, context=context,
                 event_id=event.pk, skip=str(skip))


def _welcome(event, customer, *, subs, **_other):
    sub = subs.get(event.subject_id)
    if sub is None:
        return []
    # One welcome per customer, whatever number of subscriptions they start.
    return [_draft(f"welcome:customer:{customer.pk}", "welcome", customer, event,
                   {"subscription": subscription_vars(sub, customer), "trialing": sub.status == "trialing"})]


def _receipt(event, customer, *, invoices, subs, **_other):
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
        "invoice_pdf_url": links.invoice_pdf_url(invoice),
    })]


def _invoice_settled(invoice, at: datetime) -> str:
    """Why a "we could not charge" message is moot by ``at`` ("" while the invoice still waits)."""
    if invoice.status == "paid" and invoice.paid_at and invoice.paid_at <= at:
        return _("the invoice was paid before the message went out")
    if invoice.status == "void" and invoice.voided_at and invoice.voided_at <= at:
        return _("the invoice was voided before the message went out")
    return ""


def _card_buttons(customer) -> dict:
    """The two ways to a new card. The button: the card page itself (``update_card_url``), one
    step from the mail to the card fields -- every step lost costs recovered payments -- but it
    lives 7 days and is spent by any new card. Beside it, the customer's portal opened on their
    card (``account_url``, 30 days): still there when the card link is spent or old, and it makes
    a fresh card link."""
    return {"update_card_url": card_links.update_card_url(customer.pk),
            "account_url": links.portal_url(customer.pk, "update_payment_method")}


def _payment_failed(event, customer, *, attempts, invoices, at, **_other):
    attempt = attempts.get(event.subject_id)
    invoice = invoices.get(attempt.invoice_id) if attempt else None
    if invoice is None:
        return []
    data = event.data or {}
    next_retry = data.get("next_retry_at")
    next_retry = datetime.fromisoformat(next_retry) if next_retry else invoice.next_payment_attempt
    key, invoice_text, amount = f"payment_failed:attempt:{attempt.pk}", invoice_vars(invoice, customer), attempt.amount
    group = catch_up_group(invoice)
    if group:
        # A catch-up's periods fail together: one message per round of attempts, naming every
        # invoice still unpaid and their sum (the key is the same for each invoice of the round).
        unpaid = [i for i in group if i.status == "open"] or [invoice]
        first, number = group[0], data.get("attempt") or attempt.number
        key = f"payment_failed:catch_up:{first.subscription_id}:{first.created_at.isoformat()}:{number}"
        invoice_text = {**invoice_text, "number": ", ".join(i.number or "" for i in unpaid)}
        amount = sum(i.amount_due for i in unpaid)
    return [_draft(key, "payment_failed", customer, event, {
        "invoice": invoice_text,
        "payment": {"amount": money(amount, attempt.currency, customer.locale),
                    "reason": decline_reason(data.get("decline_code", attempt.decline_code), customer.locale),
                    "attempt": data.get("attempt") or attempt.number,
                    "next_retry_on": local_date(next_retry, customer.locale, customer.time_zone)},
        **_card_buttons(customer),
    }, skip=_invoice_settled(invoice, at))]


def _dunning_exhausted(event, customer, *, invoices, at, **_other):
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
        **_card_buttons(customer),
    }, skip=_invoice_settled(invoice, at))]


def _ends_at(event: Event, fallback: datetime) -> datetime:
    value = (event.data or {}).get("ends_at") or (event.data or {}).get("ended_at")
    return datetime.fromisoformat(value) if value else fallback


def _cancellation(event, customer, sub, end: datetime, at: datetime, *, reactivatable: bool, skip: str = "") -> Draft:
    """A scheduled end is told in the future tense with the reactivate link, a past one in the past."""
    ended = end <= at
    return _draft(f"cancellation:event:{event.pk}", "cancellation", customer, event, {
        "subscription": subscription_vars(sub, customer),
        "access_ends_on": local_date(end, customer.locale, customer.time_zone), "ended": ended,
        "reactivate_url": links.reactivate_url(sub.pk, event.pk) if reactivatable and not ended else "",
    }, skip=skip)


def _cancel_scheduled(event, customer, *, subs, at, later, **_other):
    sub = subs.get(event.subject_id)
    if sub is None:
        return []
    scheduled_end = _ends_at(event, sub.current_period_end)
    skip = ""
    if _after(event, later, at, "subscription.reactivated"):
        skip = _("the cancellation was undone (reactivated) before the message went out")
    elif any(_ends_at(e, e.occurred_at) < scheduled_end for e in _after(event, later, at, "subscription.canceled")):
        skip = _("the subscription ended before the scheduled date; that end has its own message")
    return [_cancellation(event, customer, sub, scheduled_end, at, reactivatable=True, skip=skip)]


def _canceled(event, customer, *, subs, at, **_other):
    sub = subs.get(event.subject_id)
    if sub is None:
        return []
    ended = _ends_at(event, event.occurred_at)
    # The end of a cancellation the customer was already told about (at period end) is not
    # news; an end earlier than the one announced is.
    told = (Event.objects.filter(subject_type="subscription", subject_id=sub.pk, id__lt=event.pk,
                                 type__in=("subscription.cancel_scheduled", "subscription.reactivated"))
            .order_by("-id").only("type", "data", "occurred_at").first())
    if told is not None and told.type == "subscription.cancel_scheduled" and ended >= _ends_at(told, ended):
        return []
    return [_cancellation(event, customer, sub, ended, at, reactivatable=False)]


def _paused(event, customer, *, subs, at, later, **_other):
    sub = subs.get(event.subject_id)
    if sub is None:
        return []
    skip = ""
    if _after(event, later, at, "subscription.resumed"):
        skip = _("the pause was undone (resumed) before the message went out")
    elif _after(event, later, at, "subscription.canceled"):
        skip = _("the subscription ended before the message went out; the end has its own message")
    resumes = event.data.get("resumes_at")
    return [_draft(f"paused:event:{event.pk}", "paused", customer, event, {
        "subscription": subscription_vars(sub, customer),
        "resumes_on": local_date(datetime.fromisoformat(resumes), customer.locale, customer.time_zone) if resumes else "",
    }, skip=skip)]


def _resumed(event, customer, *, subs, at, later, told, **_other):
    sub = subs.get(event.subject_id)
    if sub is None:
        return []
    skip = ""
    if _after(event, later, at, "subscription.paused", "subscription.canceled"):
        skip = _("the subscription was paused again or ended before the message went out")
    elif not _pause_told(event, told):
        # Paused and resumed before either message went out: nothing changed for the customer.
        skip = _("the pause it ends was never told (it was undone before its message went out)")
    return [_draft(f"resumed:event:{event.pk}", "resumed", customer, event,
                   {"subscription": subscription_vars(sub, customer)}, skip=skip)]


def _pause_told(event: Event, told: dict) -> bool:
    """Whether the customer was (or is being) told about the pause this resume ends."""
    pause = (Event.objects.filter(subject_type="subscription", subject_id=event.subject_id, id__lt=event.pk,
                                  type="subscription.paused").order_by("-id").values_list("pk", flat=True).first())
    if pause is None:
        return False
    key = f"paused:event:{pause}"
    if key in told:
        return told[key]
    status = Message.objects.filter(key=key).values_list("status", flat=True).first()
    return status is not None and status != Message.Status.SKIPPED


def _card_expiring(event, customer, *, methods, **_other):
    method = methods.get(event.subject_id)
    if method is None or method.detached_at is not None:
        return []
    return [_draft(f"card_expiring:method:{method.pk}:{method.exp_year}-{method.exp_month:02d}", "card_expiring", customer,
                   event, {"card": card_vars(method), **_card_buttons(customer)})]


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


# --- checked again when sent -------------------------------------------------------------------

def remake(messages: list[Message], dates: dict[int, datetime]) -> dict[int, Message]:
    """The rows of ``messages`` whose premise can be undone, made again from their events as
    the database is now (unsaved), by message id: a row marked ``skipped`` with the reason when
    the premise no longer holds, else the text to send (a scheduled end that has passed by the
    message's date ``dates[id]`` now reads in the past tense). Other messages are not listed."""
    wanted = [m for m in messages if m.event_id and m.template in RECHECKED]
    if not wanted:
        return {}
    by_event = {m.event_id: m for m in wanted}
    events = sorted(Event.objects.filter(pk__in=list(by_event)), key=lambda e: e.pk)
    # What this batch decides counts before it is written (``told``): a pause skipped here
    # means its resume, later in the batch, was never told either.
    drafts = {d.key: d for d in _drafts_for(events, lambda e: dates[by_event[e.pk].pk], told={})}
    templates = TemplateCache()
    made = {}
    for message in wanted:
        draft = drafts.get(message.key)
        if draft is None:
            made[message.pk] = Message(status=Message.Status.SKIPPED,
                                       provider_response=_("what the message told no longer applies"))
            continue
        made[message.pk] = build_row(draft, templates.get(draft.template, draft.customer.locale), dates[message.pk])
    return made

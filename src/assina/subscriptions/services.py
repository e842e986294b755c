"""Use cases of a subscription's life: subscribe, cancel, reactivate, pause and resume.

Plan and quantity changes live in ``changes.py``; the work the clock makes due (renewals,
trial ends, scheduled changes, period-end cancellations) lives in ``due_work.py``.
Each use case: open a transaction, lock, call ``assina.core``, save, record events; then,
after the commit, collect any payment it started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from assina.catalog.models import Plan
from assina.catalog.queries import current_version_ids
from assina.catalog.services import get_plan, redeem
from assina.time import now as clock_now
from assina.core.catch_up import earliest_start
from assina.core.discounts import discount_window
from assina.core.early_end import UnusedTimeLine, credits_unused_time, settle_early_end, stops_within_period
from assina.core.errors import DomainError
from assina.core.input_bounds import EARLIEST, LATEST, date_in_bounds
from assina.core.invoice_states import InvoiceStatus
from assina.core.invoicing import DraftLine, LineKind, draft_for_period
from assina.core.proration import prorate
from assina.core.states import LIVE, SubscriptionStatus
from assina.db import insert_rows
from assina.customers.models import BalanceTransaction, Customer
from assina.events.services import record
from assina.i18n import CustomerTexts, status_word
from assina.invoices.models import Invoice
from assina.invoices.services import (
    InvoiceDraft, add_balance, create_credit_note, issue_invoices, pending_lines, void_invoice,
)
from assina.payments.services import collect, start_attempts
from .metered import metered_lines

from . import store
from .lifecycle import bill_period_now, customer_method, set_status
from .line_texts import PRORATION_TEXTS, UNUSED_TIME_TEXTS
from .models import ScheduledChange, Subscription, SubscriptionItem
from .terms import TermsLoader, index_of_period_starting, terms_for

S = SubscriptionStatus

class SubscriptionError(DomainError):
    pass


class BackdateError(SubscriptionError):
    """A start further back than the backdating bound allows (API problem ``start_too_early``)."""

    code = "start_too_early"


def get_subscription(sub_id: int | str, *, lock: bool = False) -> Subscription:
    value = str(sub_id).removeprefix("sub_")
    if not value.isdigit():
        raise SubscriptionError(_("unknown subscription %(id)s") % {"id": repr(sub_id)})
    query = Subscription.objects.select_related("customer__default_payment_method", "plan", "payment_method")
    if lock:
        # Lock only the subscription row: PostgreSQL refuses FOR UPDATE on the nullable side of the
        # outer joins that select_related adds (payment methods), and nothing else needs locking here.
        query = query.select_for_update(of=("self",))
    sub = query.filter(pk=int(value)).first()
    if sub is None:
        raise SubscriptionError(_("unknown subscription %(id)s") % {"id": repr(sub_id)})
    return sub


def refuse_if_held(sub: Subscription) -> None:
    """A subscription held for catch-up is released first (``release``): a change, a pause or
    a cancellation at period end would act on a period that is long over and never billed."""
    if sub.catch_up_held_at is not None:
        raise SubscriptionError(_("subscription sub_%(id)s is held for catch-up (periods were missed); release it first: "
                                  "bill the missed periods or skip them") % {"id": sub.pk})


def _resolve_time(at: datetime | None, now: datetime | None = None) -> datetime:
    now = now or clock_now()
    if at is None:
        return now
    if at.tzinfo is None or at.utcoffset() is None:
        raise SubscriptionError(_("times must include a time zone (for example 2027-01-31T10:00:00Z)"))
    if at > now:
        raise SubscriptionError(_("%(at)s is in the future (the clock says %(now)s); advance the clock first")
                                % {"at": at.isoformat(), "now": now.isoformat()})
    return at


def _addon_versions(plan: Plan, addons: list[tuple[str | Plan, int]]) -> list[tuple[int, int]]:
    """The add-ons' current version ids and quantities, the base plan's current version last."""
    checked = []
    for code, quantity in addons:
        addon = code if isinstance(code, Plan) else get_plan(code)  # a Plan: the caller has just read it
        code = addon.code
        if addon.kind != Plan.Kind.ADDON:
            raise SubscriptionError(_("%(code)s is a plan, not an add-on") % {"code": repr(code)})
        if addon.currency != plan.currency or addon.interval != plan.interval or addon.interval_count != plan.interval_count:
            raise SubscriptionError(_("add-on %(addon)s must bill in the same currency and interval as plan %(plan)s")
                                    % {"addon": repr(code), "plan": repr(plan.code)})
        if quantity < 1:
            raise SubscriptionError(_("an add-on quantity must be at least 1"))
        checked.append((addon, quantity))
    versions = current_version_ids([plan.pk, *(addon.pk for addon, _q in checked)])
    return [(versions.get(addon.pk), quantity) for addon, quantity in checked] + [(versions.get(plan.pk), 1)]


def create_subscription(*, customer: Customer, plan_code: str, start: datetime | None = None, quantity: int = 1,
                        coupon_code: str | None = None, addons: list[tuple[str | Plan, int]] | None = None,
                        trial_days: int | None = None, metadata: dict | None = None,
                        plan: Plan | None = None) -> Subscription:
    """Subscribe a customer. With a trial nothing is billed until it ends; otherwise the first
    period is invoiced and charged at once, and a failed first payment leaves it incomplete.

    ``plan`` (the plan ``plan_code`` names) and add-ons given as ``Plan`` rows: what the caller
    has just read, not read again."""
    sub, charges = open_subscription(customer=customer, plan_code=plan_code, start=start, quantity=quantity,
                                     coupon_code=coupon_code, addons=addons, trial_days=trial_days, metadata=metadata,
                                     plan=plan)
    collect(charges, sub.started_at)
    sub.refresh_from_db()
    return sub


def open_subscription(*, customer: Customer, plan_code: str, start: datetime | None = None, quantity: int = 1,
                      coupon_code: str | None = None, addons: list[tuple[str | Plan, int]] | None = None,
                      trial_days: int | None = None, metadata: dict | None = None,
                      plan: Plan | None = None) -> tuple[Subscription, list]:
    """``create_subscription``'s writes without its charge: the subscription, its first invoice
    and the payment attempt, in one transaction (the caller's, when it has one), and the pending
    charges, which the caller collects (``payments.services.collect``) once that transaction has
    committed."""
    opening = prepare_opening(plan_code=plan_code, start=start, quantity=quantity, addons=addons,
                              trial_days=trial_days, plan=plan)
    return write_opening(customer, opening, coupon_code=coupon_code, metadata=metadata)


@dataclass
class Opening:
    """A new subscription's plan, items and times, read and checked before its write
    transaction: a checkout takes SQLite's write lock only for the writes."""

    plan: Plan
    created: datetime  # when it is written: an incomplete subscription expires 23 h after this
    start: datetime
    quantity: int
    trial_days: int
    items: list[tuple[int, int]]  # (plan version id, quantity): the base plan first, then the add-ons
    loader: TermsLoader  # one loader for the terms built by the writes: the first period, its invoice


def prepare_opening(*, plan_code: str, start: datetime | None = None, quantity: int = 1,
                    addons: list[tuple[str | Plan, int]] | None = None, trial_days: int | None = None,
                    plan: Plan | None = None) -> Opening:
    """Check and read what ``write_opening`` writes (``plan``: the plan ``plan_code`` names, as
    the caller has just read it; add-ons given as ``Plan`` rows are not read again)."""
    created = clock_now()
    start = _resolve_time(start, created)
    plan = plan if plan is not None and plan.code == plan_code else get_plan(plan_code)
    if plan.kind != Plan.Kind.BASE or not plan.active:
        raise SubscriptionError(_("%(plan)s is not an active plan that customers can subscribe to") % {"plan": repr(plan_code)})
    _require_recent_start(start, created, plan)
    if not isinstance(quantity, int) or quantity < 1:
        raise SubscriptionError(_("quantity must be a whole number of at least 1"))
    trial = plan.trial_days if trial_days is None else trial_days
    if trial < 0:
        raise SubscriptionError(_("trial days cannot be negative"))
    *addon_versions, (base_version, _one) = _addon_versions(plan, addons or [])
    items = [(base_version, quantity), *addon_versions]
    loader = TermsLoader()
    loader.load_versions(v for v, _q in items)
    return Opening(plan=plan, created=created, start=start, quantity=quantity, trial_days=trial, items=items,
                   loader=loader)


def write_opening(customer: Customer, opening: Opening, *, coupon_code: str | None = None,
                  metadata: dict | None = None) -> tuple[Subscription, list]:
    """Write the subscription ``opening`` describes for ``customer`` (see ``open_subscription``)."""
    plan, start, loader = opening.plan, opening.start, opening.loader
    if plan.currency != customer.currency:
        raise SubscriptionError(_("currency mismatch: plan %(plan)s bills in %(plan_currency)s, customer %(customer)s pays in "
                                  "%(customer_currency)s") % {"plan": plan.code, "plan_currency": plan.currency,
                                                              "customer": customer.email,
                                                              "customer_currency": customer.currency})
    with transaction.atomic():
        trial_end = start + timedelta(days=opening.trial_days) if opening.trial_days else None
        anchor = trial_end or start
        sub = Subscription(
            customer=customer, plan=plan, status=(S.TRIALING if trial_end else S.INCOMPLETE).value,
            currency=plan.currency, interval=plan.interval, interval_count=plan.interval_count,
            billing_anchor=anchor, billing_starts_at=anchor, started_at=start, trial_end=trial_end,
            current_period_start=start, current_period_end=trial_end or start, metadata=metadata or {},
            created_at=opening.created,
        )
        store.save(sub)
        # One INSERT, in the order items are read back (by id).
        insert_rows(SubscriptionItem, ["subscription_id", "plan_version_id", "quantity"],
                    [(sub.pk, version_id, q) for version_id, q in opening.items])
        loader.known_items(sub.pk, opening.items)
        record("subscription.created", sub, start, {"plan": plan.code, "quantity": opening.quantity,
                                                     "status": sub.status,
                                                     "trial_end": trial_end.isoformat() if trial_end else None})
        changed = ["status", "current_period_start", "current_period_end"]
        if coupon_code:  # after "created": event readers must never see a discount for an unknown subscription
            _apply_coupon(sub, coupon_code, start, loader, save=False)
            changed += ["coupon_id", "discount_applies_from", "discount_applies_until"]
        attempts = []
        if trial_end:
            sub.current_period_end = trial_end
        else:
            terms = terms_for(sub, loader)
            period = terms.period(0)
            sub.current_period_start, sub.current_period_end = period.start, period.end
            invoice, attempts = bill_period_now(sub, 0, Invoice.Reason.SUBSCRIPTION_CREATE, start, terms=terms, new=True)
            if invoice.status == InvoiceStatus.PAID.value:
                set_status(sub, S.ACTIVE, start, "nothing_to_pay")
        # What changed since the row was inserted, in one UPDATE.
        store.save_many([sub], changed)
    return sub, attempts


def _require_recent_start(start: datetime, now: datetime, plan: Plan) -> None:
    """A backdated start may lie at most one billing period of ``plan`` before ``now`` (or
    ``ASSINA_MAX_BACKDATE_DAYS``): every period since the start is billed, and a start in 1970
    once billed and charged 685 periods at once (``core.catch_up.earliest_start``)."""
    days = settings.ASSINA_MAX_BACKDATE_DAYS
    earliest = earliest_start(now, plan.interval, plan.interval_count, settings.TIME_ZONE, days)
    if start >= earliest:
        return
    if days is None:
        raise BackdateError(_("the start %(start)s is too far in the past: a subscription may start at most one billing "
                              "period before now (not before %(earliest)s)")
                            % {"start": start.isoformat(), "earliest": earliest.isoformat()})
    raise BackdateError(_("the start %(start)s is too far in the past: a subscription may start at most %(days)s days "
                          "before now (ASSINA_MAX_BACKDATE_DAYS; not before %(earliest)s)")
                        % {"start": start.isoformat(), "days": days, "earliest": earliest.isoformat()})


def _apply_coupon(sub: Subscription, code: str, at: datetime, loader: TermsLoader | None = None, *,
                  save: bool = True) -> None:
    """Redeem ``code`` for ``sub`` and set its discount window; ``save=False``: the caller
    writes the coupon's fields with the rest of the row, in the same transaction."""
    coupon = redeem(code, sub.plan.code, at)
    sub.coupon = coupon
    core = coupon.to_core()
    if loader is not None:
        loader.known_coupon(coupon.pk, core)
    terms = terms_for(sub, loader)
    first = terms.period(0)
    sub.discount_applies_from, sub.discount_applies_until = discount_window(
        core, first, lambda k: terms.boundary(k + 1))
    if save:
        store.save(sub, ["coupon", "discount_applies_from", "discount_applies_until"])
    record("subscription.discount_applied", sub, at, {"coupon": coupon.code})


def cancel_at_period_end(sub_id: int | str, reason: str = "") -> Subscription:
    """Cancel when the paid period ends; access is kept until then and ``reactivate`` undoes it."""
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        if sub.status == S.CANCELED.value:
            raise SubscriptionError(_("subscription sub_%(id)s is already canceled") % {"id": sub.pk})
        if sub.status in (S.INCOMPLETE.value, S.PAUSED.value):
            raise SubscriptionError(_("a %(status)s subscription cannot be canceled at period end; cancel it now")
                                    % {"status": status_word(sub.status)})
        if sub.cancel_at_period_end:
            raise SubscriptionError(_("subscription sub_%(id)s is already set to cancel at period end") % {"id": sub.pk})
        refuse_if_held(sub)
        sub.cancel_at_period_end = True
        sub.canceled_at = at
        sub.cancel_reason = reason[:200]
        store.save(sub, ["cancel_at_period_end", "canceled_at", "cancel_reason"])
        record("subscription.cancel_scheduled", sub, at, {"ends_at": sub.current_period_end.isoformat(), "reason": reason})
    return sub


def reactivate(sub_id: int | str) -> Subscription:
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        if sub.status == S.CANCELED.value:
            raise SubscriptionError(_("subscription sub_%(id)s has ended and cannot be reactivated; create a new subscription")
                                    % {"id": sub.pk})
        if not sub.cancel_at_period_end:
            raise SubscriptionError(_("subscription sub_%(id)s is not scheduled to cancel") % {"id": sub.pk})
        sub.cancel_at_period_end = False
        sub.canceled_at = None
        sub.cancel_reason = ""
        store.save(sub, ["cancel_at_period_end", "canceled_at", "cancel_reason"])
        record("subscription.reactivated", sub, at, {})
    return sub


def cancel_now(sub_id: int | str, *, prorate: bool = False, reason: str = "") -> Subscription:
    """End the subscription at once; with ``prorate`` the unused part of the period becomes credit."""
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        if sub.status == S.CANCELED.value:
            raise SubscriptionError(_("subscription sub_%(id)s is already canceled") % {"id": sub.pk})
        if sub.status == S.INCOMPLETE.value:
            # It never started: its first invoice is void, as when it expires.
            for invoice_id in Invoice.objects.filter(subscription=sub, status=InvoiceStatus.OPEN.value).values_list("pk", flat=True):
                void_invoice(invoice_id, at)
        # In the same transaction: a cancellation must never survive without its credit.
        charges = _settle_period(sub, at, "cancellation", credit_unused=prorate)
        _end(sub, at, reason or sub.cancel_reason)
    collect(charges, at)
    return sub


def _end(sub: Subscription, at: datetime, reason: str) -> None:
    set_status(sub, S.CANCELED, at, "canceled")
    sub.ended_at = at
    sub.canceled_at = sub.canceled_at or at
    sub.cancel_reason = reason[:200]
    sub.cancel_at_period_end = False
    sub.catch_up_held_at = None  # ended: nothing is left to release
    store.save(sub)
    ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING).update(status=ScheduledChange.Status.CANCELED)
    record("subscription.canceled", sub, at, {"reason": sub.cancel_reason, "ended_at": at.isoformat()})


def end_at_period_end(sub: Subscription, at: datetime) -> list:
    """Due work: the period of a subscription set to cancel has ended (caller holds the lock).

    The last period's metered usage is billed on a final invoice; its pending payment attempts
    are returned (charged after the commit, or by the next run's reconciliation)."""
    attempts = []
    usage = _final_usage_lines(sub, sub.current_period_end)
    if usage:
        invoices = issue_invoices([InvoiceDraft(customer_id=sub.customer_id, subscription_id=sub.pk, currency=sub.currency,
                                                billing_reason=Invoice.Reason.SUBSCRIPTION_CYCLE, at=at, lines=usage,
                                                locale=sub.customer.locale)])
        attempts = start_attempts(invoices, {sub.customer_id: customer_method(sub)}, at)
    _end(sub, at, sub.cancel_reason)
    return attempts


def _current_period_invoice(sub: Subscription) -> Invoice | None:
    return Invoice.objects.filter(subscription=sub, period_start=sub.current_period_start,
                                  status__in=[InvoiceStatus.PAID.value, InvoiceStatus.OPEN.value]).first()


def _settle_period(sub: Subscription, at: datetime, reason: str, *, credit_unused: bool) -> list:
    """Settle the current period when it stops early (pause, cancel now): what it produces is
    ``core.early_end.settle_early_end``'s rule; this writes it.

    The unused time is priced at the subscription's current terms (after any change made
    during the period)."""
    carried, carried_ids = pending_lines(sub.pk)
    usage = _final_usage_lines(sub, at)
    credited = credits_unused_time(sub.status, credit_unused, sub.current_period_start, sub.current_period_end, at)
    unused = _unused_amount(sub, at) if credited else 0
    note_reason, line_text = UNUSED_TIME_TEXTS[reason]
    locale = sub.customer.locale
    invoice = creditable = None
    if not carried:
        invoice = _current_period_invoice(sub)
        if invoice is not None and unused > 0:
            creditable = invoice.total - sum(invoice.credit_notes.values_list("amount", flat=True))
    settled = settle_early_end(unused, at, creditable=creditable, carried=carried, usage=usage, unused_line=UnusedTimeLine(
        template=line_text, params={"plan": sub.plan.name}, item_code=sub.plan.code, period_end=sub.current_period_end))
    description = CustomerTexts().text(locale, note_reason) if not carried else ""
    if settled.credit_note:
        create_credit_note(invoice.pk, settled.credit_note, description, at)
    if settled.to_balance:
        add_balance(sub.customer_id, settled.to_balance, sub.currency, BalanceTransaction.Kind.PRORATION_CREDIT, at, None,
                    description)
    if not settled.final_lines:
        return []
    invoices = issue_invoices([InvoiceDraft(customer_id=sub.customer_id, subscription_id=sub.pk, currency=sub.currency,
                                            billing_reason=Invoice.Reason.SUBSCRIPTION_UPDATE, at=at,
                                            lines=list(settled.final_lines),
                                            pending_item_ids=carried_ids if settled.takes_carried_items else [],
                                            locale=locale)])
    return start_attempts(invoices, {sub.customer_id: customer_method(sub)}, at)


def _final_usage_lines(sub: Subscription, at: datetime) -> list[DraftLine]:
    """Metered usage of the period that stops now (a paused or never-started subscription has
    none: the pause already billed it)."""
    if sub.status in (S.PAUSED.value, S.INCOMPLETE.value) or at <= sub.current_period_start:
        return []
    return metered_lines([(sub.pk, sub.current_period_start, at)]).get(sub.pk, [])


def _unused_amount(sub: Subscription, at: datetime) -> int:
    """What the rest of the current period is worth at the current terms (discounts included)."""
    if not stops_within_period(sub.current_period_start, sub.current_period_end, at):
        return 0
    terms = terms_for(sub)
    index = index_of_period_starting(terms, sub.current_period_start)
    period = terms.period(index)
    return prorate(draft_for_period(terms, index, period).prorated_total, period, at)


def pause(sub_id: int | str, *, resumes_at: datetime | None = None) -> Subscription:
    """Pause now: billing stops, the unused part of the paid period becomes credit for the resume."""
    at = clock_now()
    if resumes_at is not None and not date_in_bounds(resumes_at):
        raise SubscriptionError(_("the resume date %(date)s must fall between the years %(earliest)s and %(latest)s")
                                % {"date": resumes_at.isoformat(), "earliest": EARLIEST.year, "latest": LATEST.year - 1})
    if resumes_at is not None and resumes_at <= at:
        raise SubscriptionError(_("the resume date must be in the future"))
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        if sub.status not in LIVE:
            raise SubscriptionError(_("a %(status)s subscription cannot be paused") % {"status": status_word(sub.status)})
        refuse_if_held(sub)
        if sub.cancel_at_period_end:
            raise SubscriptionError(_("the subscription is set to cancel at period end; reactivate it before pausing"))
        # In the same transaction: a pause must never survive without the credit for the unused time.
        charges = _settle_period(sub, at, "pause", credit_unused=True)
        set_status(sub, S.PAUSED, at, "paused")
        sub.paused_at = at
        sub.resumes_at = resumes_at
        sub.current_period_end = at
        store.save(sub)
        ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING).update(status=ScheduledChange.Status.CANCELED)
        record("subscription.paused", sub, at, {"resumes_at": resumes_at.isoformat() if resumes_at else None})
    collect(charges, at)
    return sub


def resume(sub_id: int | str, at: datetime | None = None) -> Subscription:
    """Resume a paused subscription: a new period starts now and is billed at once."""
    at = at or clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        if sub.status != S.PAUSED.value:
            raise SubscriptionError(_("subscription sub_%(id)s is %(status)s, not paused")
                                    % {"id": sub.pk, "status": status_word(sub.status)})
        attempts = resume_locked(sub, at)
    collect(attempts, at)
    sub.refresh_from_db()
    return sub


def resume_locked(sub: Subscription, at: datetime) -> list:
    if _paused_at_a_billed_period_start(sub, at):
        return _continue_period(sub, at)
    set_status(sub, S.ACTIVE, at, "resumed")
    sub.billing_anchor = at
    sub.billing_starts_at = at
    sub.paused_at = None
    sub.resumes_at = None
    period = terms_for(sub).period(0)
    sub.current_period_start, sub.current_period_end = period.start, period.end
    store.save(sub)
    record("subscription.resumed", sub, at, {})
    _invoice, attempts = bill_period_now(sub, 0, Invoice.Reason.SUBSCRIPTION_CYCLE, at)
    return attempts


def _paused_at_a_billed_period_start(sub: Subscription, at: datetime) -> bool:
    """Whether the pause came at the very start of a period that is already invoiced, and the
    resume at that same instant: a new period from now would bill that period a second time
    (the database refuses a second invoice for it)."""
    return sub.current_period_start == at and Invoice.objects.filter(subscription=sub, period_start=at).exists()


def _continue_period(sub: Subscription, at: datetime) -> list:
    """Resume by continuing the period the pause interrupted at its start (same anchor, same
    end), as if the pause had not happened: the pause credited that period's unused time
    (all of it), so it is charged back on a change invoice, which the credit pays first.
    Nothing is billed twice (the period's invoice stays the only one for it) and nothing is
    lost (credit and charge-back are the same amount at the same terms)."""
    set_status(sub, S.ACTIVE, at, "resumed")
    sub.paused_at = None
    sub.resumes_at = None
    terms = terms_for(sub)  # the pause left the anchor as it was
    period = terms.period(index_of_period_starting(terms, at))
    sub.current_period_start, sub.current_period_end = period.start, period.end
    store.save(sub)
    record("subscription.resumed", sub, at, {"continued_period": True})
    attempts = []
    amount = _unused_amount(sub, at)  # what the pause credited, computed the same way
    if amount > 0:
        draft = draft_for_period(terms, index_of_period_starting(terms, at), period)
        kinds = {line.kind for line in draft.lines}
        template = PRORATION_TEXTS[("remaining", LineKind.ADDON in kinds, LineKind.DISCOUNT in kinds)]
        params = {"plan": sub.plan.name, "quantity": _base_quantity(sub)}
        line = DraftLine(kind=LineKind.PRORATION, description=template % params, amount=amount, period_start=at,
                         period_end=period.end, item_code=sub.plan.code, description_template=template,
                         description_params=params)
        invoices = issue_invoices([InvoiceDraft(customer_id=sub.customer_id, subscription_id=sub.pk, currency=sub.currency,
                                                billing_reason=Invoice.Reason.SUBSCRIPTION_UPDATE, at=at, lines=[line],
                                                locale=sub.customer.locale)])
        attempts = start_attempts(invoices, {sub.customer_id: customer_method(sub)}, at)
    return attempts


def _base_quantity(sub: Subscription) -> int:
    item = sub.items.select_related("plan_version__plan").filter(plan_version__plan__kind=Plan.Kind.BASE).first()
    return item.quantity if item else 1


def expire_incomplete(sub: Subscription, at: datetime) -> None:
    """Due work: the first payment never succeeded; end it and void its invoice (Stripe's rule)."""
    for invoice_id in Invoice.objects.filter(subscription=sub, status=InvoiceStatus.OPEN.value).values_list("pk", flat=True):
        void_invoice(invoice_id, at)
    _end(sub, at, "incomplete_expired")

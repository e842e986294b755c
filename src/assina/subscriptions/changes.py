"""Changing a subscription's plan or quantity: now with proration (Stripe's way), or at period end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from assina.catalog.models import Plan, PlanVersion
from assina.catalog.services import get_plan
from assina.time import now as clock_now
from assina.core.invoicing import DraftLine, LineKind, draft_for_period
from assina.core.periods import Period
from assina.core.proration import Proration, prorate_change
from assina.core.states import LIVE, SubscriptionStatus
from assina.events.services import record
from assina.i18n import CustomerTexts, status_word
from assina.invoices.models import Invoice, PendingItem
from assina.invoices.services import InvoiceDraft, issue_invoices, pending_lines
from assina.payments.services import collect, start_attempts

from . import store
from .lifecycle import bill_period_now, customer_method
from .line_texts import PRORATION_TEXTS
from .models import ScheduledChange, Subscription, SubscriptionItem
from .services import SubscriptionError, _apply_coupon, get_subscription, refuse_if_held
from .terms import index_of_period_starting, terms_for

S = SubscriptionStatus


@dataclass(frozen=True)
class ChangePreview:
    """What an immediate change would bill: the proration lines and their net amount."""

    lines: tuple[DraftLine, ...]
    proration: Proration | None
    resets_period: bool

    @property
    def net(self) -> int:
        return sum(l.amount for l in self.lines)


def _base_item(sub: Subscription) -> SubscriptionItem:
    return sub.items.select_related("plan_version__plan").get(plan_version__plan__kind=Plan.Kind.BASE)


def _target(sub: Subscription, plan_code: str | None, quantity: int | None, *,
            same_allowed: bool = False) -> tuple[Plan, PlanVersion, int]:
    item = _base_item(sub)
    current_plan = item.plan_version.plan
    if quantity is not None and (not isinstance(quantity, int) or quantity < 1):
        raise SubscriptionError(_("quantity must be a whole number of at least 1"))
    plan = get_plan(plan_code) if plan_code else current_plan
    if plan.kind != Plan.Kind.BASE or not plan.active:
        raise SubscriptionError(_("%(plan)s is not an active plan") % {"plan": repr(plan.code)})
    if plan.currency != sub.currency:
        raise SubscriptionError(_("currency mismatch: the subscription bills in %(currency)s, plan %(plan)s in %(plan_currency)s")
                                % {"currency": sub.currency, "plan": plan.code, "plan_currency": plan.currency})
    new_quantity = quantity if quantity is not None else item.quantity
    if (plan.interval, plan.interval_count) != (sub.interval, sub.interval_count) and \
            sub.items.filter(plan_version__plan__kind=Plan.Kind.ADDON).exists():
        # Add-ons bill in the subscription's interval: a monthly add-on must not be billed yearly.
        raise SubscriptionError(_("plan %(plan)s bills in another interval than this subscription's add-ons; "
                                  "cancel and subscribe again with add-ons of that interval") % {"plan": repr(plan.code)})
    if plan.pk == current_plan.pk and new_quantity == item.quantity and not same_allowed:
        raise SubscriptionError(_("nothing to change: same plan and quantity"))
    # Keeping the plan keeps its (possibly grandfathered) version; a new plan takes its newest price.
    version = item.plan_version if plan.pk == current_plan.pk else plan.current_version()
    return plan, version, new_quantity


def _swap_base_item(sub: Subscription, plan: Plan, version: PlanVersion, quantity: int) -> None:
    item = _base_item(sub)
    item.plan_version = version
    item.quantity = quantity
    item.save(update_fields=["plan_version", "quantity"])
    sub.plan = plan


def _proration_lines(sub: Subscription, plan: Plan, version: PlanVersion, quantity: int, at: datetime) -> ChangePreview:
    old_terms = terms_for(sub)
    old_plan = _base_item(sub).plan_version.plan
    period = Period(sub.current_period_start, sub.current_period_end)
    same_interval = plan.interval == sub.interval and plan.interval_count == sub.interval_count
    index = index_of_period_starting(old_terms, sub.current_period_start)
    old_draft = draft_for_period(old_terms, index)
    old_total = old_draft.prorated_total
    with transaction.atomic():
        # Price the new terms inside a savepoint that is always rolled back: a preview changes nothing.
        sid = transaction.savepoint()
        _swap_base_item(sub, plan, version, quantity)
        new_terms = terms_for(sub)
        new_draft = draft_for_period(new_terms, index) if same_interval else None
        transaction.savepoint_rollback(sid)
    old_quantity = _base_quantity(sub)
    if same_interval:
        proration = prorate_change(old_total, new_draft.prorated_total, period, at)
        lines = (
            _proration_line("unused", old_plan, old_quantity, old_draft, proration.credit, at, period),
            _proration_line("remaining", plan, quantity, new_draft, proration.charge, at, period),
        )
        return ChangePreview(lines=tuple(l for l in lines if l.amount), proration=proration, resets_period=False)
    proration = prorate_change(old_total, 0, period, at)
    credit = _proration_line("unused", old_plan, old_quantity, old_draft, proration.credit, at, period)
    return ChangePreview(lines=(credit,) if credit.amount else (), proration=proration, resets_period=True)


def _proration_line(which: str, plan: Plan, quantity: int, draft, amount: int, at: datetime, period: Period) -> DraftLine:
    kinds = {line.kind for line in draft.lines}
    template = PRORATION_TEXTS[(which, LineKind.ADDON in kinds, LineKind.DISCOUNT in kinds)]
    params = {"plan": plan.name, "quantity": quantity}
    return DraftLine(kind=LineKind.PRORATION, description=template % params, amount=amount, period_start=at,
                     period_end=period.end, item_code=plan.code, description_template=template, description_params=params)


def _base_quantity(sub: Subscription) -> int:
    return _base_item(sub).quantity


def preview_change(sub_id: int | str, *, plan_code: str | None = None, quantity: int | None = None) -> ChangePreview:
    at = clock_now()
    sub = get_subscription(sub_id)
    _check_changeable(sub)
    plan, version, new_quantity = _target(sub, plan_code, quantity)
    if sub.status == S.TRIALING.value:
        return ChangePreview(lines=(), proration=None, resets_period=False)
    return _proration_lines(sub, plan, version, new_quantity, at)


def _check_changeable(sub: Subscription) -> None:
    if sub.status not in LIVE:
        raise SubscriptionError(_("a %(status)s subscription cannot be changed") % {"status": status_word(sub.status)})
    refuse_if_held(sub)


def change_subscription(sub_id: int | str, *, plan_code: str | None = None, quantity: int | None = None,
                        at_period_end: bool = False, invoice_now: bool = False,
                        coupon_code: str | None = None, source: str | None = None) -> Subscription:
    """Change plan and/or quantity.

    Now (default): credit the unused part of the old price and charge the rest of the new one,
    carried to the next invoice, or billed at once with ``invoice_now``. A change of billing
    interval always starts a new period now and bills it at once.
    At period end: a scheduled change the clock applies when the current period ends.
    ``coupon_code`` (a change of billing interval only): a coupon redeemed for the new cycle, in
    place of any current one, so the new period's first invoice carries its discount (the
    annual switch's incentive, ``assina.upgrades``).
    ``source`` (at period end): who scheduled it, when the owner did (``PRICE_MIGRATION``): the
    change is then the owner's (``owners_change``). While the owner's change is pending, a
    change at period end keeps its price (``_over_owners``); a quantity changed now is the one the
    owner's change renews with (``_follow_quantity``).
    """
    at = clock_now()
    attempts = []
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        _check_changeable(sub)
        # The owner's change pending (a price migration's): a customer's change at period end
        # carries its price (``_over_owners``), so asking its own plan and quantity is no no-op.
        owners = None if source or not at_period_end else _owners_pending(sub)
        plan, version, new_quantity = _target(sub, plan_code, quantity, same_allowed=owners is not None)
        if coupon_code and (at_period_end or sub.status == S.TRIALING.value
                            or (plan.interval, plan.interval_count) == (sub.interval, sub.interval_count)):
            # A caller's mistake, not a customer's: no page or command passes a coupon otherwise.
            raise ValueError("a coupon comes with a plan change only when it starts a new cycle at once (a new interval)")
        previous = {"plan": sub.plan.code, "quantity": _base_quantity(sub)}
        change = {"plan": plan.code, "quantity": new_quantity}
        if at_period_end:
            if source:
                change["source"] = source
            elif owners:
                change = _over_owners(sub, owners, plan, new_quantity)
            _schedule(sub, previous, change, at)
            return sub
        if plan.pk == sub.plan_id:
            _follow_quantity(sub, new_quantity)
        else:
            # A move to another plan now: a change scheduled for the period's end (a price
            # migration's included) was about the plan left; applied, it would move the customer back.
            ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING).update(
                status=ScheduledChange.Status.CANCELED)
        if sub.status == S.TRIALING.value:
            _swap_base_item(sub, plan, version, new_quantity)
            store.save(sub)
            record("subscription.updated", sub, at, {"previous": previous, **change, "proration": 0})
            return sub
        preview = _proration_lines(sub, plan, version, new_quantity, at)
        if preview.resets_period and Invoice.objects.filter(subscription=sub, period_start=at).exists():
            # A period is billed once (unique subscription + period start): only a frozen test
            # clock can ask for a second period starting at the very same moment.
            raise SubscriptionError(
                _("this subscription already started a billing period at %(at)s; a change of billing interval would "
                  "start another one at the same moment. Make the change after that moment (on a sandbox, advance "
                  "the test clock first)") % {"at": at.isoformat().replace("+00:00", "Z")})
        _swap_base_item(sub, plan, version, new_quantity)
        if preview.resets_period:
            # A new cycle starts now: a change scheduled for the old period's end no longer has one.
            ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING).update(
                status=ScheduledChange.Status.CANCELED)
            sub.interval, sub.interval_count = plan.interval, plan.interval_count
            sub.billing_anchor = sub.billing_starts_at = at
            period = terms_for(sub).period(0)
            sub.current_period_start, sub.current_period_end = period.start, period.end
            store.save(sub)
            if coupon_code:
                _apply_coupon(sub, coupon_code, at)
            _invoice, attempts = bill_period_now(sub, 0, Invoice.Reason.SUBSCRIPTION_UPDATE, at, extra_lines=list(preview.lines))
        else:
            attempts = bill_proration(sub, preview.lines, invoice_now=invoice_now, at=at)
        store.save(sub)
        record("subscription.updated", sub, at, {"previous": previous, **change, "proration": preview.net,
                                                 "invoiced_now": bool(invoice_now or preview.resets_period)})
    collect(attempts, at)
    sub.refresh_from_db()
    return sub


def schedule_version_change(sub_id: int | str, *, version_id: int, source: str | None = None) -> Subscription:
    """At the current period's end, bill the base item at the plan version ``version_id``: a newer
    price of its own plan (which ``change_subscription`` never moves to: keeping the plan keeps its
    version) or a given price of another plan. A price migration's choice (``assina.repricing``).
    Replaces any pending change, like a change at period end; the quantity stays (the
    subscription's when it applies). ``source``: as in ``change_subscription``."""
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        _check_changeable(sub)
        version = PlanVersion.objects.select_related("plan").filter(pk=version_id).first()
        item = _base_item(sub)
        if version is None:
            raise SubscriptionError(_("plan version %(id)s does not exist") % {"id": version_id})
        if version.plan_id != item.plan_version.plan_id:
            _target(sub, version.plan.code, None)  # the checks of a plan change: kind, active, currency, add-ons
        elif version.pk == item.plan_version_id:
            raise SubscriptionError(_("nothing to change: same plan and quantity"))
        previous = {"plan": sub.plan.code, "quantity": item.quantity}
        change = {"plan": version.plan.code, "plan_version": version.pk, "quantity": item.quantity,
                  **({"source": source} if source else {})}
        _schedule(sub, previous, change, at)
    return sub


def _schedule(sub: Subscription, previous: dict, change: dict, at: datetime) -> ScheduledChange:
    """``change`` at the current period's end, in place of any pending one (caller holds the lock)."""
    ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING).update(status=ScheduledChange.Status.CANCELED)
    scheduled = ScheduledChange.objects.create(subscription=sub, effective_at=sub.current_period_end, change=change, created_at=at)
    store.save(sub, [])
    record("subscription.change_scheduled", sub, at, {"previous": previous, "change": change,
                                                     "effective_at": scheduled.effective_at.isoformat()})
    return scheduled


PRICE_MIGRATION = "price_migration"  # the ``source`` of the changes a price migration schedules


def owners_change(change: dict) -> bool:
    """Whether a scheduled change (its JSON) is the owner's: a pinned plan version
    (``schedule_version_change``) or any change a price migration armed (``source``), not a
    customer's change made over one (``replaces``). Only the owner withdraws it, and it renews
    with the subscription's quantity of the day it applies: it is a price, not a quantity."""
    return "replaces" not in change and (bool(change.get("plan_version")) or change.get("source") == PRICE_MIGRATION)


def from_price_migration(change: dict) -> bool:
    """Whether a scheduled change is a price migration's, or a customer's change over one."""
    return PRICE_MIGRATION in (change.get("source"), change.get("replaces", {}).get("source"))


def _owners_pending(sub: Subscription) -> dict | None:
    """The owner's change pending for ``sub`` (or the one a customer's pending change replaced),
    without its quantity; None when there is none."""
    for scheduled in ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING).order_by("pk"):
        if "replaces" in scheduled.change:
            return scheduled.change["replaces"]
        if owners_change(scheduled.change):
            return {key: value for key, value in scheduled.change.items() if key != "quantity"}
    return None


def _over_owners(sub: Subscription, owners: dict, plan: Plan, quantity: int) -> dict:
    """A customer's change at period end to ``plan`` × ``quantity`` while the owner's change
    ``owners`` is pending, so that it cannot renew at the price the owner moved away from: the
    owner's plan at the owner's price (its pinned version, the same renewal's new price at the new
    quantity); the subscription's own plan, when the owner's change leaves it (the migration's
    cheaper or annual plan), at that plan's current price, never the old one; another plan at its
    current price (the customer leaves the plan). Asking exactly the owner's change back (its plan
    at the current quantity) schedules it again. ``replaces`` keeps the owner's change, so that
    withdrawing this one or switching back restores it."""
    item = _base_item(sub)
    if plan.code == owners["plan"]:
        if quantity == item.quantity:
            return {**owners, "quantity": quantity}
        pinned = {"plan_version": owners["plan_version"]} if owners.get("plan_version") else {}
        return {"plan": plan.code, **pinned, "quantity": quantity, "replaces": owners}
    if plan.pk == item.plan_version.plan_id:
        return {"plan": plan.code, "plan_version": plan.current_version().pk, "quantity": quantity, "replaces": owners}
    return {"plan": plan.code, "quantity": quantity, "replaces": owners}


def version_at_period_end(sub: Subscription, plan: Plan, quantity: int) -> PlanVersion:
    """The plan version a change at period end to ``plan`` × ``quantity`` renews at (the owner's
    price kept, ``_over_owners``), for a preview."""
    owners = _owners_pending(sub)
    pinned = _over_owners(sub, owners, plan, quantity).get("plan_version") if owners else None
    if pinned:
        return PlanVersion.objects.get(pk=pinned)
    item = _base_item(sub)
    return item.plan_version if plan.pk == item.plan_version.plan_id else plan.current_version()


def _follow_quantity(sub: Subscription, quantity: int) -> None:
    """A quantity changed now: the owner's pending change renews with it (its JSON says so, as
    the renewal's previews read it; ``apply_scheduled_change`` takes the subscription's anyway)."""
    for scheduled in ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING):
        if owners_change(scheduled.change) and scheduled.change.get("quantity") != quantity:
            scheduled.change = {**scheduled.change, "quantity": quantity}
            scheduled.save(update_fields=["change"])


class OwnersChange(SubscriptionError):
    """A scheduled change only the owner may withdraw (``owners_change``)."""


def pins_version(change: ScheduledChange) -> bool:
    """Whether ``change`` bills a given plan version (``schedule_version_change``, or a
    customer's change carrying it): a price the owner set for this subscription, such as a price
    migration's new price or its annual kept price."""
    return bool(change.change.get("plan_version"))


def withdraw_scheduled_changes(sub_id: int | str, *, by_owner: bool, reason: str) -> Subscription:
    """Drop the changes scheduled for the period's end (the subscription keeps its plan). A
    customer (``by_owner=False``) is refused the owner's change (``owners_change``: a pinned
    price, a price migration's change), with nothing changed; withdrawing their own change made
    over the owner's brings the owner's back (at the current quantity). Each withdrawn change
    records ``subscription.change_canceled``."""
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        pending = list(ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING))
        if not pending:
            raise SubscriptionError(_("No plan change is waiting to take effect."))
        if not by_owner and any(owners_change(change.change) for change in pending):
            raise OwnersChange(_("This change brings the new price of your plan and cannot be undone here. "
                                 "You can still cancel your subscription, or contact us."))
        replaced = None if by_owner else next((c.change["replaces"] for c in pending if "replaces" in c.change), None)
        for change in pending:
            change.status = ScheduledChange.Status.CANCELED
            change.save(update_fields=["status"])
            record("subscription.change_canceled", sub, at, {"scheduled_change": change.pk, "reason": reason})
        if replaced is not None:
            item = _base_item(sub)
            _schedule(sub, {"plan": sub.plan.code, "quantity": item.quantity}, {**replaced, "quantity": item.quantity}, at)
        store.save(sub, [])
    return sub


def bill_proration(sub: Subscription, lines, *, invoice_now: bool, at: datetime) -> list:
    """Bill a mid-period change's proration lines (caller holds the lock): carried to the next
    invoice as pending items, or with ``invoice_now`` on an invoice of their own now (with any
    items carried so far). Returns the payment attempts to collect after the commit. Shared
    with add-on changes (``addons``)."""
    if invoice_now:
        carried, carried_ids = pending_lines(sub.pk)
        invoices = issue_invoices([InvoiceDraft(customer_id=sub.customer_id, subscription_id=sub.pk, currency=sub.currency,
                                                billing_reason=Invoice.Reason.SUBSCRIPTION_UPDATE, at=at,
                                                lines=list(lines) + carried, pending_item_ids=carried_ids,
                                                locale=sub.customer.locale)])
        return start_attempts(invoices, {sub.customer_id: customer_method(sub)}, at)
    # Billed later, as stored: in the customer's language already.
    PendingItem.objects.bulk_create([
        PendingItem(customer_id=sub.customer_id, subscription=sub, kind=l.kind.value, description=l.description,
                    item_code=l.item_code, amount=l.amount, currency=sub.currency, period_start=l.period_start,
                    period_end=l.period_end, created_at=at)
        for l in CustomerTexts().lines(sub.customer.locale, lines)
    ])
    return []


def apply_scheduled_change(sub: Subscription, change: ScheduledChange, at: datetime) -> None:
    """Due work: a change scheduled for the period end takes effect (no proration: it starts
    with the new period, which the renewal then bills at the new price). Applied or not, the
    subscription is written with its next action time (the change is no longer pending)."""
    if change.effective_at != sub.current_period_end:
        # Scheduled for the end of a period that no longer exists (the cycle was reset since):
        # applying it mid-period would change the price without proration.
        change.status = ScheduledChange.Status.CANCELED
        change.save(update_fields=["status"])
        store.save(sub, [])
        record("subscription.change_canceled", sub, at, {"scheduled_change": change.pk, "reason": "period_reset"})
        return
    plan = get_plan(change.change["plan"])
    item = _base_item(sub)
    if plan.pk != item.plan_version.plan_id and not plan.active:
        # The plan was retired after the change was scheduled: keep the current one.
        change.status = ScheduledChange.Status.CANCELED
        change.save(update_fields=["status"])
        store.save(sub, [])
        record("subscription.change_canceled", sub, at, {"scheduled_change": change.pk, "reason": "plan_inactive"})
        return
    pinned = change.change.get("plan_version")  # schedule_version_change: a given price, not the newest
    version = (PlanVersion.objects.get(pk=pinned, plan=plan) if pinned else
               item.plan_version if plan.pk == item.plan_version.plan_id else plan.current_version())
    previous = {"plan": sub.plan.code, "quantity": item.quantity}
    # The owner's change is a price: it must not undo a quantity changed since it was scheduled.
    quantity = item.quantity if owners_change(change.change) else int(change.change["quantity"])
    _swap_base_item(sub, plan, version, quantity)
    if plan.interval != sub.interval or plan.interval_count != sub.interval_count:
        # A new interval starts its own cycle at the boundary where the change takes effect.
        sub.interval, sub.interval_count = plan.interval, plan.interval_count
        sub.billing_anchor = sub.billing_starts_at = change.effective_at
    change.status = ScheduledChange.Status.APPLIED
    change.applied_at = at
    change.save(update_fields=["status", "applied_at"])
    store.save(sub)
    record("subscription.updated", sub, at, {"previous": previous, **change.change, "quantity": quantity,
                                             "scheduled_change": change.pk})

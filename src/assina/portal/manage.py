"""What a customer changes in the portal: plan or quantity, a pause and its resume, add-ons, cards.

Each use case checks that the subscription (or card) is the customer's own (``NotFound``
otherwise: the page answers 404), then what the owner's ``PortalSettings`` allow, then calls the
billing service that does the change in one transaction with its events
(``subscriptions.changes``, ``subscriptions.services``, ``payments.methods``). A refusal raises
``PortalActionError`` with a message in the active language, and nothing is changed.

Adding or removing an add-on is ``subscriptions.addons`` (prorated like a plan change, carried
to the next invoice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings as django_settings
from django.utils.translation import gettext as _

from assina.catalog.models import Plan
from assina.core.errors import DomainError
from assina.core.invoicing import DraftLine
from assina.core.periods import Interval, boundary
from assina.core.pricing import price_amount
from assina.core.states import SubscriptionStatus as S
from assina.customers.models import Customer
from assina.i18n import CustomerTexts
from assina.notifications.context import number
from assina.payments import methods
from assina.payments.models import PaymentMethod
from assina.subscriptions import addons, changes, services as subscriptions
from assina.subscriptions.models import ScheduledChange, Subscription, SubscriptionItem
from assina.time import now as clock_now

from .models import PortalSettings

MAX_QUANTITY = 10_000  # a bound on what a customer may type, far above any real order
CHANGEABLE = (S.ACTIVE.value, S.TRIALING.value, S.PAST_DUE.value)


class NotFound(Exception):
    """Not this customer's (or no such row): the page is a 404."""


class PortalActionError(DomainError):
    """A change the portal refuses; the message is for the customer."""


def owned_subscription(customer: Customer, sub_id: int) -> Subscription:
    sub = Subscription.objects.select_related("plan").filter(pk=sub_id, customer_id=customer.pk).first()
    if sub is None:
        raise NotFound()
    return sub


def _base_item(sub: Subscription) -> SubscriptionItem | None:
    return sub.items.select_related("plan_version__plan").filter(plan_version__plan__kind=Plan.Kind.BASE).first()


def _changeable(sub: Subscription) -> None:
    if sub.status not in CHANGEABLE:
        raise PortalActionError(_("This subscription cannot be changed while it is %(status)s.")
                                % {"status": sub.get_status_display().lower()})
    if sub.cancel_at_period_end:
        raise PortalActionError(_("This subscription is cancelled. Undo the cancellation before changing it."))
    if sub.catch_up_held_at is not None:
        raise PortalActionError(_("This subscription cannot be changed right now. Please contact us."))


# --- plan and quantity ---------------------------------------------------------------------

def plan_options(sub: Subscription, portal: PortalSettings | None = None) -> list[Plan]:
    """The plans this subscription may switch to: active base plans in its currency and billing
    interval (switching to annual billing is the upgrades app's flow), all of them or the
    owner's list; its current plan first."""
    portal = portal or PortalSettings.current()
    plans = Plan.objects.filter(kind=Plan.Kind.BASE, active=True, currency=sub.currency, interval=sub.interval,
                                interval_count=sub.interval_count)
    if not portal.any_base_plan:  # only a saved row turns it off
        plans = plans.filter(pk__in=portal.plans.values("pk"))
    options = [p for p in plans.order_by("name", "pk") if p.pk != sub.plan_id]
    return [sub.plan, *options]


@dataclass(frozen=True)
class PlanChange:
    sub: Subscription
    plan: Plan
    quantity: int
    timing: str  # "now", "period_end" or "trial" (nothing billed until the trial ends)
    effective_at: datetime
    period_amount: int  # the new plan's price per period at the new quantity (before add-ons, discounts)
    lines: tuple[DraftLine, ...]  # proration now, in the customer's language (empty otherwise)
    downgrade: bool

    @property
    def net(self) -> int:
        return sum(line.amount for line in self.lines)


def _quantity(value, locale: str) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise PortalActionError(_("Enter the quantity as a whole number.")) from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise PortalActionError(_("The quantity must be from 1 to %(max)s.") % {"max": number(MAX_QUANTITY, locale)})
    return quantity


def _plan_change(customer: Customer, sub_id: int, plan_code: str, quantity_text, *, preview: bool) -> PlanChange:
    sub = owned_subscription(customer, sub_id)
    _changeable(sub)
    portal = PortalSettings.current()
    plan = next((p for p in plan_options(sub, portal) if p.code == plan_code), None)
    if plan is None:
        raise PortalActionError(_("This plan is not available. Choose one of the plans listed."))
    base = _base_item(sub)
    quantity = _quantity(quantity_text, customer.locale)
    if base is None:
        raise PortalActionError(_("This subscription cannot be changed right now. Please contact us."))
    if quantity != base.quantity and not portal.allow_quantity_change:
        raise PortalActionError(_("The quantity cannot be changed here. Please contact us."))
    if plan.pk == base.plan_version.plan_id and quantity == base.quantity:
        raise PortalActionError(_("Nothing to change: this is your current plan and quantity."))
    version = base.plan_version if plan.pk == base.plan_version.plan_id else plan.current_version()
    old_amount = price_amount(base.plan_version.price_spec(), base.quantity)
    new_amount = price_amount(version.price_spec(), quantity)
    downgrade = new_amount < old_amount
    at = clock_now()
    if sub.status == S.TRIALING.value:
        timing, lines, effective = "trial", (), at
    elif downgrade and portal.downgrade_timing == PortalSettings.Timing.PERIOD_END:
        timing, lines, effective = "period_end", (), sub.current_period_end
        # The renewal's price: a price migration's pending change keeps its new price.
        new_amount = price_amount(changes.version_at_period_end(sub, plan, quantity).price_spec(), quantity)
    else:
        timing, effective = "now", at
        lines = tuple(CustomerTexts().lines(customer.locale,
                                            changes.preview_change(sub.pk, plan_code=plan.code, quantity=quantity).lines))
    change = PlanChange(sub=sub, plan=plan, quantity=quantity, timing=timing, effective_at=effective,
                        period_amount=new_amount, lines=lines, downgrade=downgrade)
    if not preview:
        try:
            changes.change_subscription(sub.pk, plan_code=plan.code, quantity=quantity,
                                        at_period_end=timing == "period_end")
        except subscriptions.SubscriptionError as refused:
            raise PortalActionError(str(refused)) from None
    return change


def preview_plan_change(customer: Customer, sub_id: int, plan_code: str, quantity) -> PlanChange:
    """What changing to ``plan_code`` × ``quantity`` would do, changing nothing."""
    return _plan_change(customer, sub_id, plan_code, quantity, preview=True)


def change_plan(customer: Customer, sub_id: int, plan_code: str, quantity) -> PlanChange:
    """Change now (proration carried to the next invoice) or, for a downgrade when the owner
    chose so (the default), at the end of the paid period."""
    return _plan_change(customer, sub_id, plan_code, quantity, preview=False)


def pending_change(sub: Subscription) -> ScheduledChange | None:
    return ScheduledChange.objects.filter(subscription=sub, status=ScheduledChange.Status.PENDING).order_by("pk").first()


# --- pause and resume -------------------------------------------------------------------

def resume_date(sub: Subscription, periods: int, at: datetime) -> datetime:
    """A pause of ``periods`` billing periods from ``at`` ends this many intervals later."""
    return boundary(at, Interval(sub.interval), sub.interval_count, periods, django_settings.TIME_ZONE)


def pause(customer: Customer, sub_id: int, periods_text) -> Subscription:
    sub = owned_subscription(customer, sub_id)
    offered = PortalSettings.current().pause_lengths
    periods = int(periods_text) if str(periods_text).strip().isdigit() else 0
    if periods not in offered:
        raise PortalActionError(_("This pause length is not offered. Choose one of the lengths listed.")
                                if offered else _("Pausing is not offered. Please contact us."))
    if sub.status not in (S.ACTIVE.value, S.PAST_DUE.value):
        raise PortalActionError(_("Only an active subscription can be paused."))
    _changeable(sub)
    try:
        return subscriptions.pause(sub.pk, resumes_at=resume_date(sub, periods, clock_now()))
    except subscriptions.SubscriptionError as refused:
        raise PortalActionError(str(refused)) from None


def resume(customer: Customer, sub_id: int) -> Subscription:
    sub = owned_subscription(customer, sub_id)
    if sub.status != S.PAUSED.value:
        raise PortalActionError(_("This subscription is not paused."))
    try:
        return subscriptions.resume(sub.pk)
    except subscriptions.SubscriptionError as refused:
        raise PortalActionError(str(refused)) from None


# --- add-ons -----------------------------------------------------------------------------

def addon_options(sub: Subscription, held: set[int] | None = None) -> list[Plan]:
    """Active add-ons in the subscription's currency and interval that it does not hold yet."""
    if held is None:
        held = set(sub.items.values_list("plan_version__plan_id", flat=True))
    return [p for p in Plan.objects.filter(kind=Plan.Kind.ADDON, active=True, currency=sub.currency, interval=sub.interval,
                                           interval_count=sub.interval_count).order_by("name", "pk")
            if p.pk not in held]


def _addons_allowed(sub: Subscription) -> None:
    if not PortalSettings.current().allow_addon_changes:
        raise PortalActionError(_("Add-ons cannot be changed here. Please contact us."))
    _changeable(sub)


def add_addon(customer: Customer, sub_id: int, code: str, quantity_text) -> Plan:
    """Add an add-on now: the billing service prorates it like a plan change
    (``subscriptions.addons``), carried to the next invoice."""
    sub = owned_subscription(customer, sub_id)
    _addons_allowed(sub)
    addon = next((p for p in addon_options(sub) if p.code == code), None)
    if addon is None:
        raise PortalActionError(_("This add-on is not available. Choose one of the add-ons listed."))
    quantity = _quantity(quantity_text, customer.locale)
    try:
        addons.add_addon(sub.pk, addon.code, quantity)
    except subscriptions.SubscriptionError as refused:
        raise PortalActionError(str(refused)) from None
    return addon


def remove_addon(customer: Customer, sub_id: int, item_id: int) -> Plan:
    sub = owned_subscription(customer, sub_id)
    item = (SubscriptionItem.objects.select_related("plan_version__plan")
            .filter(pk=item_id, subscription=sub, plan_version__plan__kind=Plan.Kind.ADDON).first())
    if item is None:
        raise NotFound()
    _addons_allowed(sub)
    try:
        addons.remove_addon(sub.pk, item.plan_version.plan.code)
    except subscriptions.SubscriptionError as refused:
        raise PortalActionError(str(refused)) from None
    return item.plan_version.plan


# --- cards -------------------------------------------------------------------------------

def cards(customer: Customer) -> list[PaymentMethod]:
    return list(PaymentMethod.objects.filter(customer_id=customer.pk, detached_at__isnull=True).order_by("-created_at", "-pk"))


def _owned_card(customer: Customer, method_id: int) -> PaymentMethod:
    method = PaymentMethod.objects.filter(pk=method_id, customer_id=customer.pk, detached_at__isnull=True).first()
    if method is None:
        raise NotFound()
    return method


def make_default_card(customer: Customer, method_id: int) -> PaymentMethod:
    method = _owned_card(customer, method_id)
    try:
        return methods.set_default(customer, method.pk, clock_now())
    except DomainError as refused:
        raise PortalActionError(str(refused)) from None


def remove_card(customer: Customer, method_id: int) -> PaymentMethod:
    """Remove a card that is not the default (the default is replaced, never left empty here)."""
    method = _owned_card(customer, method_id)
    if Customer.objects.filter(pk=customer.pk, default_payment_method_id=method.pk).exists():
        raise PortalActionError(_("This card pays your subscription. Add or choose another card first."))
    try:
        return methods.remove(customer, method.pk, clock_now())
    except DomainError as refused:
        raise PortalActionError(str(refused)) from None

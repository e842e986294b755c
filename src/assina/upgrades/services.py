"""Use cases of the upgrades app: switch a monthly subscription to annual billing with the
owner's incentive, and temporary upgrades (a free trial of a higher plan that reverts by itself
unless the customer keeps it).

The annual switch is a plan change (``subscriptions.changes.change_subscription``): the new
annual period starts now and is billed at once, less the credit for the unused part of the
current month. The incentive is a coupon redeemed for that first annual period only (duration
``once``, restricted to the annual plan): a percentage off, or N twelfths of the year's price
off (N months free). ``annual_quote`` computes the same amounts with the same core functions,
so the page shows what the invoice bills.

A temporary upgrade leaves billing alone (see ``models``); keeping it is a plan change billed at
once (the difference for the rest of the period), like any upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from assina.catalog.models import Coupon, Plan
from assina.catalog.services import CatalogError, create_coupon
from assina.core.discounts import discount_amount
from assina.core.errors import DomainError
from assina.core.money import CALC_CONTEXT, round_half_up
from assina.core.pricing import price_amount
from assina.core.states import SubscriptionStatus as S
from assina.events.services import record
from assina.invoices.models import Invoice
from assina.invoices.services import pending_lines
from assina.subscriptions.changes import change_subscription, preview_change
from assina.subscriptions.models import Subscription
from assina.subscriptions.services import SubscriptionError, get_subscription
from assina.time import now as clock_now

from .models import AnnualOffer, TemporaryUpgrade, TrialPlan

REMIND_BEFORE = timedelta(days=2)


class UpgradeError(DomainError):
    """A switch or trial that cannot happen, said in the customer's language."""


# ---------------------------------------------------------------------------------------------
# Loading


def customer_subscription(customer_id: int, sub_id: int) -> Subscription | None:
    """The customer's own subscription, or None (another customer's id is a 404 to the portal)."""
    return (Subscription.objects.select_related("plan", "customer").filter(pk=sub_id, customer_id=customer_id).first())


def _base_item(sub: Subscription):
    return sub.items.select_related("plan_version__plan").filter(plan_version__plan__kind=Plan.Kind.BASE).first()


def _has_addons(sub: Subscription) -> bool:
    return sub.items.filter(plan_version__plan__kind=Plan.Kind.ADDON).exists()


def _discount_in_force(sub: Subscription, at: datetime) -> bool:
    return bool(sub.coupon_id and sub.discount_applies_from and
                (sub.discount_applies_until is None or at < sub.discount_applies_until))


def running_trial(sub: Subscription) -> TemporaryUpgrade | None:
    return (TemporaryUpgrade.objects.select_related("to_plan", "from_plan")
            .filter(subscription=sub, confirmed_at__isnull=True, reverted_at__isnull=True).first())


def access_plan(sub: Subscription) -> Plan:
    """The plan whose features the customer may use now: the trial's plan while a temporary
    upgrade runs, otherwise the subscription's own (billed) plan."""
    trial = running_trial(sub)
    return trial.to_plan if trial is not None else sub.plan


def blocked_reason(sub: Subscription) -> str:
    """Why the subscription cannot take an offer now ("" when it can)."""
    if sub.status != S.ACTIVE.value:
        return _("This is available for an active subscription only.")
    if sub.cancel_at_period_end:
        return _("Your subscription is cancelled; reactivate it first.")
    if sub.catch_up_held_at is not None:
        return _("Your subscription cannot be changed right now. Please contact us.")
    return ""


# ---------------------------------------------------------------------------------------------
# Switch to annual


@dataclass(frozen=True)
class AnnualQuote:
    offer: AnnualOffer
    annual_plan: Plan
    quantity: int
    currency: str
    monthly_amount: int  # what one month costs now
    twelve_months: int  # twelve monthly payments
    year_price: int  # the annual plan's price for this quantity (what later years cost)
    incentive: int  # taken off the first year (>= 0)
    credit: int  # the unused part of the current month (<= 0)
    carried: int  # items carried from earlier changes, billed on the same invoice
    renews_on: datetime

    @property
    def first_year(self) -> int:
        return self.year_price - self.incentive

    @property
    def saving(self) -> int:
        return self.twelve_months - self.first_year

    @property
    def due_now(self) -> int:
        return self.first_year + self.credit + self.carried


def annual_offer_for(sub: Subscription) -> AnnualOffer | None:
    if sub.interval != "month" or sub.interval_count != 1:
        return None
    offer = AnnualOffer.objects.select_related("annual_plan").filter(monthly_plan_id=sub.plan_id, active=True).first()
    if offer is None or not offer.annual_plan.active or offer.annual_plan.currency != sub.currency:
        return None
    return offer


def annual_unavailable(sub: Subscription, at: datetime | None = None) -> str:
    """Why this subscription cannot switch to annual now ("" when it can)."""
    if annual_offer_for(sub) is None:
        return _("Annual billing is not offered for your plan.")
    reason = blocked_reason(sub)
    if reason:
        return reason
    if _has_addons(sub):
        return _("Your add-ons bill monthly, so the switch to annual billing cannot be made here. Please contact us.")
    if _discount_in_force(sub, at or clock_now()):
        return _("You have a discount in force; the switch to annual billing is available once it ends.")
    if running_trial(sub) is not None:
        return _("You are trying another plan; the switch to annual billing is available once the trial ends.")
    return ""


def _incentive_coupon_spec(offer: AnnualOffer, year_price: int, currency: str) -> dict:
    """The coupon that carries the incentive (its code names its value, so one coupon serves
    every switch with the same incentive, and an edited offer makes a new one)."""
    base = {"duration": "once", "plans": [offer.annual_plan.code]}
    if offer.incentive == AnnualOffer.Incentive.MONTHS_FREE:
        with localcontext(CALC_CONTEXT):
            amount = round_half_up(Decimal(year_price) * offer.months_free / 12)
        return {**base, "code": f"annual-{offer.pk}-{offer.months_free}m-{amount}", "amount_off": amount, "currency": currency,
                "name": f"{offer.months_free}/12 off the first year ({offer.annual_plan.code})"}
    percent = Decimal(offer.percent_off or 0).normalize()
    return {**base, "code": f"annual-{offer.pk}-{format(percent, 'f').replace('.', '-')}pct", "percent_off": percent,
            "name": f"{format(percent, 'f')}% off the first year ({offer.annual_plan.code})"}


def _core_coupon(spec: dict):
    from assina.core.discounts import Coupon as CoreCoupon

    return CoreCoupon(code=spec["code"], duration="once", percent_off=spec.get("percent_off"),
                      amount_off=spec.get("amount_off"), currency=spec.get("currency"))


def annual_quote(sub: Subscription) -> AnnualQuote:
    """The switch's amounts now, as the invoice will bill them (raises UpgradeError with the
    reason when the switch is not available)."""
    at = clock_now()
    reason = annual_unavailable(sub, at)
    if reason:
        raise UpgradeError(reason)
    offer = annual_offer_for(sub)
    item = _base_item(sub)
    quantity = item.quantity
    monthly = price_amount(item.plan_version.price_spec(), quantity)
    year_price = price_amount(offer.annual_plan.current_version().price_spec(), quantity)
    incentive = 0
    if (offer.incentive == AnnualOffer.Incentive.PERCENT and offer.percent_off) or \
            (offer.incentive == AnnualOffer.Incentive.MONTHS_FREE and offer.months_free):
        incentive = discount_amount(_core_coupon(_incentive_coupon_spec(offer, year_price, sub.currency)), year_price, sub.currency)
    try:
        credit = preview_change(sub.pk, plan_code=offer.annual_plan.code).net
    except SubscriptionError as refused:
        raise UpgradeError(str(refused)) from None
    carried = sum(line.amount for line in pending_lines(sub.pk)[0])
    from dateutil.relativedelta import relativedelta

    return AnnualQuote(offer=offer, annual_plan=offer.annual_plan, quantity=quantity, currency=sub.currency,
                       monthly_amount=monthly, twelve_months=12 * monthly, year_price=year_price, incentive=incentive,
                       credit=credit, carried=carried, renews_on=at + relativedelta(years=1))


def _incentive_coupon(quote: AnnualQuote) -> str | None:
    if not quote.incentive:
        return None
    spec = _incentive_coupon_spec(quote.offer, quote.year_price, quote.currency)
    if not Coupon.objects.filter(code=spec["code"]).exists():
        try:
            create_coupon(at=clock_now(), **spec)
        except CatalogError:
            if not Coupon.objects.filter(code=spec["code"]).exists():  # not a race with another switch
                raise
    return spec["code"]


def switch_to_annual(sub: Subscription) -> Invoice:
    """Bill the switch now: the first annual period (less the incentive and the credit for the
    unused part of the month). Returns the invoice."""
    quote = annual_quote(sub)
    coupon = _incentive_coupon(quote)
    previous_invoice = Invoice.objects.filter(subscription=sub).order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        change_subscription(sub.pk, plan_code=quote.annual_plan.code, coupon_code=coupon)
    except SubscriptionError as refused:
        raise UpgradeError(str(refused)) from None
    invoice = Invoice.objects.filter(subscription=sub, pk__gt=previous_invoice).order_by("pk").first()
    with transaction.atomic():
        # After the change's own transaction, which collects the payment once it has committed.
        record("upgrade.annual_switched", sub, clock_now(), {
            "subscription": f"sub_{sub.pk}", "from_plan": sub.plan.code, "to_plan": quote.annual_plan.code,
            "incentive": quote.offer.incentive, "incentive_amount": quote.incentive, "credit": quote.credit,
            "invoice": invoice.pk if invoice else None, "coupon": coupon}, customer_id=sub.customer_id)
    return invoice


# ---------------------------------------------------------------------------------------------
# Temporary upgrades


@dataclass(frozen=True)
class TrialOption:
    plan: Plan
    days: int
    amount: int  # the trial plan's price per period for this quantity


_NOT_LOADED = object()


def trial_options(sub: Subscription, running=_NOT_LOADED) -> list[TrialOption]:
    """The higher plans this subscription may try now (none while one runs). ``running``: the
    caller's ``running_trial(sub)``, to save its query. One query when the owner offers no plan
    of this subscription's currency and interval."""
    if blocked_reason(sub):
        return []
    offers = [offer for offer in TrialPlan.objects.select_related("plan").filter(
        active=True, plan__active=True, plan__kind=Plan.Kind.BASE, plan__currency=sub.currency,
        plan__interval=sub.interval, plan__interval_count=sub.interval_count) if offer.plan_id != sub.plan_id]
    if not offers or (running_trial(sub) if running is _NOT_LOADED else running) is not None:
        return []
    item = _base_item(sub)
    if item is None:
        return []
    current = price_amount(item.plan_version.price_spec(), item.quantity)
    tried = set(TemporaryUpgrade.objects.filter(customer_id=sub.customer_id).values_list("to_plan_id", flat=True))
    options = []
    for offer in offers:
        if offer.plan_id in tried:
            continue
        amount = price_amount(offer.plan.current_version().price_spec(), item.quantity)
        if amount > current:  # only a higher plan is an upgrade
            options.append(TrialOption(plan=offer.plan, days=offer.days, amount=amount))
    return sorted(options, key=lambda o: (o.amount, o.plan.code))


def start_trial(sub: Subscription, plan_code: str) -> TemporaryUpgrade:
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub.pk, lock=True)
        option = next((o for o in trial_options(sub) if o.plan.code == plan_code), None)
        if option is None:
            if TemporaryUpgrade.objects.filter(customer_id=sub.customer_id, to_plan__code=plan_code).exists():
                raise UpgradeError(_("You have already tried this plan."))
            raise UpgradeError(blocked_reason(sub) or _("This plan cannot be tried now."))
        ends = at + timedelta(days=option.days)
        try:
            with transaction.atomic():
                trial = TemporaryUpgrade.objects.create(
                    customer_id=sub.customer_id, subscription=sub, from_plan=sub.plan, to_plan=option.plan, started_at=at,
                    ends_at=ends, next_action_at=max(at, ends - REMIND_BEFORE))
        except IntegrityError:  # the same customer, twice at once
            raise UpgradeError(_("You have already tried this plan.")) from None
        record("upgrade.trial_started", sub, at, _trial_data(trial, option.plan), customer_id=sub.customer_id)
    return trial


def _trial_data(trial: TemporaryUpgrade, access: Plan, **extra) -> dict:
    return {"temporary_upgrade": f"tu_{trial.pk}", "subscription": f"sub_{trial.subscription_id}", "from_plan": trial.from_plan.code,
            "to_plan": trial.to_plan.code, "access_plan": access.code, "ends_at": trial.ends_at.isoformat(), **extra}


def confirm_preview(trial: TemporaryUpgrade) -> int:
    """What keeping the trial's plan bills now: the difference for the rest of the period."""
    try:
        return preview_change(trial.subscription_id, plan_code=trial.to_plan.code).net
    except SubscriptionError as refused:
        raise UpgradeError(str(refused)) from None


def confirm_trial(sub: Subscription) -> TemporaryUpgrade:
    """Keep the trial's plan: a plan change billed at once (the rest of the period's difference)."""
    trial = running_trial(sub)
    if trial is None:
        raise UpgradeError(_("There is no free trial running on this subscription."))
    reason = blocked_reason(sub)
    if reason:
        raise UpgradeError(reason)
    try:
        change_subscription(sub.pk, plan_code=trial.to_plan.code, invoice_now=True)
    except SubscriptionError as refused:
        raise UpgradeError(str(refused)) from None
    at = clock_now()
    with transaction.atomic():
        TemporaryUpgrade.objects.filter(pk=trial.pk, confirmed_at__isnull=True).update(confirmed_at=at, next_action_at=None)
        trial.refresh_from_db()
        record("upgrade.trial_confirmed", sub, at, _trial_data(trial, trial.to_plan), customer_id=sub.customer_id)
    return trial

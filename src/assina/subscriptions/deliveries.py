"""Plans that ship goods: skipping the next delivery, and what the portal shows about deliveries.

Each billed period of a plan that ships goods is one delivery. The customer may skip the next
one (the period that starts when the current one ends): that period is still invoiced, at 0
with one "Delivery skipped" line (``core.invoicing.skipped_lines``), so the periods stay
gapless for ``assina check``, and nothing ships; the period still advances. A plan allows at
most ``Plan.max_skips_per_year`` skips per calendar year of the skipped period's start (business
time zone). Skipping twice is the same skip (nothing recorded again); a skip can be withdrawn
until that period is billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.invoicing import LineKind, draft_for_period
from assina.core.periods import Period
from assina.core.shipping import SkipRefused, check_skip, left_for_free_shipping, shipping_fee, skips_left
from assina.core.states import LIVE, SubscriptionStatus
from assina.events.services import record
from assina.i18n import localized_message
from assina.invoices.models import Invoice
from assina.time import now as clock_now

from .models import SkippedDelivery, Subscription
from .services import SubscriptionError, get_subscription, refuse_if_held
from .terms import index_of_period_starting, terms_for


def _year_bounds(at: datetime) -> tuple[datetime, datetime]:
    tz = ZoneInfo(settings.TIME_ZONE)
    year = at.astimezone(tz).year
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def skipped_in_year(sub: Subscription, at: datetime) -> int:
    """How many of the subscription's deliveries starting in ``at``'s calendar year are skipped."""
    start, end = _year_bounds(at)
    return SkippedDelivery.objects.filter(subscription=sub, period_start__gte=start, period_start__lt=end).count()


def next_delivery(sub: Subscription) -> Period:
    """The next period (delivery) not yet under way: the one starting when the current one ends."""
    terms = terms_for(sub)
    return terms.period(index_of_period_starting(terms, sub.current_period_end))


def _check_skippable(sub: Subscription) -> Period:
    if not sub.plan.ships_goods:
        raise SubscriptionError(_("this plan does not ship goods: there is no delivery to skip"))
    if sub.status not in LIVE or sub.status == SubscriptionStatus.INCOMPLETE.value:
        raise SubscriptionError(_("only the deliveries of a running subscription can be skipped"))
    if sub.cancel_at_period_end:
        raise SubscriptionError(_("the subscription ends with this period: there is no next delivery"))
    refuse_if_held(sub)
    period = next_delivery(sub)
    if Invoice.objects.filter(subscription=sub, period_start=period.start).exists():
        raise SubscriptionError(_("the next delivery is already billed; it can no longer be skipped"))
    return period


def skip_next_delivery(sub_id: int | str) -> tuple[SkippedDelivery, bool]:
    """Skip the next delivery. Returns the skip and whether it is new (False: already skipped)."""
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        period = _check_skippable(sub)
        existing = SkippedDelivery.objects.filter(subscription=sub, period_start=period.start).first()
        if existing is not None:
            return existing, False
        taken = skipped_in_year(sub, period.start)
        try:
            check_skip(sub.plan.max_skips_per_year, taken)
        except SkipRefused as refused:
            raise SubscriptionError(localized_message(refused)) from None
        skip = SkippedDelivery.objects.create(subscription=sub, period_start=period.start, period_end=period.end,
                                              created_at=at)
        record("subscription.delivery_skipped", sub, at, {
            "period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
            "skips_left": skips_left(sub.plan.max_skips_per_year, taken + 1)})
    return skip, True


def unskip_next_delivery(sub_id: int | str) -> bool:
    """Withdraw the skip of the next delivery (it ships and is billed again). False: none to withdraw."""
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        period = _check_skippable(sub)
        deleted, _rows = SkippedDelivery.objects.filter(subscription=sub, period_start=period.start).delete()
        if deleted:
            record("subscription.delivery_unskipped", sub, at, {"period_start": period.start.isoformat()})
    return bool(deleted)


@dataclass(frozen=True)
class DeliveryOutlook:
    """What a customer of a plan that ships goods sees about their deliveries (amounts in minor units)."""

    next_start: datetime | None
    next_skipped: bool
    skippable: bool
    skips_left: int
    skips_allowed: int
    spend: int  # what a period's items cost after discounts
    fee: int  # the shipping the next period bills (0 when free)
    plan_fee: int
    free_from: int | None
    left_for_free: int | None  # how much more per period makes shipping free (None: no threshold)
    parts: tuple  # the bundle's parts (core.bundles.BundlePart), if it is one


def outlook(sub: Subscription) -> DeliveryOutlook:
    terms = terms_for(sub)
    plan = sub.plan
    running = sub.status in LIVE and sub.status != SubscriptionStatus.INCOMPLETE.value and not sub.cancel_at_period_end
    period = next_delivery(sub) if running and sub.catch_up_held_at is None else None
    try:
        index = index_of_period_starting(terms, period.start if period else sub.current_period_start)
    except ValueError:  # a trial's period is not one of the anchor's
        index = 0
    draft = draft_for_period(terms, index)
    spend = sum(l.amount for l in draft.lines if l.kind not in (LineKind.SHIPPING,))
    skipped = bool(period) and SkippedDelivery.objects.filter(subscription=sub, period_start=period.start).exists()
    billed = bool(period) and Invoice.objects.filter(subscription=sub, period_start=period.start).exists()
    taken = skipped_in_year(sub, period.start if period else sub.current_period_start)
    shipping = terms.shipping
    return DeliveryOutlook(
        next_start=period.start if period else None, next_skipped=skipped,
        skippable=bool(period) and not billed and plan.ships_goods,
        skips_left=skips_left(plan.max_skips_per_year, taken), skips_allowed=plan.max_skips_per_year,
        spend=spend, fee=shipping_fee(shipping, spend) if shipping else 0, plan_fee=shipping.fee if shipping else 0,
        free_from=shipping.free_from if shipping else None,
        left_for_free=left_for_free_shipping(shipping, spend) if shipping else None,
        parts=next((item.parts for item in terms.items if item.parts), ()),
    )

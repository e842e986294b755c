"""A discount put on a live subscription by the owner (admin, API, CLI) or by the cancel flow.

The rules (docs/billing.md, "A discount on a live subscription"):

- **From the next invoice.** The discount applies to the periods starting at the subscription's
  next period start (``current_period_end``: the next renewal, or the end of the trial), for
  ``periods`` periods or forever. The current period is not re-billed and nothing is refunded:
  its invoice was issued at its start and stays as it is.
- **One discount at a time.** A new discount replaces one that has not started yet or has ended
  (the event names the previous coupon). It is refused while the current period is billed with
  another discount: the subscription's terms hold one discount window, and the current period's
  early-end credits (pause, cancel now with credit, a plan change) are priced from those terms, so
  swapping the coupon mid-period would credit the period as if it had been billed without its
  discount. The owner removes it (the current period keeps it) and puts the new one on once that
  period has ended.
- **Removing** keeps the discount on the current period (it was billed with it) and stops it
  from the next period; a discount that had not started yet is dropped.
- **Stored as a coupon.** A catalog coupon is redeemed by its code (its own duration: once,
  repeating, forever). An ad-hoc percentage or amount becomes a coupon made for this
  subscription alone (code ``sub<id>-<n>``), redeemed once at creation so no one can redeem it
  again. Invoicing then shows the discount line exactly as it does for any coupon.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from assina.catalog.models import Coupon
from assina.catalog.services import create_coupon, redeem, redeem_coupon
from assina.core.discounts import discount_window
from assina.core.states import SubscriptionStatus
from assina.events.services import record
from assina.i18n import status_word
from assina.time import now as clock_now

from . import store
from .models import Subscription
from .services import SubscriptionError, get_subscription, refuse_if_held
from .terms import index_of_period_starting, terms_for

S = SubscriptionStatus
MAX_PERIODS = 120  # ten years of monthly periods; "forever" is periods=None
MAX_AMOUNT = 10**12  # minor units, the API's bound on amounts
SOURCES_LENGTH = 40


class DiscountError(SubscriptionError):
    """A discount that cannot be put on (or taken off) a subscription; nothing changed."""


def apply_discount(sub_id: int | str, *, percent_off: Decimal | str | int | None = None, amount_off: int | None = None,
                   periods: int | None = None, coupon_code: str | None = None, coupon: Coupon | None = None,
                   source: str = "owner") -> Subscription:
    """Discount the subscription from its next invoice: a catalog coupon by code (or a promotion
    code), a catalog ``coupon`` itself (an offer made with it), or ``percent_off`` (0 < p <= 100)
    or ``amount_off`` (minor units of the subscription's currency) for ``periods`` periods (None:
    forever). Replaces any discount it had. Records ``subscription.discount_applied``."""
    source = _source(source)
    if coupon is not None and coupon_code is not None:
        raise DiscountError(_("give either a coupon code or a percentage or amount off (with its periods), not both; "
                              "a coupon's duration is its own"))
    percent, amount, periods = _ad_hoc_terms(percent_off, amount_off, periods, coupon.code if coupon else coupon_code)
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        _refuse_unless_running(sub)
        previous = sub.coupon.code if sub.coupon_id else None
        _refuse_if_current_period_discounted(sub)
        if coupon is not None or coupon_code:
            coupon = redeem_coupon(coupon, sub.plan.code, at) if coupon is not None else redeem(coupon_code, sub.plan.code, at)
            if coupon.amount_off is not None and coupon.currency != sub.currency:
                raise DiscountError(_("coupon %(coupon)s takes off an amount in %(coupon_currency)s; this subscription "
                                      "bills in %(currency)s") % {"coupon": coupon.code, "coupon_currency": coupon.currency,
                                                                  "currency": sub.currency})
        else:
            coupon = _ad_hoc_coupon(sub, percent, amount, periods, source, at)
        sub.coupon = coupon
        terms = terms_for(sub)
        try:
            first = index_of_period_starting(terms, sub.current_period_end)
        except ValueError:  # never for a running subscription; refuse rather than guess a window
            raise DiscountError(_("subscription sub_%(id)s has no next period to discount") % {"id": sub.pk}) from None
        sub.discount_applies_from, sub.discount_applies_until = discount_window(
            coupon.to_core(), terms.period(first), lambda k: terms.boundary(first + k + 1))
        store.save(sub, ["coupon", "discount_applies_from", "discount_applies_until"])
        record("subscription.discount_applied", sub, at, {
            "coupon": coupon.code, "source": source, "effective_at": sub.discount_applies_from.isoformat(),
            "ends_at": sub.discount_applies_until.isoformat() if sub.discount_applies_until else None,
            "previous": previous})
    return sub


def remove_discount(sub_id: int | str, *, source: str = "owner") -> Subscription:
    """Stop the subscription's discount from its next invoice (the current period keeps it).
    Records ``subscription.discount_removed``."""
    source = _source(source)
    at = clock_now()
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=True)
        _refuse_unless_running(sub)
        next_start = sub.current_period_end
        if not upcoming_discount(sub):
            raise DiscountError(_("subscription sub_%(id)s has no discount on its next invoices to remove") % {"id": sub.pk})
        code = sub.coupon.code
        if sub.discount_applies_from >= next_start:
            # Not started yet: nothing was billed with it.
            sub.coupon = None
            sub.discount_applies_from = sub.discount_applies_until = None
        else:
            # The current period was billed with it: its terms must still say so.
            sub.discount_applies_until = next_start
        store.save(sub, ["coupon", "discount_applies_from", "discount_applies_until"])
        record("subscription.discount_removed", sub, at, {"coupon": code, "source": source,
                                                          "effective_at": next_start.isoformat()})
    return sub


def upcoming_discount(sub: Subscription) -> bool:
    """Whether the subscription's discount applies to its next period or a later one."""
    if not sub.coupon_id or sub.discount_applies_from is None:
        return False
    return sub.discount_applies_until is None or sub.discount_applies_until > sub.current_period_end


def _refuse_unless_running(sub: Subscription) -> None:
    """Only a subscription that will be invoiced again takes a discount: not an ended one, not one
    whose first payment never succeeded, not a paused one (its periods are re-anchored when it
    resumes, so a window counted now would not fit them)."""
    if sub.status in (S.CANCELED.value, S.INCOMPLETE.value) or sub.ended_at is not None:
        raise DiscountError(_("a %(status)s subscription cannot take a discount") % {"status": status_word(sub.status)})
    if sub.status == S.PAUSED.value:
        raise DiscountError(_("subscription sub_%(id)s is paused; resume it before changing its discount") % {"id": sub.pk})
    refuse_if_held(sub)


def _refuse_if_current_period_discounted(sub: Subscription) -> None:
    """See "One discount at a time" above: the current period's discount must stay in its terms."""
    if not sub.coupon_id or sub.discount_applies_from is None:
        return
    start = sub.current_period_start
    if sub.discount_applies_from <= start and (sub.discount_applies_until is None or sub.discount_applies_until > start):
        raise DiscountError(_("the current period of subscription sub_%(id)s is billed with the discount %(coupon)s; "
                              "to replace it, remove it and put the new discount on once that period has ended "
                              "(%(date)s)") % {"id": sub.pk, "coupon": sub.coupon.code,
                                               "date": sub.current_period_end.date().isoformat()})


def _source(source: str) -> str:
    if not isinstance(source, str) or not source.strip() or len(source) > SOURCES_LENGTH:
        raise DiscountError(_("the discount's source must be a short name (at most %(max)s characters)")
                            % {"max": SOURCES_LENGTH})
    return source.strip()


def _ad_hoc_terms(percent_off, amount_off, periods, coupon_code) -> tuple[Decimal | None, int | None, int | None]:
    """Check the input before anything is read or written; the ad-hoc terms, or Nones for a coupon."""
    if coupon_code is not None:
        if percent_off is not None or amount_off is not None or periods is not None:
            raise DiscountError(_("give either a coupon code or a percentage or amount off (with its periods), not both; "
                                  "a coupon's duration is its own"))
        if not isinstance(coupon_code, str) or not coupon_code.strip():
            raise DiscountError(_("the coupon code is empty"))
        return None, None, None
    if (percent_off is None) == (amount_off is None):
        raise DiscountError(_("give a percentage off or an amount off (one of them), or a coupon code"))
    if periods is not None and (not isinstance(periods, int) or isinstance(periods, bool)
                                or not 1 <= periods <= MAX_PERIODS):
        raise DiscountError(_("the number of periods must be a whole number from 1 to %(max)s (or none: forever)")
                            % {"max": MAX_PERIODS})
    if amount_off is not None:
        if not isinstance(amount_off, int) or isinstance(amount_off, bool) or not 0 < amount_off <= MAX_AMOUNT:
            raise DiscountError(_("the amount off must be a positive whole number of minor units (cents)"))
        return None, amount_off, periods
    if isinstance(percent_off, float | bool):
        raise DiscountError(_("the percentage off must be given as a decimal number, not a float"))
    try:
        percent = Decimal(str(percent_off).strip())
    except InvalidOperation:
        raise DiscountError(_("%(value)s is not a percentage") % {"value": repr(percent_off)}) from None
    if not percent.is_finite() or not 0 < percent <= 100:
        raise DiscountError(_("the percentage off must be more than 0 and at most 100"))
    if percent != percent.quantize(Decimal("0.01")):
        raise DiscountError(_("the percentage off has at most two decimal places"))
    return percent, None, periods


def _ad_hoc_coupon(sub: Subscription, percent: Decimal | None, amount: int | None, periods: int | None,
                   source: str, at: datetime) -> Coupon:
    """A coupon made for this subscription alone: redeemed once here and never again (its one
    redemption is taken), so its code on the invoice cannot be typed in at a checkout."""
    taken = Coupon.objects.filter(code__startswith=f"sub{sub.pk}-").count()
    number = taken + 1
    while Coupon.objects.filter(code=f"sub{sub.pk}-{number}").exists():
        number += 1
    code = f"sub{sub.pk}-{number}"
    create_coupon(code=code, name=f"sub_{sub.pk} · {source}"[:200], at=at, percent_off=percent, amount_off=amount,
                  currency=sub.currency if amount is not None else None,
                  duration="forever" if periods is None else "repeating", duration_periods=periods, max_redemptions=1)
    return redeem(code, sub.plan.code, at)

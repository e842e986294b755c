"""A subscription's monthly recurring revenue (MRR), by one rule.

The dashboard's history, the campaign segments' "MRR at least / at most" and the price a
reminder quotes all read a subscription's value from here, so they cannot disagree:

- ``items_amount``: what the items cost per billing period at their quantities, before any
  discount (the price a reminder quotes);
- ``mrr``: that amount less the coupon's discount (on the items the coupon applies to, as the
  invoice computes it), normalised to a month; only paying statuses are worth anything
  (trialing, incomplete, paused, unpaid and canceled are worth 0 a month, as in ChartMogul).

Amounts are integer minor units of the subscription's currency.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .discounts import Coupon, discount_amount
from .pricing import PriceSpec, price_amount
from .states import PAYING

# A month's worth of an amount billed per interval unit, as a fraction (numerator, denominator)
# per ChartMogul: a yearly 120,000 is 10,000 a month, a weekly 1,200 is 5,200 a month.
PER_MONTH = {"month": (1, 1), "year": (1, 12), "week": (52, 12), "day": (365, 12)}


def items_amount(items: Iterable[tuple[PriceSpec, int]]) -> int:
    """What (price, quantity) items cost per billing period, before discounts."""
    return sum(price_amount(spec, quantity) for spec, quantity in items)


def monthly(amount, interval: str, interval_count: int = 1):
    """``amount`` per ``interval_count`` × ``interval`` as an amount per month, rounded half up.

    Works on an int or on a NumPy array of non-negative int64 amounts (the dashboard
    normalises a whole column of one interval at once)."""
    numerator, denominator = PER_MONTH[interval]
    denominator *= interval_count
    # round_half_up(amount × numerator / denominator), in integers.
    return (2 * amount * numerator + denominator) // (2 * denominator)


def discount_in_force(at: datetime, applies_from: datetime | None, applies_until: datetime | None) -> bool:
    """Whether a redeemed coupon's discount window [from, until) holds ``at``."""
    return applies_from is not None and applies_from <= at and (applies_until is None or at < applies_until)


def mrr(status: str, total: int, discountable: int, currency: str, interval: str, interval_count: int = 1,
        coupon: Coupon | None = None) -> int:
    """A subscription's MRR from its items' ``total`` per period, the part of it the coupon
    applies to (``discountable``), and the coupon whose discount is in force (None if none)."""
    if status not in PAYING:
        return 0
    off = discount_amount(coupon, discountable, currency) if coupon is not None else 0
    return monthly(total - off, interval, interval_count)


def subscription_mrr(status: str, items: Iterable[tuple[str, PriceSpec, int]], currency: str, interval: str,
                     interval_count: int = 1, coupon: Coupon | None = None) -> int:
    """A subscription's MRR from its (plan code, price, quantity) items and the coupon whose
    discount is in force (None if none)."""
    amounts = [(code, price_amount(spec, quantity)) for code, spec, quantity in items]
    total = sum(amount for _code, amount in amounts)
    discountable = sum(amount for code, amount in amounts if coupon is not None and coupon.applies_to(code))
    return mrr(status, total, discountable, currency, interval, interval_count, coupon)

"""Coupons: what they are, when they can be redeemed and how much they take off."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum

from assina.core.errors import (
    N_,
    CouponNotApplicable,
    CurrencyMismatch,
    InvalidCoupon,
    UnknownCurrency,
)
from assina.core.money import CALC_CONTEXT, Money, normalize_currency, round_half_up
from assina.core.periods import Period, to_utc


class CouponDuration(StrEnum):
    ONCE = "once"
    REPEATING = "repeating"
    FOREVER = "forever"


@dataclass(frozen=True, slots=True)
class Coupon:
    code: str
    duration: CouponDuration
    percent_off: Decimal | None = None
    amount_off: int | None = None
    currency: str | None = None
    duration_periods: int | None = None
    applies_to_plans: frozenset[str] | None = None
    redeem_by: datetime | None = None
    max_redemptions: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise InvalidCoupon(N_("a coupon needs a code"))
        try:
            object.__setattr__(self, "duration", CouponDuration(self.duration))
        except ValueError:
            raise InvalidCoupon(N_("%(duration)s is not a coupon duration"), duration=repr(self.duration)) from None
        self._validate_value()
        self._validate_duration()
        if self.applies_to_plans is not None:
            plans = frozenset(self.applies_to_plans)
            if not plans:
                # An empty set would make the coupon useless; None means "all plans".
                raise InvalidCoupon(N_("a coupon restricted to plans must name at least one"))
            object.__setattr__(self, "applies_to_plans", plans)
        if self.redeem_by is not None:
            object.__setattr__(self, "redeem_by", to_utc(self.redeem_by, "redeem_by"))
        if self.max_redemptions is not None and (
            not isinstance(self.max_redemptions, int)
            or isinstance(self.max_redemptions, bool)
            or self.max_redemptions < 1
        ):
            raise InvalidCoupon(N_("maximum redemptions must be at least 1"))

    def _validate_value(self) -> None:
        if (self.percent_off is None) == (self.amount_off is None):
            raise InvalidCoupon(N_("a coupon takes off either a percentage or an amount, not both"))
        if self.percent_off is not None:
            if isinstance(self.percent_off, float | bool):
                raise InvalidCoupon(N_("percent off must be a Decimal, not a float"))
            try:
                percent = Decimal(self.percent_off)
            except (InvalidOperation, TypeError, ValueError):
                raise InvalidCoupon(N_("%(value)s is not a percentage"), value=repr(self.percent_off)) from None
            if not percent.is_finite() or not 0 < percent <= 100:
                raise InvalidCoupon(N_("percent off must be more than 0 and at most 100"))
            object.__setattr__(self, "percent_off", percent)
            if self.currency is not None:
                raise InvalidCoupon(N_("only amount-off coupons have a currency"))
            return
        amount = self.amount_off
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise InvalidCoupon(N_("amount off must be a positive whole number of minor units"))
        if self.currency is None:
            raise InvalidCoupon(N_("an amount-off coupon needs a currency"))
        try:
            object.__setattr__(self, "currency", normalize_currency(self.currency))
        except UnknownCurrency as exc:
            raise InvalidCoupon(exc.template, **exc.params) from exc

    def _validate_duration(self) -> None:
        periods = self.duration_periods
        if self.duration is CouponDuration.REPEATING:
            if not isinstance(periods, int) or isinstance(periods, bool) or periods < 1:
                raise InvalidCoupon(N_("a repeating coupon needs a number of periods of at least 1"))
        elif periods is not None:
            raise InvalidCoupon(N_("only repeating coupons have a number of periods"))

    def applies_to(self, plan_code: str) -> bool:
        return self.applies_to_plans is None or plan_code in self.applies_to_plans

    def line_description(self) -> tuple[str, dict[str, str]]:
        """The discount line's English description as a template and its values.

        ``template % values`` is e.g. 'Discount SAVE10 (10% off)'; the invoice translates the
        template into the customer's language.
        """
        if self.percent_off is not None:
            return N_("Discount %(coupon)s (%(percent)s%% off)"), {
                "coupon": self.code, "percent": f"{self.percent_off.normalize():f}"}
        amount = Money(self.amount_off or 0, self.currency or "")
        # The Money itself (it prints as "10.00 BRL"): the invoice formats it for the customer's locale.
        return N_("Discount %(coupon)s (%(amount)s off)"), {"coupon": self.code, "amount": amount}


def check_redeemable(coupon: Coupon, plan_code: str, at: datetime, times_redeemed: int) -> None:
    """Raise CouponNotApplicable with the reason if ``coupon`` cannot be redeemed now."""
    at = to_utc(at, "at")
    if coupon.redeem_by is not None and at > coupon.redeem_by:
        raise CouponNotApplicable(
            N_("coupon %(coupon)s expired on %(date)s"),
            coupon=coupon.code, date=coupon.redeem_by.date().isoformat(),
        )
    if coupon.max_redemptions is not None and times_redeemed >= coupon.max_redemptions:
        raise CouponNotApplicable(
            N_("coupon %(coupon)s has reached its maximum of %(maximum)s redemptions"),
            coupon=coupon.code, maximum=coupon.max_redemptions,
        )
    if not coupon.applies_to(plan_code):
        raise CouponNotApplicable(
            N_("coupon %(coupon)s is not valid for plan %(plan)s"), coupon=coupon.code, plan=plan_code
        )


def discount_amount(coupon: Coupon, subtotal: int, currency: str) -> int:
    """The (positive) amount the coupon takes off ``subtotal``; never more than it."""
    code = normalize_currency(currency)
    if coupon.amount_off is not None and coupon.currency != code:
        raise CurrencyMismatch(
            N_("coupon %(coupon)s is in %(coupon_currency)s but the amount is in %(currency)s"),
            coupon=coupon.code, coupon_currency=coupon.currency, currency=code,
        )
    if subtotal <= 0:
        return 0
    if coupon.amount_off is not None:
        return min(coupon.amount_off, subtotal)
    assert coupon.percent_off is not None
    with localcontext(CALC_CONTEXT):
        off = round_half_up(Decimal(subtotal) * coupon.percent_off / 100)
    return min(off, subtotal)


def discount_window(
    coupon: Coupon, first_period: Period, period_ends: Callable[[int], datetime]
) -> tuple[datetime, datetime | None]:
    """(applies_from, applies_until) of a coupon redeemed for ``first_period``.

    ``period_ends(k)`` is the end of the k-th period counting the first discounted one
    as 0, so a coupon repeating for N periods stops at the end of period N-1. The
    window is half-open on period starts: a period starting at ``applies_until`` is
    no longer discounted.
    """
    if coupon.duration is CouponDuration.FOREVER:
        return first_period.start, None
    if coupon.duration is CouponDuration.ONCE:
        return first_period.start, first_period.end
    assert coupon.duration_periods is not None
    return first_period.start, to_utc(period_ends(coupon.duration_periods - 1), "period end")

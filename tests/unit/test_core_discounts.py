from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.core.discounts import (
    Coupon,
    CouponDuration,
    check_redeemable,
    discount_amount,
    discount_window,
)
from assina.core.errors import CouponNotApplicable, CurrencyMismatch, InvalidCoupon
from assina.core.periods import Interval, Period, boundary

NOW = datetime(2027, 1, 15, tzinfo=UTC)
TEN = Coupon("SAVE10", CouponDuration.FOREVER, percent_off=Decimal("10"))
FIVE_REAIS = Coupon("FIVE", CouponDuration.ONCE, amount_off=500, currency="BRL")


def test_percent_discount_rounds_half_up() -> None:
    assert discount_amount(TEN, 4990, "BRL") == 499
    assert discount_amount(TEN, 5, "BRL") == 1  # 0.5 -> 1
    third = Coupon("THIRD", CouponDuration.ONCE, percent_off=Decimal("33.333"))
    assert discount_amount(third, 1000, "BRL") == 333


def test_amount_discount_never_exceeds_the_subtotal() -> None:
    assert discount_amount(FIVE_REAIS, 4990, "BRL") == 500
    assert discount_amount(FIVE_REAIS, 300, "BRL") == 300
    assert discount_amount(FIVE_REAIS, 0, "BRL") == 0
    assert discount_amount(FIVE_REAIS, -100, "BRL") == 0


def test_amount_discount_in_another_currency_is_a_mismatch() -> None:
    with pytest.raises(CurrencyMismatch):
        discount_amount(FIVE_REAIS, 1000, "USD")


@given(
    st.integers(-(10**12), 10**12),
    st.one_of(
        st.decimals(min_value=Decimal("0.001"), max_value=100, places=3).map(
            lambda p: Coupon("P", CouponDuration.ONCE, percent_off=p)
        ),
        st.integers(1, 10**9).map(
            lambda a: Coupon("A", CouponDuration.ONCE, amount_off=a, currency="BRL")
        ),
    ),
)
def test_discount_never_exceeds_subtotal_and_is_never_negative(
    subtotal: int, coupon: Coupon
) -> None:
    off = discount_amount(coupon, subtotal, "BRL")
    assert 0 <= off <= max(subtotal, 0)


def test_full_percent_discount_takes_everything() -> None:
    free = Coupon("FREE", CouponDuration.ONCE, percent_off=Decimal(100))
    assert discount_amount(free, 4990, "BRL") == 4990


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"percent_off": Decimal(10), "amount_off": 100, "currency": "BRL"},
        {"percent_off": Decimal(0)},
        {"percent_off": Decimal("100.01")},
        {"percent_off": 10.0},
        {"amount_off": 0, "currency": "BRL"},
        {"amount_off": 100},
        {"amount_off": 100, "currency": "ZZZ"},
        {"percent_off": Decimal(10), "currency": "BRL"},
        {"percent_off": Decimal(10), "duration_periods": 3},
        {"percent_off": Decimal(10), "applies_to_plans": frozenset()},
        {"percent_off": Decimal(10), "max_redemptions": 0},
    ],
)
def test_inconsistent_coupons_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidCoupon):
        Coupon("BAD", CouponDuration.ONCE, **kwargs)  # type: ignore[arg-type]


def test_naive_redeem_by_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        Coupon("N", CouponDuration.ONCE, percent_off=Decimal(10), redeem_by=datetime(2027, 1, 1))


def test_repeating_coupon_needs_a_number_of_periods() -> None:
    with pytest.raises(InvalidCoupon):
        Coupon("R", CouponDuration.REPEATING, percent_off=Decimal(10))
    with pytest.raises(InvalidCoupon):
        Coupon("R", CouponDuration.REPEATING, percent_off=Decimal(10), duration_periods=0)
    duration = "repeating"
    coupon = Coupon("R", duration, percent_off=Decimal(10), duration_periods=3)  # type: ignore[arg-type]
    assert coupon.duration is CouponDuration.REPEATING


def test_check_redeemable_explains_why_not() -> None:
    coupon = Coupon(
        "LAUNCH",
        CouponDuration.ONCE,
        percent_off=Decimal(20),
        applies_to_plans=frozenset({"pro"}),
        redeem_by=datetime(2027, 1, 31, tzinfo=UTC),
        max_redemptions=100,
    )
    check_redeemable(coupon, "pro", NOW, 99)
    check_redeemable(coupon, "pro", datetime(2027, 1, 31, tzinfo=UTC), 0)  # inclusive
    with pytest.raises(CouponNotApplicable, match="expired"):
        check_redeemable(coupon, "pro", datetime(2027, 2, 1, tzinfo=UTC), 0)
    with pytest.raises(CouponNotApplicable, match="maximum of 100"):
        check_redeemable(coupon, "pro", NOW, 100)
    with pytest.raises(CouponNotApplicable, match="not valid for plan basic"):
        check_redeemable(coupon, "basic", NOW, 0)
    with pytest.raises(ValueError):
        check_redeemable(coupon, "pro", datetime(2027, 1, 15), 0)


def test_discount_windows_by_duration() -> None:
    anchor = datetime(2027, 1, 31, tzinfo=UTC)
    first = Period(anchor, boundary(anchor, Interval.MONTH, 1, 1))

    def period_ends(k: int) -> datetime:
        return boundary(anchor, Interval.MONTH, 1, k + 1)

    assert discount_window(FIVE_REAIS, first, period_ends) == (anchor, first.end)
    assert discount_window(TEN, first, period_ends) == (anchor, None)
    three = Coupon("THREE", CouponDuration.REPEATING, percent_off=Decimal(10), duration_periods=3)
    assert discount_window(three, first, period_ends) == (
        anchor,
        datetime(2027, 4, 30, tzinfo=UTC),
    )
    one = Coupon("ONE", CouponDuration.REPEATING, percent_off=Decimal(10), duration_periods=1)
    assert discount_window(one, first, period_ends)[1] == first.end
    assert first.end - first.start == timedelta(days=28)

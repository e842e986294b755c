"""A subscription's MRR (core.mrr): the one rule of the dashboard, the segments and the reminders."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.core.discounts import Coupon, CouponDuration
from assina.core.invoicing import DiscountTerms, ItemTerms, LineKind, SubscriptionTerms, draft_for_period
from assina.core.mrr import discount_in_force, items_amount, monthly, mrr, subscription_mrr
from assina.core.periods import Interval
from assina.core.pricing import PriceSpec, PricingModel

BASIC = PriceSpec(PricingModel.FLAT, "BRL", unit_amount=3000)
SEAT = PriceSpec(PricingModel.PER_UNIT, "BRL", unit_amount=1000)
TWENTY = Coupon("WELCOME", CouponDuration.FOREVER, percent_off=Decimal(20))
PRO_ONLY = Coupon("PRO10", CouponDuration.FOREVER, amount_off=1000, currency="BRL", applies_to_plans=frozenset({"pro"}))


@pytest.mark.parametrize(("amount", "interval", "count", "expected"), [
    (3000, "month", 1, 3000),
    (9000, "month", 3, 3000),
    (120000, "year", 1, 10000),
    (1200, "week", 1, 5200),  # 52 weeks in 12 months
    (100, "day", 1, 3042),  # 100 × 365 / 12 = 3041.67
    (6, "year", 1, 1),  # 0.5 rounds half up
    (5, "year", 1, 0),
])  # fmt: skip
def test_monthly_normalises_an_interval_to_a_month_rounding_half_up(amount, interval, count, expected) -> None:
    assert monthly(amount, interval, count) == expected


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=20), st.sampled_from(["day", "week", "month", "year"]),
       st.integers(1, 12))
def test_monthly_on_a_column_equals_monthly_of_each_amount(amounts, interval, count) -> None:
    column = monthly(np.array(amounts, dtype=np.int64), interval, count)
    assert column.tolist() == [monthly(a, interval, count) for a in amounts]


def test_items_amount_is_what_the_items_cost_per_period_before_discounts() -> None:
    assert items_amount([(BASIC, 1), (SEAT, 3)]) == 6000
    assert items_amount([]) == 0


def test_only_paying_statuses_are_worth_anything() -> None:
    for status in ("trialing", "incomplete", "paused", "unpaid", "canceled"):
        assert mrr(status, 3000, 3000, "BRL", "month") == 0
    assert mrr("active", 3000, 3000, "BRL", "month") == mrr("past_due", 3000, 3000, "BRL", "month") == 3000


def test_the_discount_in_force_comes_off_the_items_it_applies_to() -> None:
    assert subscription_mrr("active", [("basic", BASIC, 1)], "BRL", "month", coupon=TWENTY) == 2400
    # The coupon applies to pro only: the basic add-on keeps its price.
    items = [("pro", SEAT, 5), ("basic", BASIC, 1)]
    assert subscription_mrr("active", items, "BRL", "month", coupon=PRO_ONLY) == 5000 - 1000 + 3000
    assert subscription_mrr("active", items, "BRL", "year", coupon=PRO_ONLY) == 583  # 7000 / 12


def test_a_discount_is_in_force_on_its_half_open_window() -> None:
    start = datetime(2027, 1, 5, tzinfo=UTC)
    end = start + timedelta(days=59)
    assert discount_in_force(start, start, end) and discount_in_force(end - timedelta(seconds=1), start, end)
    assert not discount_in_force(end, start, end) and not discount_in_force(start - timedelta(seconds=1), start, end)
    assert discount_in_force(end, start, None)
    assert not discount_in_force(end, None, None)


@given(st.integers(0, 100_000), st.integers(1, 9), st.sampled_from([None, TWENTY, PRO_ONLY]),
       st.sampled_from([(Interval.MONTH, 1), (Interval.MONTH, 3), (Interval.YEAR, 1), (Interval.WEEK, 2)]))
def test_mrr_is_the_periods_invoice_total_normalised_to_a_month(price, seats, coupon, interval) -> None:
    unit, count = interval
    items = (ItemTerms("basic", "Basic", PriceSpec(PricingModel.FLAT, "BRL", unit_amount=price)),
             ItemTerms("pro", "Seats", SEAT, quantity=seats, kind=LineKind.ADDON))
    start = datetime(2027, 1, 31, 13, tzinfo=UTC)
    discount = DiscountTerms(coupon, start, None) if coupon else None
    terms = SubscriptionTerms("BRL", start, unit, count, items, start, discount=discount)
    total = draft_for_period(terms, 0).total
    value = subscription_mrr("active", [(i.code, i.price, i.quantity) for i in items], "BRL", unit.value, count, coupon)
    assert value == monthly(total, unit.value, count)

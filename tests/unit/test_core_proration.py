from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.core.errors import InvalidAmount
from assina.core.periods import Period
from assina.core.proration import (
    PRORATION_PLACES,
    prorate,
    prorate_change,
    unused_fraction,
)

START = datetime(2027, 4, 1, tzinfo=UTC)
APRIL = Period(START, datetime(2027, 5, 1, tzinfo=UTC))  # 30 days


def test_unused_fraction_is_time_based_to_the_second() -> None:
    assert unused_fraction(APRIL, START) == Decimal(1)
    assert unused_fraction(APRIL, APRIL.end) == Decimal(0)
    assert unused_fraction(APRIL, START + timedelta(days=15)) == Decimal("0.5")
    third = unused_fraction(APRIL, START + timedelta(days=20))
    assert third == Decimal("0.333333333")
    assert third.as_tuple().exponent == PRORATION_PLACES.as_tuple().exponent
    assert unused_fraction(APRIL, START + timedelta(seconds=1)) == Decimal("0.999999614")


def test_unused_fraction_rejects_moments_outside_the_period() -> None:
    with pytest.raises(ValueError):
        unused_fraction(APRIL, START - timedelta(seconds=1))
    with pytest.raises(ValueError):
        unused_fraction(APRIL, APRIL.end + timedelta(seconds=1))
    with pytest.raises(ValueError):
        unused_fraction(APRIL, datetime(2027, 4, 10))


def test_upgrade_midway_credits_old_and_charges_new() -> None:
    change = prorate_change(3000, 6000, APRIL, START + timedelta(days=10))
    assert change.fraction == Decimal("0.666666667")
    assert change.credit == -2000
    assert change.charge == 4000
    assert change.net == 2000


def test_downgrade_nets_negative() -> None:
    change = prorate_change(6000, 3000, APRIL, START + timedelta(days=15))
    assert (change.credit, change.charge, change.net) == (-3000, 1500, -1500)


def test_prorate_rounds_half_up() -> None:
    # 1 minor unit over half a period: 0.5 -> 1
    assert prorate(1, APRIL, START + timedelta(days=15)) == 1
    assert prorate(-1, APRIL, START + timedelta(days=15)) == -1


def test_negative_plan_amounts_are_rejected() -> None:
    with pytest.raises(InvalidAmount):
        prorate_change(-1, 100, APRIL, START)


@given(
    old=st.integers(0, 10**9),
    new=st.integers(0, 10**9),
    seconds_in=st.integers(0, 30 * 86400),
)
def test_credit_plus_charge_matches_prorated_difference_within_one_unit(
    old: int, new: int, seconds_in: int
) -> None:
    at = START + timedelta(seconds=seconds_in)
    change = prorate_change(old, new, APRIL, at)
    assert change.credit <= 0 <= change.charge
    assert -change.credit <= old
    assert change.charge <= new
    assert abs(change.net - prorate(new - old, APRIL, at)) <= 1

"""The billing run's calendar step (``_shift``) is exactly dateutil's relativedelta arithmetic."""

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from assina.core.periods import Interval, _offset, _shift


@given(
    wall=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2400, 12, 31)),
    unit=st.sampled_from(list(Interval)),
    steps=st.integers(0, 5000),
)
def test_shift_is_relativedelta_arithmetic(wall: datetime, unit: Interval, steps: int) -> None:
    wall = wall.replace(fold=0)  # the callers' wall times (they set the fold themselves afterwards)
    try:
        expected = wall + _offset(unit, steps)
    except (OverflowError, ValueError):
        expected = None
    try:
        shifted = _shift(wall, unit, steps)
    except (OverflowError, ValueError):
        shifted = None
    assert shifted == expected
    if shifted is not None:
        assert shifted.tzinfo is expected.tzinfo is None


def test_month_ends_clamp_and_leap_days_return():
    assert _shift(datetime(2027, 1, 31, 10), Interval.MONTH, 1) == datetime(2027, 2, 28, 10)
    assert _shift(datetime(2027, 1, 31, 10), Interval.MONTH, 2) == datetime(2027, 3, 31, 10)
    assert _shift(datetime(2028, 2, 29), Interval.YEAR, 1) == datetime(2029, 2, 28)
    assert _shift(datetime(2028, 2, 29), Interval.YEAR, 4) == datetime(2032, 2, 29)

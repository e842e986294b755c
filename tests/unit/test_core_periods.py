from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assina.core.errors import InvalidInterval
from assina.core.periods import (
    period_starting_at,
    MAX_INTERVAL_COUNT,
    Interval,
    Period,
    boundary,
    period_at,
    period_index_containing,
    periods_starting_between,
    validate_interval,
)

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SAO_PAULO)  # type: ignore[misc]


def local_dates(anchor: datetime, interval: Interval, n: int, tz: str) -> list[str]:
    return [
        boundary(anchor, interval, 1, i, tz).astimezone(ZoneInfo(tz)).isoformat()
        for i in range(n)
    ]


def test_jan_31_anchor_bills_feb_28_then_mar_31_then_apr_30() -> None:
    anchor = sp(2027, 1, 31, 10, 0)
    assert local_dates(anchor, Interval.MONTH, 5, "America/Sao_Paulo") == [
        "2027-01-31T10:00:00-03:00",
        "2027-02-28T10:00:00-03:00",
        "2027-03-31T10:00:00-03:00",
        "2027-04-30T10:00:00-03:00",
        "2027-05-31T10:00:00-03:00",
    ]


def test_jan_31_anchor_bills_feb_29_in_a_leap_year() -> None:
    anchor = sp(2028, 1, 31, 10, 0)
    assert local_dates(anchor, Interval.MONTH, 3, "America/Sao_Paulo")[1:] == [
        "2028-02-29T10:00:00-03:00",
        "2028-03-31T10:00:00-03:00",
    ]


def test_feb_29_yearly_anchor_falls_back_to_feb_28_and_returns_in_leap_years() -> None:
    anchor = datetime(2028, 2, 29, tzinfo=UTC)
    days = [boundary(anchor, Interval.YEAR, 1, n).date().isoformat() for n in range(5)]
    assert days == ["2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"]


def test_boundaries_are_computed_from_the_anchor_not_by_chaining() -> None:
    # Chaining +1 month would drift to the 28th forever after February.
    anchor = datetime(2027, 1, 31, tzinfo=UTC)
    assert boundary(anchor, Interval.MONTH, 1, 12) == datetime(2028, 1, 31, tzinfo=UTC)
    assert boundary(anchor, Interval.MONTH, 3, 1) == datetime(2027, 4, 30, tzinfo=UTC)


def test_local_wall_clock_time_is_kept_across_dst() -> None:
    tz = "America/New_York"
    anchor = datetime(2027, 3, 1, 10, tzinfo=ZoneInfo(tz))  # EST, DST starts Mar 14
    later = boundary(anchor, Interval.WEEK, 2, 1, tz)
    assert later.tzinfo is UTC
    assert later.astimezone(ZoneInfo(tz)).hour == 10
    assert later - boundary(anchor, Interval.WEEK, 2, 0, tz) == timedelta(days=14, hours=-1)


def test_boundary_zero_is_the_anchor_in_utc() -> None:
    anchor = sp(2027, 1, 31, 10, 0)
    assert boundary(anchor, Interval.MONTH, 1, 0, "America/Sao_Paulo") == anchor
    assert boundary(anchor, Interval.MONTH, 1, 0, "America/Sao_Paulo").tzinfo is UTC


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        boundary(datetime(2027, 1, 1), Interval.MONTH, 1, 1)
    with pytest.raises(ValueError):
        Period(datetime(2027, 1, 1), datetime(2027, 2, 1))
    with pytest.raises(ValueError):
        period_index_containing(
            datetime(2027, 1, 1, tzinfo=UTC), Interval.MONTH, 1, datetime(2027, 3, 1)
        )


def test_unknown_time_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="time zone"):
        boundary(datetime(2027, 1, 1, tzinfo=UTC), Interval.MONTH, 1, 1, "Mars/Olympus")


def test_period_is_half_open_and_knows_its_length() -> None:
    p = period_at(datetime(2027, 2, 1, tzinfo=UTC), Interval.MONTH, 1, 0)
    assert p == Period(datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC))
    assert p.seconds == 28 * 86400
    assert p.contains(p.start) and not p.contains(p.end)
    with pytest.raises(ValueError):
        Period(p.end, p.start)


@pytest.mark.parametrize(
    ("unit", "count"), [("fortnight", 1), ("month", 0), ("month", 37), ("day", 731),
                        ("week", 105), ("year", 6), ("month", True)]
)
def test_validate_interval_rejects_bad_units_and_counts(unit: str, count: int) -> None:
    with pytest.raises(InvalidInterval):
        validate_interval(unit, count)


def test_validate_interval_accepts_strings_and_limits() -> None:
    assert validate_interval("month", 1) is Interval.MONTH
    for unit, maximum in MAX_INTERVAL_COUNT.items():
        assert validate_interval(unit, maximum) is unit


anchors = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2060, 12, 31),
    timezones=st.sampled_from([UTC, SAO_PAULO]),
)
# Bias toward month ends, where calendar arithmetic breaks.
def _month_end(year: int, month: int, day: int, hour: int, tz: ZoneInfo) -> datetime:
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return datetime(year, month, min(day, last), hour, tzinfo=tz)


month_end_anchors = st.builds(
    _month_end,
    st.integers(2000, 2060), st.integers(1, 12), st.integers(28, 31), st.integers(0, 23),
    st.sampled_from([UTC, SAO_PAULO]),
)  # fmt: skip
units = st.sampled_from(list(Interval))
zones = st.sampled_from(["UTC", "America/Sao_Paulo"])


def count_for(unit: Interval) -> st.SearchStrategy[int]:
    return st.integers(1, min(MAX_INTERVAL_COUNT[unit], 24))


@settings(max_examples=150, deadline=None)
@given(
    anchor=st.one_of(anchors, month_end_anchors),
    unit_count=units.flatmap(lambda u: st.tuples(st.just(u), count_for(u))),
    tz=zones,
    n=st.integers(0, 60),
)
def test_consecutive_periods_are_contiguous_and_never_overlap(
    anchor: datetime, unit_count: tuple[Interval, int], tz: str, n: int
) -> None:
    unit, count = unit_count
    first = period_at(anchor, unit, count, n, tz)
    second = period_at(anchor, unit, count, n + 1, tz)
    assert first.end == second.start
    assert first.start < first.end < second.end
    assert first.start.tzinfo is UTC


@settings(max_examples=150, deadline=None)
@given(
    anchor=st.one_of(anchors, month_end_anchors),
    unit_count=units.flatmap(lambda u: st.tuples(st.just(u), count_for(u))),
    tz=zones,
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=365 * 30)),
)
def test_period_index_containing_agrees_with_boundaries(
    anchor: datetime, unit_count: tuple[Interval, int], tz: str, offset: timedelta
) -> None:
    unit, count = unit_count
    # Add in UTC: aware arithmetic within one ZoneInfo is wall-clock arithmetic.
    at = anchor.astimezone(UTC) + offset
    n = period_index_containing(anchor, unit, count, at, tz)
    assert boundary(anchor, unit, count, n, tz) <= at < boundary(anchor, unit, count, n + 1, tz)


def test_period_index_containing_is_fast_for_large_indexes() -> None:
    anchor = datetime(2000, 1, 31, tzinfo=UTC)
    at = datetime(2999, 6, 15, tzinfo=UTC)
    n = period_index_containing(anchor, Interval.DAY, 1, at)
    assert n == (at.date() - anchor.date()).days


def test_period_index_containing_rejects_moments_before_the_anchor() -> None:
    anchor = datetime(2027, 1, 31, tzinfo=UTC)
    assert period_index_containing(anchor, Interval.MONTH, 1, anchor) == 0
    with pytest.raises(ValueError, match="before"):
        period_index_containing(anchor, Interval.MONTH, 1, anchor - timedelta(seconds=1))


def test_periods_starting_between_includes_both_ends() -> None:
    anchor = datetime(2027, 1, 31, tzinfo=UTC)
    found = periods_starting_between(
        anchor, Interval.MONTH, 1, datetime(2027, 2, 28, tzinfo=UTC),
        datetime(2027, 4, 30, tzinfo=UTC),
    )  # fmt: skip
    assert [n for n, _ in found] == [1, 2, 3]
    assert [p.start.date().isoformat() for _, p in found] == [
        "2027-02-28", "2027-03-31", "2027-04-30",
    ]  # fmt: skip
    before_anchor = periods_starting_between(
        anchor, Interval.MONTH, 1, datetime(2026, 1, 1, tzinfo=UTC), anchor
    )
    assert [n for n, _ in before_anchor] == [0]
    assert periods_starting_between(anchor, Interval.MONTH, 1, anchor, anchor - timedelta(1)) == []


@settings(max_examples=100, deadline=None)
@given(
    anchor=anchors,
    unit=units,
    tz=zones,
    start_offset=st.timedeltas(min_value=timedelta(days=-40), max_value=timedelta(days=3000)),
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_periods_starting_between_finds_exactly_the_matching_periods(
    anchor: datetime, unit: Interval, tz: str, start_offset: timedelta, length: timedelta
) -> None:
    start = anchor.astimezone(UTC) + start_offset
    end = start + length
    found = periods_starting_between(anchor, unit, 1, start, end, tz)
    for n, period in found:
        assert period == period_at(anchor, unit, 1, n, tz)
        assert start <= period.start <= end
    indexes = [n for n, _ in found]
    if not indexes:
        if start <= anchor:
            assert anchor > end
        else:
            n = period_index_containing(anchor, unit, 1, start, tz)
            assert boundary(anchor, unit, 1, n, tz) < start
            assert boundary(anchor, unit, 1, n + 1, tz) > end
        return
    assert indexes == list(range(indexes[0], indexes[-1] + 1))
    # Nothing missing just outside the returned range.
    if indexes[0] > 0:
        assert boundary(anchor, unit, 1, indexes[0] - 1, tz) < start
    assert boundary(anchor, unit, 1, indexes[-1] + 1, tz) > end


def test_inputs_in_a_local_zone_are_compared_as_instants() -> None:
    # Python compares datetimes sharing a tzinfo by wall time; across the 2018 DST end
    # in São Paulo 23:30 (fold=1) is *after* 23:59 (fold=0) wall-clock-wise but the
    # same hour happened twice. Core must reason in instants.
    first = datetime(2019, 2, 16, 23, 30, tzinfo=SAO_PAULO)  # -02:00 (DST)
    second = datetime(2019, 2, 16, 23, 10, fold=1, tzinfo=SAO_PAULO)  # -03:00, later
    assert second.astimezone(UTC) > first.astimezone(UTC)
    assert period_index_containing(first, Interval.DAY, 1, second) == 0
    p = Period(first, second)
    assert p.start.tzinfo is UTC and p.seconds == 40 * 60


@given(
    anchor=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    unit=st.sampled_from(list(Interval)),
    count=st.integers(min_value=1, max_value=3),
    n=st.integers(min_value=0, max_value=60),
)
def test_period_starting_at_finds_the_period_that_starts_at_a_boundary(anchor, unit, count, n):
    start = boundary(anchor, unit, count, n, "America/Sao_Paulo")
    index, period = period_starting_at(anchor, unit, count, start, "America/Sao_Paulo")
    assert period == period_at(anchor, unit, count, index, "America/Sao_Paulo")
    assert period.start == start


def test_period_starting_at_refuses_a_moment_that_is_not_a_boundary():
    anchor = datetime(2027, 1, 31, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a period boundary"):
        period_starting_at(anchor, Interval.MONTH, 1, datetime(2027, 2, 27, 10, tzinfo=UTC))

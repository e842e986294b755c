"""Billing periods computed from an anchor, in the business time zone.

Every boundary is computed from the anchor (anchor + n intervals), never by adding
one interval to the previous boundary: repeated "+1 month" turns Jan 31 into Feb 28
and then Mar 28 forever, while anchor-based arithmetic gives Feb 28, Mar 31, Apr 30.
Calendar arithmetic happens on local wall-clock time so a 10:00 renewal stays at
10:00 across daylight-saving changes; results are returned as aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from calendar import monthrange
from datetime import MAXYEAR, MINYEAR, UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from assina.core.errors import N_, InvalidInterval


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


# Upper bounds keep configurations sane (a "3 year" plan is fine, "40 months" is a typo).
MAX_INTERVAL_COUNT: dict[Interval, int] = {
    Interval.DAY: 730,
    Interval.WEEK: 104,
    Interval.MONTH: 36,
    Interval.YEAR: 5,
}


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Raise ValueError for naive datetimes: a naive time is ambiguous for billing."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def to_utc(value: datetime, name: str = "datetime") -> datetime:
    """The same instant in UTC; ValueError if naive.

    Inputs are normalised at every entry point because Python compares and subtracts
    two datetimes that share a tzinfo by wall time, ignoring DST offsets.
    """
    return require_aware(value, name).astimezone(UTC)


def zone(tz: str) -> ZoneInfo:
    """The IANA time zone ``tz``; ValueError if unknown (ZoneInfo raises KeyError)."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{tz!r} is not a known IANA time zone") from None


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open time range [start, end)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", to_utc(self.start, "period start"))
        object.__setattr__(self, "end", to_utc(self.end, "period end"))
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")

    @property
    def seconds(self) -> int:
        return (self.end - self.start) // timedelta(seconds=1)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


def validate_interval(interval: str | Interval, count: int) -> Interval:
    """Return the Interval for ``interval`` or raise InvalidInterval."""
    try:
        unit = Interval(interval)
    except ValueError:
        raise InvalidInterval(
            N_("%(interval)s is not a billing interval; use day, week, month or year"),
            interval=repr(interval),
        ) from None
    if not isinstance(count, int) or isinstance(count, bool):
        raise InvalidInterval(N_("interval count must be a whole number, got %(count)s"), count=repr(count))
    maximum = MAX_INTERVAL_COUNT[unit]
    if not 1 <= count <= maximum:
        raise InvalidInterval(
            N_("interval count for %(unit)s must be between 1 and %(maximum)s"), unit=unit.value, maximum=maximum
        )
    return unit


def _offset(interval: Interval, steps: int) -> relativedelta:
    """The calendar step as dateutil spells it: the reference ``_shift`` is tested against."""
    if interval is Interval.MONTH:
        return relativedelta(months=steps)
    if interval is Interval.YEAR:
        # Years as 12 months so Feb 29 anchors behave exactly like monthly ones.
        return relativedelta(months=12 * steps)
    if interval is Interval.WEEK:
        return relativedelta(days=7 * steps)
    return relativedelta(days=steps)


def _shift(wall: datetime, interval: Interval, steps: int) -> datetime:
    """``wall + _offset(interval, steps)`` without building a relativedelta (the billing run's
    hot path): months clamp to the last day of the target month (Jan 31 + 1 month = Feb 28),
    years are 12 months, weeks 7 days. Out of the calendar: ValueError or OverflowError."""
    if interval is Interval.MONTH or interval is Interval.YEAR:
        total = wall.month - 1 + (12 * steps if interval is Interval.YEAR else steps)
        year, month = wall.year + total // 12, total % 12 + 1
        if not MINYEAR <= year <= MAXYEAR:
            raise ValueError(f"year {year} is out of range")
        return wall.replace(year=year, month=month, day=min(wall.day, monthrange(year, month)[1]))
    return wall + timedelta(days=7 * steps if interval is Interval.WEEK else steps)


def boundary(
    anchor: datetime, interval: Interval, count: int, n: int, tz: str = "UTC"
) -> datetime:
    """The n-th period boundary after ``anchor`` (n=0 is the anchor), in UTC."""
    anchor = to_utc(anchor, "anchor")
    unit = validate_interval(interval, count)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"boundary index must be a non-negative integer, got {n!r}")
    if n == 0:
        # Returned as-is (in UTC) so an anchor inside an ambiguous DST hour survives.
        return anchor.astimezone(UTC)
    local_zone = zone(tz)
    wall = anchor.astimezone(local_zone).replace(tzinfo=None, fold=0)
    try:
        shifted = _shift(wall, unit, n * count)
    except (OverflowError, ValueError):
        raise ValueError("billing period is beyond the supported calendar") from None
    # fold=0: a wall time that happens twice (DST end) resolves to the first instant;
    # one that never happens (DST start) resolves with the pre-transition offset.
    return shifted.replace(tzinfo=local_zone, fold=0).astimezone(UTC)


def period_at(
    anchor: datetime, interval: Interval, count: int, n: int, tz: str = "UTC"
) -> Period:
    """The n-th period: [boundary(n), boundary(n+1))."""
    return Period(
        boundary(anchor, interval, count, n, tz), boundary(anchor, interval, count, n + 1, tz)
    )


def _estimate_index(
    anchor: datetime, unit: Interval, count: int, at: datetime, tz: str
) -> int:
    # Calendar distance in local wall time; off by at most one or two, fixed by caller.
    local_zone = zone(tz)
    a = anchor.astimezone(local_zone)
    b = at.astimezone(local_zone)
    if unit in (Interval.MONTH, Interval.YEAR):
        months = (b.year - a.year) * 12 + (b.month - a.month)
        per_period = count * (12 if unit is Interval.YEAR else 1)
        return max(months // per_period, 0)
    days = (b.date() - a.date()).days
    per_period = count * (7 if unit is Interval.WEEK else 1)
    return max(days // per_period, 0)


def period_starting_at(
    anchor: datetime, interval: Interval, count: int, start: datetime, tz: str = "UTC"
) -> tuple[int, Period]:
    """(n, period n) for the period that starts exactly at ``start``; ValueError if ``start`` is
    not a boundary. The billing run's hot path: the anchor's wall time is computed once and
    usually two boundaries are enough (same arithmetic as ``boundary``)."""
    anchor = to_utc(anchor, "anchor")
    start = to_utc(start, "start")
    unit = validate_interval(interval, count)
    if start < anchor:
        raise ValueError("the moment is before the billing anchor")
    local_zone = zone(tz)
    wall = anchor.astimezone(local_zone).replace(tzinfo=None, fold=0)

    def at(n: int) -> datetime:
        if n == 0:
            return anchor
        try:
            shifted = _shift(wall, unit, n * count)
        except (OverflowError, ValueError):
            raise ValueError("billing period is beyond the supported calendar") from None
        return shifted.replace(tzinfo=local_zone, fold=0).astimezone(UTC)

    n = _estimate_index(anchor, unit, count, start, tz)
    begin = at(n)
    while n > 0 and begin > start:
        n -= 1
        begin = at(n)
    while begin < start:
        n += 1
        begin = at(n)
    if begin != start:
        raise ValueError(f"{start.isoformat()} is not a period boundary")
    return n, Period(begin, at(n + 1))


def period_index_containing(
    anchor: datetime, interval: Interval, count: int, at: datetime, tz: str = "UTC"
) -> int:
    """The index n with boundary(n) <= at < boundary(n+1)."""
    anchor = to_utc(anchor, "anchor")
    at = to_utc(at, "at")
    unit = validate_interval(interval, count)
    if at < anchor:
        raise ValueError("the moment is before the billing anchor")
    n = _estimate_index(anchor, unit, count, at, tz)
    while n > 0 and boundary(anchor, unit, count, n, tz) > at:
        n -= 1
    while boundary(anchor, unit, count, n + 1, tz) <= at:
        n += 1
    return n


def first_index_starting_at_or_after(
    anchor: datetime, interval: Interval, count: int, start: datetime, tz: str = "UTC"
) -> int:
    """The smallest n with boundary(n) >= start."""
    anchor = to_utc(anchor, "anchor")
    start = to_utc(start, "start")
    if start <= anchor:
        return 0
    n = period_index_containing(anchor, interval, count, start, tz)
    if boundary(anchor, interval, count, n, tz) < start:
        n += 1
    return n


def periods_starting_between(
    anchor: datetime,
    interval: Interval,
    count: int,
    start: datetime,
    end_inclusive: datetime,
    tz: str = "UTC",
) -> list[tuple[int, Period]]:
    """Every (index, period) whose start s satisfies start <= s <= end_inclusive."""
    anchor = to_utc(anchor, "anchor")
    start = to_utc(start, "start")
    end_inclusive = to_utc(end_inclusive, "end")
    unit = validate_interval(interval, count)
    result: list[tuple[int, Period]] = []
    if end_inclusive < start:
        return result
    n = first_index_starting_at_or_after(anchor, unit, count, start, tz)
    begin = boundary(anchor, unit, count, n, tz)
    while begin <= end_inclusive:
        end = boundary(anchor, unit, count, n + 1, tz)
        result.append((n, Period(begin, end)))
        n, begin = n + 1, end
    return result

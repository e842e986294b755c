"""Bounded catch-up: how far back a subscription may start, and how many missed periods the
billing run may bill for one subscription before it holds it for the operator.

A start in 1970 used to make the next worker pass bill (and charge) every period since; a
worker that was down for weeks billed every period it missed. Both are bounded here, as pure
rules the subscriptions app applies:

- ``earliest_start``: a start may lie at most one billing period before now (or a fixed number
  of days, when the operator sets one);
- ``periods_due`` / ``must_hold``: when more periods are due at once than the limit allows, the
  subscription is held (nothing billed) until the operator releases it. The count is derived
  from the subscription's own period and the time of the pass, never from a counter, so a
  retried or a concurrent pass decides the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta

from .periods import Interval, boundary, period_index_containing, to_utc, validate_interval, zone

# The default number of periods one subscription may be billed for in one catch-up.
DEFAULT_MAX_CATCHUP_PERIODS = 3


def earliest_start(now: datetime, interval: str | Interval, count: int, tz: str = "UTC",
                   max_backdate_days: int | None = None) -> datetime:
    """The earliest start a new subscription may have at ``now``: one billing period of its
    plan before ``now`` in the business time zone (a month before March 31 is February 28), or
    ``max_backdate_days`` days before ``now`` when given."""
    now = to_utc(now, "now")
    if max_backdate_days is not None:
        return now - timedelta(days=max_backdate_days)
    unit = validate_interval(interval, count)
    local_zone = zone(tz)
    wall = now.astimezone(local_zone).replace(tzinfo=None, fold=0)
    step = {Interval.MONTH: relativedelta(months=count), Interval.YEAR: relativedelta(months=12 * count),
            Interval.WEEK: relativedelta(days=7 * count), Interval.DAY: relativedelta(days=count)}[unit]
    # Months clamp to the month's last day (March 31 - 1 month = February 28), as periods do.
    return (wall - step).replace(tzinfo=local_zone, fold=0).astimezone(now.tzinfo)


def periods_due(anchor: datetime, interval: str | Interval, count: int, next_index: int, until: datetime,
                tz: str = "UTC") -> int:
    """How many periods, from period ``next_index`` on, start at or before ``until``: what a
    pass up to ``until`` would bill for a subscription whose next period is ``next_index``."""
    if boundary(anchor, validate_interval(interval, count), count, next_index, tz) > until:
        return 0
    return period_index_containing(anchor, interval, count, until, tz) - next_index + 1


def must_hold(due: int, limit: int | None) -> bool:
    """Whether ``due`` periods are too many to bill in one catch-up (``limit`` None: no limit,
    the sandbox test clock, which moves time on purpose)."""
    return limit is not None and due > limit

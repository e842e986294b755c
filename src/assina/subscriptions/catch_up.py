"""Bounded catch-up in the billing run: how many missed periods one pass may bill for one
subscription, and holding a subscription that is further behind (docs/billing.md "Catch-up").

A worker that was down for weeks (or a short interval) finds several periods of a subscription
due at once. Up to ``ASSINA_MAX_CATCHUP_PERIODS`` (default 3) they are billed as usual; with more,
nothing is billed: the subscription is held (``catch_up_held_at``, which empties its next action
time, ``core.schedule``), a ``subscription.catch_up_held`` event is recorded, ``assina check``
names it, and the operator releases it (``release``: bill the missed periods, or skip them).

The count comes from the subscription's period and the pass's time (``core.catch_up``), never
from a counter, so a retried pass, a crashed one and two workers at once all decide the same.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from assina.clock.installation import recorded_mode
from assina.core.catch_up import must_hold, periods_due
from assina.core.periods import Interval
from assina.events.services import record

from . import store
from .models import Subscription


def database_is_sandbox() -> bool:
    """Whether this database is a sandbox one: the one place the catch-up limit asks. The
    database's recorded mode (``assina.clock.installation``) decides; a process whose
    ``ASSINA_MODE`` disagrees refuses to run, and either saying live is enough to cap."""
    return settings.ASSINA_MODE == "sandbox" and recorded_mode() != "live"


def catch_up_limit(at_due_time: bool) -> int | None:
    """The most periods one pass may bill per subscription; None: no limit.

    ``at_due_time`` is how a pass says the sandbox test clock is moving time on purpose (``assina
    clock advance``, or a worker over a frozen sandbox clock): each period is billed when it fell
    due, which is the point of moving the clock, so it is not capped. Anything else (a worker on
    real time, in either mode) is."""
    if at_due_time and database_is_sandbox():
        return None
    return settings.ASSINA_MAX_CATCHUP_PERIODS


def too_far_behind(anchor: datetime, interval: str, interval_count: int, next_index: int, next_end: datetime,
                   until: datetime, limit: int | None) -> int | None:
    """How many periods are due (at least ``limit`` + 1) when that is more than ``limit``, else
    None. ``next_index``/``next_end``: the period the renewal would bill. Cheap for the common
    case: a renewal whose new period ends after ``until`` is the only one due."""
    if limit is None or next_end > until:
        return None
    due = periods_due(anchor, Interval(interval), interval_count, next_index, until, settings.TIME_ZONE)
    return due if must_hold(due, limit) else None


def hold(sub_id: int, at: datetime, due: int, limit: int) -> None:
    """Hold subscription ``sub_id`` (locked by the caller's batch) for the operator, with its
    event, in the caller's transaction."""
    sub = Subscription.objects.get(pk=sub_id)
    sub.catch_up_held_at = at
    store.save(sub, ["catch_up_held_at"])
    record("subscription.catch_up_held", sub, at, {
        "periods_due": due, "limit": limit, "unbilled_from": sub.current_period_end.isoformat(),
    })

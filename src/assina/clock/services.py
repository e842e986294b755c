"""The injectable clock every service reads, and the sandbox test clock that moves it."""

from __future__ import annotations

from datetime import datetime, timezone

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.db import aware_datetime, select_row, sql_columns, sql_table

from .models import ClockState


class ClockError(DomainError):
    pass


class DatabaseClock:
    """Reads the database's clock: frozen time in a sandbox with a test clock, else system time."""

    def now(self) -> datetime:
        if settings.ASSINA_MODE == "sandbox":
            frozen = _frozen_at()
            if frozen is not None:
                return frozen
        return datetime.now(timezone.utc)


def _frozen_at() -> datetime | None:
    """The test clock's time. Every service and API request reads it, so it is one plain
    statement rather than an ORM query (whose building cost more than the lookup)."""
    row = select_row(f"SELECT {sql_columns(ClockState)['frozen_at']} FROM {sql_table(ClockState)} WHERE id = 1")
    return aware_datetime(row[0]) if row is not None else None


_clock = DatabaseClock()


def now() -> datetime:
    return _clock.now()


def _require_sandbox() -> None:
    if settings.ASSINA_MODE != "sandbox":
        raise ClockError(_("the clock of a live database cannot be moved"))


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ClockError(_("the time must include a time zone (for example 2027-06-01T00:00:00Z)"))


def freeze_clock(at: datetime) -> None:
    """Freeze the sandbox clock at ``at`` (used to start a simulation in the past).

    Refused when anything already happened after ``at``: moving back would let new work
    happen "before" recorded history.
    """
    _require_sandbox()
    _require_aware(at)
    from assina.events.models import Event

    with transaction.atomic():
        if Event.objects.filter(occurred_at__gt=at).exists():
            raise ClockError(_("the clock cannot go back before events that already happened"))
        ClockState.objects.update_or_create(pk=1, defaults={"frozen_at": at})


def set_frozen_time(at: datetime) -> None:
    if not ClockState.objects.filter(pk=1).update(frozen_at=at):
        ClockState.objects.create(pk=1, frozen_at=at)


def advance_clock(to: datetime, *, batch_size: int | None = None, followers: bool = True) -> dict:
    """Move the sandbox clock to ``to``, processing every piece of due work on the way, in time order.

    Idempotent: advancing again to the same time finds nothing due and creates nothing. With
    ``followers=False`` the jobs that only follow others (mail and webhook sending, see
    ``assina.jobs``) wait for the next advance that runs them.
    """
    _require_sandbox()
    _require_aware(to)
    current = now()
    if to < current:
        raise ClockError(_("the clock cannot go backwards (it is %(now)s, asked for %(to)s)")
                         % {"now": current.isoformat(), "to": to.isoformat()})
    from assina.jobs import run_jobs_until
    from assina.subscriptions import due_work

    if batch_size is not None:  # the benchmark measures other batch sizes
        due_work.BATCH_SIZE = batch_size
    summary = run_jobs_until(to, followers=followers)
    with transaction.atomic():
        set_frozen_time(to)
    summary["clock"] = to.isoformat()
    return summary

"""Use cases of the sandbox test clock: freeze it at a moment, and record where it stands.

Reading the time is ``assina.time.now``; moving the clock forward while running the work that
falls due is ``assina.scheduler.advance_clock``.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.events.models import Event

from .models import ClockState


class ClockError(DomainError):
    pass


def require_sandbox() -> None:
    if settings.ASSINA_MODE != "sandbox":
        raise ClockError(_("the clock of a live database cannot be moved"))


def require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ClockError(_("the time must include a time zone (for example 2027-06-01T00:00:00Z)"))


def freeze_clock(at: datetime) -> None:
    """Freeze the sandbox clock at ``at`` (used to start a simulation in the past).

    Refused when anything already happened after ``at``: moving back would let new work
    happen "before" recorded history.
    """
    require_sandbox()
    require_aware(at)
    with transaction.atomic():
        if Event.objects.filter(occurred_at__gt=at).exists():
            raise ClockError(_("the clock cannot go back before events that already happened"))
        ClockState.objects.update_or_create(pk=1, defaults={"frozen_at": at})


def set_frozen_time(at: datetime) -> None:
    if not ClockState.objects.filter(pk=1).update(frozen_at=at):
        ClockState.objects.create(pk=1, frozen_at=at)

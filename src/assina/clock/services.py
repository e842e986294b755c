"""Use cases of the sandbox test clock: freeze it at a moment, and record where it stands.

Reading the time is ``assina.time.now``; moving the clock forward while running the work that
falls due is ``assina.scheduler.advance_clock``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.events.models import Event

from .installation import forget_link_signing_key
from .models import ClockState, Installation


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


def switch_to_live(*, invoice_count: int, i_understand: bool = False) -> Installation:
    """Make this sandbox database live, for good: the explicit way, never an environment change.

    Refused when the database already holds invoices (sandbox money that is not real), unless
    the operator says they understand. The test clock is cleared (a live database reads the real
    time) and the sandbox's link signing key dropped (links sent in the sandbox stop working; live
    links are signed with ASSINA_SECRET_KEY). ``invoice_count`` comes from the caller: this
    foundation app cannot ask the invoices app.
    """
    with transaction.atomic():
        row = Installation.objects.select_for_update().filter(pk=1).first()
        if row is None:
            raise ClockError(_("this database has no recorded mode: run 'assina migrate' first"))
        if row.mode == Installation.Mode.LIVE:
            raise ClockError(_("this database is already live"))
        if invoice_count and not i_understand:
            raise ClockError(_("this sandbox database holds %(count)d invoice(s) of test money: start live on a new "
                               "database, or pass --i-understand to keep them") % {"count": invoice_count})
        row.mode = Installation.Mode.LIVE
        row.link_signing_key = ""
        row.switched_to_live_at = datetime.now(timezone.utc)
        row.save(update_fields=["mode", "link_signing_key", "switched_to_live_at"])
        ClockState.objects.filter(pk=1).update(frozen_at=None)
    forget_link_signing_key()
    return row

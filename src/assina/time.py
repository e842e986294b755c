"""The current time: the one clock every module reads.

A sandbox database may have a frozen test clock (a row of ``clock.ClockState``); then ``now()``
is that moment, otherwise the system time in UTC. This module is a leaf of the layers: it
imports no app (the row is read by fixed SQL; ``assina.clock.queries`` keeps the statement's
ORM twin and a test compares them), so every app, however low, may ask it the time.
Moving the test clock and running the work that falls due on the way belong to the scheduler
(``assina.scheduler``), at the top.
"""

from __future__ import annotations

from datetime import datetime, timezone

from django.conf import settings

from assina.db import aware_datetime, select_row

# The table and column of ``assina.clock.models.ClockState`` (checked by a test).
FROZEN_AT_SQL = "SELECT frozen_at FROM clock_clockstate WHERE id = 1"


def frozen_at() -> datetime | None:
    """The test clock's time, or None when the clock follows the system time. Every service and
    API request reads it, so it is one plain statement rather than an ORM query (whose building
    costs more than the lookup)."""
    row = select_row(FROZEN_AT_SQL)
    return aware_datetime(row[0]) if row is not None else None


def now() -> datetime:
    """Frozen time in a sandbox with a test clock, else the system time (aware, UTC)."""
    if settings.ASSINA_MODE == "sandbox":
        frozen = frozen_at()
        if frozen is not None:
            return frozen
    return datetime.now(timezone.utc)

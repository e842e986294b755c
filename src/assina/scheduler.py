"""Running the registered jobs up to a time: the worker's pass, the sandbox test clock's advance,
and the follower child of the demo simulation. This sits above every app (it runs their jobs);
the registry it reads is ``assina.jobs``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from assina.clock.services import ClockError, require_aware, require_sandbox, set_frozen_time
from assina.jobs import Due, registered_jobs
from assina.time import now


def run_jobs(until: datetime, *, at_due_time: bool, followers: bool = True, only_followers: bool = False) -> dict:
    """One pass of every job with work up to ``until``. Returns the jobs' counts added together.

    Each job's check runs right before the job, after the jobs ordered before it: billing's
    events are what the email and webhook jobs then look for. ``only_followers`` runs just the
    jobs that follow others (a second process sending mail while the clock moves).
    """
    summary: Counter = Counter()
    for job in registered_jobs():
        if only_followers and not job.follows:
            continue
        if (followers or not job.follows) and job.wanted(until):
            summary.update(job.run(until, at_due_time=at_due_time))
    return dict(summary)


def run_jobs_until(to: datetime, *, followers: bool = True) -> dict:
    """Everything due up to ``to``, in time order (the test clock); without ``followers``, the
    jobs that only follow others are left for a later call."""
    summary: Counter = Counter()
    guard = None
    reached = False
    while True:
        dues = [_as_due(job.next_due()) for job in registered_jobs() if job.next_due]
        pending = sorted(due.at for due in dues if due is not None and due.at <= to)
        if reached and not pending:
            break
        # Work that may wait for a later stop waits for ``to`` when ``to`` comes early enough.
        forced = [due.at for due in dues if due is not None and due.at <= to and (due.latest is None or due.latest <= to)]
        stop = min(forced) if forced else to
        before = sum(summary.values())
        summary.update(run_jobs(stop, at_due_time=True, followers=followers))
        reached = stop == to
        progressed = sum(summary.values()) != before
        if not progressed and guard == (stop, tuple(pending)):
            # The same work is due again and the last pass did nothing: a bug, not an endless loop.
            raise RuntimeError(f"due work made no progress at {stop.isoformat()}")
        guard = None if progressed else (stop, tuple(pending))
    return dict(summary)


def _as_due(value: datetime | Due | None) -> Due | None:
    return value if value is None or isinstance(value, Due) else Due(value)


def advance_clock(to: datetime, *, followers: bool = True) -> dict:
    """Move the sandbox clock to ``to``, processing every piece of due work on the way, in time order.

    Idempotent: advancing again to the same time finds nothing due and creates nothing. With
    ``followers=False`` the jobs that only follow others (mail and webhook sending, see
    ``assina.jobs``) wait for the next advance that runs them.
    """
    require_sandbox()
    require_aware(to)
    current = now()
    if to < current:
        raise ClockError(_("the clock cannot go backwards (it is %(now)s, asked for %(to)s)")
                         % {"now": current.isoformat(), "to": to.isoformat()})
    summary = run_jobs_until(to, followers=followers)
    with transaction.atomic():
        set_frozen_time(to)
    summary["clock"] = to.isoformat()
    return summary

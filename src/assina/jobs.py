"""The registry of due work: billing, payment retries, email, webhook deliveries...

Each app registers its jobs in its ``AppConfig.ready()``. Two callers run them:

- the worker (``assina worker``), which runs every job up to the current time, over and over;
- the sandbox test clock (``assina clock advance``), which moves time forward in steps so that
  work happens in the order its dates say. A job whose order against the others matters (a
  payment retry must happen before the renewal that follows it, a dunning final action before
  the next period is billed) gives ``next_due``: the clock stops at that time, runs every job
  up to it, and goes on. Jobs without ``next_due`` (billing orders itself; email and webhook
  sending only follow what happened) do not stop the clock. A job whose work may happen a
  little late, stamped with the time it fell due, says until when (``Due(at, latest)``: a
  reminder can wait for the next stop as long as that comes before the renewal it announces),
  so a clock that will stop before then anyway adds no stop of its own.

A job may also give ``has_work(until)``: a cheap check (a query or two on indexed columns)
that says whether a pass up to ``until`` could do anything. Both callers skip a job whose
check says no, so a clock that stops a thousand times, or a worker that polls every few
seconds, costs a few light queries per idle job instead of each job's whole search. The check
must never say no when there is work; saying yes when there is none only costs a pass.

A job that only follows what others did (mail made from events, sending what is queued) says
``follows=True``: ``advance_clock(to, followers=False)`` leaves it for a later advance, which
does its work stamped with the time it fell due. The demo simulation uses that to send a
simulated day's mail once, at the start of the next day, instead of after every action.

A job must do its work at the time the work fell due when ``at_due_time`` is true (the test
clock), and at ``until`` otherwise (a worker catching up after downtime). It must never read the
clock itself: the caller passes the time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, NamedTuple, Protocol


class Due(NamedTuple):
    """When a job's next work falls due, and the moment before which the clock may do it
    instead at a later stop (``None``: exactly at ``at``)."""

    at: datetime
    latest: datetime | None = None


NextDue = Callable[[], "datetime | Due | None"]


class RunJob(Protocol):
    def __call__(self, until: datetime, *, at_due_time: bool) -> dict: ...


@dataclass(frozen=True)
class Job:
    name: str
    run: RunJob
    next_due: NextDue | None = None
    order: int = 100
    has_work: Callable[[datetime], bool] | None = None
    follows: bool = False

    def wanted(self, until: datetime) -> bool:
        return self.has_work is None or self.has_work(until)


_JOBS: dict[str, Job] = {}


def register_job(name: str, run: RunJob, *, next_due: NextDue | None = None,
                 order: int = 100, has_work: Callable[[datetime], bool] | None = None,
                 follows: bool = False) -> None:
    """Register (or replace) the job ``name``. Lower ``order`` runs first at each stop."""
    _JOBS[name] = Job(name, run, next_due, order, has_work, follows)


def registered_jobs() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda job: (job.order, job.name))


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


# How long a follower process waits before looking again when a pass found nothing (seconds).
FOLLOW_POLL = 0.05


def follow_in_child(database_name: str, stop, wake) -> None:
    """The body of a child process that runs only the follower jobs, up to the test clock's
    time, until ``stop`` (a multiprocessing Event) is set: the simulation sends its mail from
    there while it moves the clock (``assina.simulation.followers``). An idle child looks
    again when ``wake`` is set (the clock moved) or after ``FOLLOW_POLL`` seconds.

    It lives in this light module because a spawned child imports its target before Django is
    set up; everything Django is imported here after ``django.setup()``."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from django.db import connections

    # The parent's database (under tests, the test database rather than the configured one).
    connections["default"].settings_dict["NAME"] = database_name
    from assina.clock.services import now

    try:
        while not stop.is_set():
            wake.clear()  # a move of the clock during this pass calls for another one
            if not run_jobs(now(), at_due_time=True, only_followers=True):
                wake.wait(FOLLOW_POLL)
    finally:
        connections.close_all()

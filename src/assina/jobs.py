"""The registry of due work: billing, payment retries, email, webhook deliveries...

Each app registers its job in its ``AppConfig.ready()``. Two callers run them:

- the worker (``assina worker``), which runs every job up to the current time, over and over;
- the sandbox test clock (``assina clock advance``), which moves time forward in steps so that
  work happens in the order its dates say. A job whose order against the others matters (a
  payment retry must happen before the renewal that follows it, a dunning final action before
  the next period is billed) gives ``next_due``: the clock stops at that time, runs every job
  up to it, and goes on. Jobs without ``next_due`` (billing orders itself; email and webhook
  sending only follow what happened) run at every stop.

A job must do its work at the time the work fell due when ``at_due_time`` is true (the test
clock), and at ``until`` otherwise (a worker catching up after downtime). It must never read the
clock itself: the caller passes the time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol


class RunJob(Protocol):
    def __call__(self, until: datetime, *, at_due_time: bool) -> dict: ...


@dataclass(frozen=True)
class Job:
    name: str
    run: RunJob
    next_due: Callable[[], datetime | None] | None = None
    order: int = 100


_JOBS: dict[str, Job] = {}


def register_job(name: str, run: RunJob, *, next_due: Callable[[], datetime | None] | None = None,
                 order: int = 100) -> None:
    """Register (or replace) the job ``name``. Lower ``order`` runs first at each stop."""
    _JOBS[name] = Job(name, run, next_due, order)


def registered_jobs() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda job: (job.order, job.name))


def run_jobs(until: datetime, *, at_due_time: bool) -> dict:
    """One pass of every job up to ``until``. Returns the jobs' counts added together."""
    summary: Counter = Counter()
    for job in registered_jobs():
        summary.update(job.run(until, at_due_time=at_due_time))
    return dict(summary)


def run_jobs_until(to: datetime) -> dict:
    """Everything due up to ``to``, in time order (the test clock)."""
    summary: Counter = Counter()
    guard = None
    while True:
        pending = sorted(t for t in (job.next_due() for job in registered_jobs() if job.next_due) if t is not None and t <= to)
        stop = pending[0] if pending else to
        before = sum(summary.values())
        summary.update(run_jobs(stop, at_due_time=True))
        if not pending and stop == to:
            break
        progressed = sum(summary.values()) != before
        if not progressed and guard == (stop, tuple(pending)):
            # The same work is due again and the last pass did nothing: a bug, not an endless loop.
            raise RuntimeError(f"due work made no progress at {stop.isoformat()}")
        guard = None if progressed else (stop, tuple(pending))
    return dict(summary)

"""The registry of due work: billing, payment retries, email, webhook deliveries...

Each app registers its jobs (from its ``jobs.py``) in its ``AppConfig.ready()``. This module only
holds the registry and imports no app; running the jobs is ``assina.scheduler``'s. Two callers
run them:

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

"""The simulated business's mail and webhooks, sent by a second process while the clock moves.

An installation runs the clock's work and a worker side by side; so does the simulation. The
main process moves the test clock (billing, retries, reminders: work whose order matters) and
leaves the jobs that only follow what happened (``follows=True``: mail made from events,
sending, webhook deliveries) to a child process that runs them up to the clock's current time,
over and over. Each message is still dated when it fell due; on a machine with two cores the
simulation takes about half the time.

The mail must be the same as if one process had done everything, and some of what the main
process does reads what the child wrote: the onboarding reminders follow the welcome message
by days (3 by default). A single process makes the mail of a day's events at the first stop of
the next day, before that day's reminders; so at each new day the main process makes the
messages of the events the onboarding can already need that the child has not reached yet
(``catch_up``: the welcomes' events older than the first onboarding step less a day, which the
child has almost always done; the messages' unique keys and the events' receipts make it
harmless when both processes make the same one). When the walk ends, the child stops and the main process runs the
followers one last time up to the end, so nothing the child had not reached yet is left behind.

The child needs its own connection to the same database: it is not used for an in-memory
SQLite database or inside a transaction (a test's), which a second process cannot see.
"""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta

from django.db import connection

from assina.simulation.follower_child import follow_in_child


def can_follow_in_parallel() -> bool:
    return not connection.in_atomic_block and not (connection.vendor == "sqlite" and connection.is_in_memory_db())


class FollowerProcess:
    """``with FollowerProcess():`` runs the follower jobs in a child process for the block's
    duration. Raises if the child failed (its work is then done by the caller's last pass,
    but a failure must not go unnoticed)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop, self._wake = context.Event(), context.Event()
        self._process = context.Process(target=follow_in_child,
                                        args=(connection.settings_dict["NAME"], self._stop, self._wake),
                                        name="assina-simulation-followers", daemon=True)
        self._caught_up_to: datetime | None = None

    def __enter__(self) -> "FollowerProcess":
        self._process.start()
        return self

    def clock_moved(self) -> None:
        """Wake the child: the clock's new time may have made mail due."""
        self._wake.set()

    def catch_up(self, day_start: datetime) -> None:
        """Before the first stop of the day starting at ``day_start``: make the messages the
        day's reminders can read (welcomes followed by an onboarding step due today or later)
        that the child has not made yet, rather than wait for it."""
        from django.conf import settings

        from assina.notifications.producing import READ_BY_REMINDERS, has_unprocessed, produce_from_events

        if not self._process.is_alive():
            raise RuntimeError(f"the process sending the simulation's mail stopped (exit code {self._process.exitcode})")
        steps = settings.ASSINA_EMAIL_ONBOARDING_DAYS[1:]
        if not steps:
            return  # nothing the main process does reads the mail
        # A welcome of day D is read by the onboarding step due on day D + step; the days
        # between are the child's.
        until = day_start - timedelta(days=max(min(steps) - 1, 0), microseconds=1)
        # Only the events since the last catch-up (the earlier ones all have their messages), and
        # only those whose messages the reminders read (the welcomes): the rest stays the child's.
        if has_unprocessed(until, after=self._caught_up_to, types=READ_BY_REMINDERS):
            produce_from_events(until, at_due_time=True, types=READ_BY_REMINDERS)
        self._caught_up_to = until

    def __exit__(self, kind, error, traceback) -> None:
        self._stop.set()
        self._wake.set()
        self._process.join()
        if error is None and self._process.exitcode != 0:
            raise RuntimeError(f"the process sending the simulation's mail failed (exit code {self._process.exitcode})")

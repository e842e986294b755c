"""The ``email`` job: produce messages from new events and from what fell due, then send.

Registered from ``NotificationsConfig.ready()``. Reminders give ``next_due`` so the test clock
stops on the day each one falls due (a simulated month sends each message on its day).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from .campaigns import send_scheduled
from .producing import produce_from_events
from .reminders import next_due, produce_reminders
from .sending import send_due


def run(until: datetime, *, at_due_time: bool) -> dict:
    counts: Counter = Counter()
    counts.update(produce_from_events(until, at_due_time=at_due_time))
    counts.update(produce_reminders(until, at_due_time=at_due_time))
    counts.update(send_scheduled(until))
    sent = send_due(until, at_due_time=at_due_time)
    counts.update(sent)
    # Only real work counts as progress for the clock's guard (a pass that finds nothing adds 0).
    return {key: value for key, value in counts.items() if value}


def register() -> None:
    from assina.jobs import register_job

    register_job("email", run, next_due=next_due, order=900)

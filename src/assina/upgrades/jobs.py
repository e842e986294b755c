"""The upgrades app's job: temporary upgrades' reminders and ends (``due_work``). Each stops the
test clock at its own time (``next_due``): a reminder two days before, the end exactly then."""

from __future__ import annotations

from assina.jobs import register_job

from .due_work import has_work, next_due, process_due_trials


def register() -> None:
    register_job("temporary_upgrades", lambda until, *, at_due_time: process_due_trials(until, at_due_time=at_due_time),
                 next_due=next_due, has_work=has_work, order=40)

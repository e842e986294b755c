"""The retention jobs (see ``assina.jobs``): cancel sessions without a step for an hour are
abandoned (``cancel_flow.abandoned``); saves are validated against billing 30 days after their
session (``cancel_flow.save_validated``, ``validation.py``)."""

from __future__ import annotations

from datetime import datetime

from assina.jobs import register_job

from . import validation
from .services import abandon_idle, idle_sessions


def has_work(until: datetime) -> bool:
    # The same query as the job's (index on outcome, updated_at).
    return idle_sessions(until).exists()


def register() -> None:
    # Only follows the clock; when it runs exactly does not matter to other jobs (stamped with
    # the time each session fell idle under the test clock).
    register_job("cancel_flow_idle", abandon_idle, has_work=has_work, order=120)
    # Saves validated against billing 30 days after the session (validation.py): the clock stops
    # at each 30-day mark, after billing's work at that moment, so the subscription is read as it is then.
    register_job("cancel_flow_save_validation", validation.validate_saves, has_work=validation.has_work,
                 next_due=validation.next_due, order=130)

"""The subscriptions jobs and the cheap checks the job runner makes before them (see
``assina.jobs``): the billing run, and the notices of cards about to expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from assina.jobs import register_job

from . import expiring_cards
from .due_times import has_work
from .due_work import process_due_work
from .queries import first_expiring_card


def expiring_cards_have_work(until: datetime) -> bool:
    """The card in use that expires first is within its notice period (cards are ordered by
    expiry, so if the first is not, none is). It says the same as
    ``expiring_cards.expiring_methods``, which the job uses, in one fixed statement
    (``queries.first_expiring_card``): the clock asks at every stop."""
    days = expiring_cards.days_ahead()
    row = first_expiring_card(until, days)
    return row is not None and expiring_cards.expires_at(*row) - timedelta(days=days) <= until


def register() -> None:
    # Billing orders its own work by due time, so it needs no clock stops of its own.
    register_job("billing", lambda until, *, at_due_time: process_due_work(until, at_due_time=at_due_time),
                 has_work=has_work, order=0)
    # Notices of cards about to expire only follow the clock.
    register_job("expiring_cards", expiring_cards.run, has_work=expiring_cards_have_work, order=50)

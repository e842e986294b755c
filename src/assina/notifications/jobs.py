"""The mail jobs: produce messages from new events and from what fell due, then send.

Registered from ``NotificationsConfig.ready()`` as four jobs, each with a cheap check of its
own, so the clock and the worker skip the ones with nothing to do: messages from events,
reminders (which give ``next_due``, so the test clock stops on the day each one falls due and
a simulated month sends each message on its day), scheduled campaigns, and sending.
``run`` is all four in one pass (the CLI and tests use it).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db.models import Q

from . import reminders
from .campaigns import send_scheduled
from .models import Message
from .producing import has_unprocessed, produce_from_events, wall_now
from .queries import next_campaign
from .sending import send_due


def produce_events(until: datetime, *, at_due_time: bool) -> dict:
    return _worked(produce_from_events(until, at_due_time=at_due_time))


def produce_reminders(until: datetime, *, at_due_time: bool) -> dict:
    return _worked(reminders.produce_reminders(until, at_due_time=at_due_time))


def campaigns(until: datetime, *, at_due_time: bool) -> dict:
    return _worked(send_scheduled(until))


def sending(until: datetime, *, at_due_time: bool) -> dict:
    return _worked(send_due(until, at_due_time=at_due_time))


def campaign_due(until: datetime) -> bool:
    # ``next_campaign`` is one plain statement: the clock asks at every stop.
    due = next_campaign()
    return due is not None and due <= until


def message_due(until: datetime) -> bool:
    """A queued message due by ``until``, or one whose sender died holding it."""
    return Message.objects.filter(Q(status=Message.Status.QUEUED, next_attempt_at__lte=until)
                                  | Q(status=Message.Status.SENDING, claimed_until__lt=wall_now())).exists()


def run(until: datetime, *, at_due_time: bool) -> dict:
    counts: Counter = Counter()
    for step in (produce_events, produce_reminders, campaigns, sending):
        counts.update(step(until, at_due_time=at_due_time))
    return dict(counts)


def _worked(counts: Counter) -> dict:
    # Only real work counts as progress for the clock's guard (a pass that finds nothing adds 0).
    return {key: value for key, value in counts.items() if value}


def register() -> None:
    from assina.jobs import register_job

    register_job("email_from_events", produce_events, has_work=has_unprocessed, order=900, follows=True)
    register_job("email_reminders", produce_reminders, next_due=reminders.next_due, has_work=reminders.has_work, order=901)
    register_job("email_campaigns", campaigns, next_due=next_campaign, has_work=campaign_due, order=902)
    register_job("email_sending", sending, has_work=message_due, order=910, follows=True)

"""The notifications app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them).

Each of these is asked on every pass of a producing job or at every stop of the clock: thousands
of times in a simulation, where building the ORM's query cost more than running it.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Iterable

from django.db import connection
from django.db.models import Case, F, Max, Min, When

from assina.db import aware_datetime, select_row, select_rows, sql_columns, sql_in_list, sql_table, sql_time
from assina.events.models import Event
from assina.subscriptions.models import Subscription

from .models import Campaign, Message, MessageTemplate, ProducerState


@functools.cache
def _template_source_sql(vendor: str) -> str:
    c = sql_columns(MessageTemplate)
    return (f"SELECT {c['subject']}, {c['html']}, {c['text']} FROM {sql_table(MessageTemplate)} "
            f"WHERE {c['key']} = %s AND {c['locale']} = %s")


def template_source(key: str, locale: str) -> tuple[str, str, str] | None:
    """The (subject, html, text) of the stored template of message ``key`` in ``locale``; None
    when there is no such row (the shipped file is used)."""
    return select_row(_template_source_sql(connection.vendor), [key, locale])


def template_source_orm(key: str, locale: str) -> tuple[str, str, str] | None:
    return MessageTemplate.objects.filter(key=key, locale=locale).values_list("subject", "html", "text").first()


@functools.cache
def _next_campaign_sql(vendor: str) -> str:
    c = sql_columns(Campaign)
    return f"SELECT MIN({c['scheduled_at']}) FROM {sql_table(Campaign)} WHERE {c['status']} = %s"


def next_campaign() -> datetime | None:
    """When the next scheduled campaign goes out."""
    return aware_datetime(select_row(_next_campaign_sql(connection.vendor), [Campaign.Status.SCHEDULED.value])[0])


def next_campaign_orm() -> datetime | None:
    return Campaign.objects.filter(status=Campaign.Status.SCHEDULED).aggregate(m=Min("scheduled_at"))["m"]


def queued_keys(keys: Iterable[str]) -> set[str]:
    """Which of these message keys are in the outbox already."""
    if not keys:
        return set()
    key = sql_columns(Message)["key"]
    where, params = sql_in_list(key, keys)
    return {row[0] for row in select_rows(f"SELECT {key} FROM {sql_table(Message)} WHERE {where}", params)}


def queued_keys_orm(keys: Iterable[str]) -> set[str]:
    return set(Message.objects.filter(key__in=list(keys)).values_list("key", flat=True))


# --- reminders (``reminders.has_work`` and ``next_due``: the clock asks at every stop) -------------------

def subscriptions_changed(after_id: int, up_to_id: int | None = None, limit: int | None = None) -> list[int]:
    """Ids of the subscriptions that events after ``after_id`` (up to ``up_to_id``) are about
    (at most ``limit`` of them, any).

    It walks the id range: SQLite would otherwise pick the subject index and walk every
    subscription event ever written (``NOT INDEXED`` still lets it use the primary key)."""
    event = sql_columns(Event)
    not_indexed = " NOT INDEXED" if connection.vendor == "sqlite" else ""
    sql = (f"SELECT DISTINCT {event['subject_id']} FROM {sql_table(Event)}{not_indexed} "
           f"WHERE {event['id']} > %s AND {event['subject_type']} = %s")
    params: list = [after_id, "subscription"]
    if up_to_id is not None:
        sql += f" AND {event['id']} <= %s"
        params.append(up_to_id)
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [row[0] for row in select_rows(sql, params)]


def subscriptions_changed_orm(after_id: int, up_to_id: int | None = None, limit: int | None = None) -> list[int]:
    events = Event.objects.filter(id__gt=after_id, subject_type="subscription")
    if up_to_id is not None:
        events = events.filter(id__lte=up_to_id)
    ids = events.order_by().values_list("subject_id", flat=True).distinct()
    return list(ids[:limit] if limit is not None else ids)


def last_reminders_pass(with_top_event: bool = False) -> tuple[datetime | None, int, int]:
    """Up to when the last pass of the reminders looked, the highest event id it had seen (0:
    no pass yet) and, with ``with_top_event``, the highest event id now (else 0)."""
    state = sql_columns(ProducerState)
    top = f"(SELECT MAX({sql_columns(Event)['id']}) FROM {sql_table(Event)})" if with_top_event else "0"
    until, event_id, top_id = select_row(
        f"SELECT {state['reminders_until']}, {state['reminders_event_id']}, {top} "
        f"FROM (SELECT 1 AS one) AS always LEFT JOIN {sql_table(ProducerState)} ON {state['id']} = 1")
    return aware_datetime(until), event_id or 0, top_id or 0


def last_reminders_pass_orm(with_top_event: bool = False) -> tuple[datetime | None, int, int]:
    until, event_id = ProducerState.objects.filter(pk=1).values_list("reminders_until", "reminders_event_id").first() \
        or (None, 0)
    top = (Event.objects.aggregate(m=Max("id"))["m"] or 0) if with_top_event else 0
    return until, event_id or 0, top


def first_subscription_times(trials_from: list[datetime], renewals_from: list[tuple[tuple[str, ...], str, datetime]],
                             ended_from: datetime) -> list[datetime | None]:
    """In one statement, the first of: each trial end at or after a moment of ``trials_from``;
    each period end at or after ``at`` of a subscription in one of ``statuses``, billed every
    ``interval`` and not canceling, for each (statuses, interval, at) of ``renewals_from``; and
    the first end of a canceled subscription at or after ``ended_from``. In that order."""
    col = sql_columns(Subscription)
    minimums: list[str] = []
    params: list = []
    for at in trials_from:
        minimums.append(f"MIN(CASE WHEN {col['status']} = %s AND {col['trial_end']} >= %s THEN {col['trial_end']} END)")
        params += ["trialing", sql_time(at)]
    for statuses, interval, at in renewals_from:
        minimums.append(f"MIN(CASE WHEN {col['status']} IN ({', '.join('%s' for _ in statuses)}) "
                        f"AND {col['interval']} = %s "
                        f"AND {col['cancel_at_period_end']} = %s AND {col['current_period_end']} >= %s "
                        f"THEN {col['current_period_end']} END)")
        params += [*statuses, interval, False, sql_time(at)]
    minimums.append(f"MIN(CASE WHEN {col['status']} = %s AND {col['ended_at']} >= %s THEN {col['ended_at']} END)")
    params += ["canceled", sql_time(ended_from)]
    return [aware_datetime(value)
            for value in select_row(f"SELECT {', '.join(minimums)} FROM {sql_table(Subscription)}", params)]


def first_subscription_times_orm(trials_from: list[datetime],
                                 renewals_from: list[tuple[tuple[str, ...], str, datetime]],
                                 ended_from: datetime) -> list[datetime | None]:
    firsts = [Min(Case(When(status="trialing", trial_end__gte=at, then=F("trial_end")))) for at in trials_from]
    firsts += [Min(Case(When(status__in=statuses, interval=interval, cancel_at_period_end=False,
                             current_period_end__gte=at, then=F("current_period_end"))))
               for statuses, interval, at in renewals_from]
    firsts.append(Min(Case(When(status="canceled", ended_at__gte=ended_from, then=F("ended_at")))))
    found = Subscription.objects.aggregate(**{f"m{i}": first for i, first in enumerate(firsts)})
    return [found[f"m{i}"] for i in range(len(firsts))]


def first_messages_due(template: str, moments: list[datetime]) -> list[datetime | None]:
    """For each moment, when the first message of ``template`` falls due at or after it: one
    indexed lookup (template, due time) per moment, in one statement."""
    col = sql_columns(Message)
    first_after = (f"(SELECT MIN({col['due_at']}) FROM {sql_table(Message)} "
                   f"WHERE {col['template']} = %s AND {col['due_at']} >= %s)")
    row = select_row("SELECT " + ", ".join(first_after for _ in moments),
                     [value for at in moments for value in (template, sql_time(at))])
    return [aware_datetime(value) for value in row]


def first_messages_due_orm(template: str, moments: list[datetime]) -> list[datetime | None]:
    found = Message.objects.aggregate(**{f"m{i}": Min(Case(When(template=template, due_at__gte=at, then=F("due_at"))))
                                         for i, at in enumerate(moments)})
    return [found[f"m{i}"] for i in range(len(moments))]

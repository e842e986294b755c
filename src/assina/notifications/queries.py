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
from django.db.models import Min

from assina.db import aware_datetime, select_row, select_rows, sql_columns, sql_in_list, sql_table

from .models import Campaign, Message, MessageTemplate


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

"""The webhooks app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them).

Both statements are claims that must hold when several workers race, which is why they are
written by hand: each is one statement whose own WHERE (or conflict clause) decides the winner.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef

from assina.db import execute, select_rows, sql_columns, sql_table, sql_time

from .models import FannedOutEvent, WebhookDelivery, WebhookEndpoint

S = WebhookDelivery.Status


@functools.cache
def _mark_fanned_out_sql(vendor: str) -> str:
    table, event_id = sql_table(FannedOutEvent), sql_columns(FannedOutEvent)["event_id"]
    if vendor == "postgresql":
        return f"INSERT INTO {table} ({event_id}) SELECT unnest(%s::bigint[]) ON CONFLICT DO NOTHING RETURNING {event_id}"
    # "WHERE true" tells SQLite's parser the ON CONFLICT belongs to the INSERT.
    return (f"INSERT INTO {table} ({event_id}) SELECT value FROM json_each(%s) WHERE true "
            f"ON CONFLICT DO NOTHING RETURNING {event_id}")


def mark_fanned_out(event_ids: list[int]) -> set[int]:
    """Insert the events' markers; the ids this transaction marked (another worker may have
    marked some: those are left out)."""
    param = event_ids if connection.vendor == "postgresql" else json.dumps(event_ids)
    return {row[0] for row in select_rows(_mark_fanned_out_sql(connection.vendor), [param])}


def mark_fanned_out_orm(event_ids: list[int]) -> set[int]:
    """The same rows, but not the same answer under a race: the ORM cannot say which rows its
    ``ignore_conflicts`` INSERT wrote, so this reads the markers before."""
    marked = set(FannedOutEvent.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))
    FannedOutEvent.objects.bulk_create([FannedOutEvent(event_id=i) for i in event_ids], ignore_conflicts=True)
    return set(event_ids) - marked


@functools.cache
def _claim_delivery_sql(vendor: str) -> str:
    d, e = sql_columns(WebhookDelivery), sql_columns(WebhookEndpoint)
    table, endpoints = sql_table(WebhookDelivery), sql_table(WebhookEndpoint)
    return (f"UPDATE {table} SET {d['status']} = %s, {d['claimed_at']} = %s WHERE {d['id']} = %s AND {d['status']} = %s "
            f"AND EXISTS (SELECT 1 FROM {endpoints} e WHERE e.{e['id']} = {table}.{d['endpoint']} AND e.{e['enabled']}) "
            f"AND NOT EXISTS (SELECT 1 FROM {table} o WHERE o.{d['endpoint']} = {table}.{d['endpoint']} "
            f"AND o.{d['id']} < {table}.{d['id']} AND o.{d['status']} IN (%s, %s))")


def claim_delivery(delivery_id: int, at: datetime) -> bool:
    """Take a delivery for sending (pending → sending, claimed at ``at``); False when another
    worker has it, its endpoint is disabled, or an older delivery of its endpoint is unfinished.

    One plain UPDATE whose own WHERE tests the status: when two workers race, PostgreSQL
    re-checks that condition on the row the winner just changed, so the loser updates nothing.
    (Django's ``.filter(...).update()`` with a join would test the status inside an
    ``id IN (SELECT …)`` subquery on an older snapshot, and both would win.)
    """
    return execute(_claim_delivery_sql(connection.vendor),
                   [S.SENDING.value, sql_time(at), delivery_id, S.PENDING.value, S.PENDING.value, S.SENDING.value]) == 1


def claim_delivery_orm(delivery_id: int, at: datetime) -> bool:
    """The same rows on one connection; not safe when workers race (see ``claim_delivery``)."""
    older_unfinished = WebhookDelivery.objects.filter(endpoint_id=OuterRef("endpoint_id"), id__lt=OuterRef("id"),
                                                      status__in=[S.PENDING, S.SENDING])
    return WebhookDelivery.objects.filter(pk=delivery_id, status=S.PENDING, endpoint__enabled=True) \
        .exclude(Exists(older_unfinished)).update(status=S.SENDING, claimed_at=at) == 1

"""The engagement app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``).

Storing engagement events is a hot path (tens of thousands a second from the business's product,
a million rows from ``assina import events``): a batch is one INSERT whose rows the database
unpacks from one JSON text, as usage batches are stored (``assina.usage.queries``):
- SQLite: ``INSERT … SELECT … FROM json_each(?)``;
- PostgreSQL: ``INSERT … SELECT … FROM json_array_elements(?)``.
The INSERT skips event ids already stored (``ON CONFLICT (event_id) DO NOTHING``): a re-sent
batch or a re-imported file stores nothing twice. ``tests/integration/test_queries.py`` runs each
statement and its twin on the same rows, on SQLite and PostgreSQL, and compares them.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime

from django.db import connection

from assina.db import _sqlite_datetime, execute_prepared, fetch_prepared, sql_columns, sql_table

from .models import EngagementEvent

# The columns a batch writes, in the order of the INSERTs' SELECT lists.
_FIELDS = ("customer", "event_id", "name", "occurred_at", "value", "properties", "imported", "received_at")


@functools.cache
def _insert_sql(vendor: str, returning: bool) -> str:
    c = sql_columns(EngagementEvent)
    columns = ", ".join(c[name] for name in _FIELDS)
    conflict = f"ON CONFLICT ({c['event_id']}) DO NOTHING" + (f" RETURNING {c['event_id']}" if returning else "")
    if vendor == "postgresql":
        return (f"INSERT INTO {sql_table(EngagementEvent)} ({columns}) "
                "SELECT (r->>0)::bigint, r->>1, r->>2, (r->>3)::timestamptz, (r->>4)::double precision, "
                f"(r->5)::jsonb, %s, %s FROM json_array_elements(%s::json) AS r {conflict}")
    # What Django stores for an aware datetime is naive UTC text ("2027-01-31 10:00:00[.123456]"):
    # the RFC 3339 text msgspec writes for a UTC time, without its T and Z. "WHERE true" tells
    # SQLite's parser the ON CONFLICT belongs to the INSERT.
    return (f"INSERT INTO {sql_table(EngagementEvent)} ({columns}) "
            "SELECT value->>0, value->>1, value->>2, replace(rtrim(value->>3, 'Z'), 'T', ' '), value->>4, "
            f"value->'$[5]', %s, %s FROM json_each(%s) WHERE true {conflict}")


def _params(imported: bool, received_at: datetime, rows: str) -> list:
    at = received_at if connection.vendor == "postgresql" else _sqlite_datetime(received_at)
    return [imported, at, rows]


def insert_events(rows: str, imported: bool, received_at: datetime) -> set[str]:
    """INSERT the rows (a JSON array of [customer id, event id, name, UTC time as RFC 3339 with Z,
    value or null, properties]), skipping event ids already stored; the event ids it stored."""
    return {event_id for (event_id,) in fetch_prepared(_insert_sql(connection.vendor, True),
                                                       _params(imported, received_at, rows))}


def insert_events_orm(rows: str, imported: bool, received_at: datetime) -> set[str]:
    events, seen = [], set()
    for pk, event_id, name, at, value, properties in json.loads(rows):
        if event_id not in seen:  # the first of identical ids in one batch is the stored one
            seen.add(event_id)
            events.append(EngagementEvent(customer_id=pk, event_id=event_id, name=name, occurred_at=_utc(at),
                                          value=value, properties=properties or {}, imported=imported,
                                          received_at=received_at))
    before = set(EngagementEvent.objects.filter(event_id__in=seen).values_list("event_id", flat=True))
    EngagementEvent.objects.bulk_create([e for e in events if e.event_id not in before], ignore_conflicts=True)
    return seen - before


def count_inserted(rows: str, imported: bool, received_at: datetime) -> int:
    """``insert_events`` without reading back the ids: how many rows it stored (bulk imports)."""
    return execute_prepared(_insert_sql(connection.vendor, False), _params(imported, received_at, rows))


def count_inserted_orm(rows: str, imported: bool, received_at: datetime) -> int:
    return len(insert_events_orm(rows, imported, received_at))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


"""The engagement app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``).

Storing engagement events is a hot path (tens of thousands a second from the business's product,
a million rows from ``assina import events``): a batch is one INSERT whose rows the database
unpacks from one JSON text, as usage batches are stored (``assina.usage.queries``):
- SQLite: ``INSERT … SELECT … FROM json_each(?)``;
- PostgreSQL: ``INSERT … SELECT … FROM json_to_recordset(?)`` (typed columns, one C pass).
The INSERT joins the customers table, so it stores only events whose customer exists (the caller
compares the count), and skips event ids already stored (``ON CONFLICT (event_id) DO NOTHING``):
a re-sent batch or a re-imported file stores nothing twice. ``tests/integration/test_queries.py`` runs each
statement and its twin on the same rows, on SQLite and PostgreSQL, and compares them.
"""

from __future__ import annotations

import contextlib
import functools
import json
from datetime import datetime, timedelta, timezone

import numpy as np
from django.db import connection
from django.db.models import Min

from assina.customers.models import Customer
from assina.db import (_sqlite_datetime, execute, execute_prepared, fetch_prepared, select_row, select_rows, sql_columns,
                       sql_table)

from .models import EngagementEvent, FirstEvent

# The columns a batch writes, in the order of the INSERTs' SELECT lists.
_FIELDS = ("customer", "event_id", "name", "occurred_at", "value", "properties", "imported", "received_at")


@functools.cache
def _insert_sql(vendor: str, returning: bool) -> str:
    """The INSERT of a batch: rows whose customer exists (a join on the customers' primary key,
    which the foreign key check reads anyway), ids already stored skipped."""
    c = sql_columns(EngagementEvent)
    customer_id = sql_columns(Customer)["id"]
    columns = ", ".join(c[name] for name in _FIELDS)
    conflict = f"ON CONFLICT ({c['event_id']}) DO NOTHING" + (f" RETURNING {c['event_id']}" if returning else "")
    if vendor == "postgresql":
        # json_to_recordset: typed columns in one C pass.
        return (f"INSERT INTO {sql_table(EngagementEvent)} ({columns}) "
                f"SELECT k.{customer_id}, r.i, r.n, r.t, r.v, COALESCE(r.p, '{{}}'::jsonb), %s, %s "
                "FROM json_to_recordset(%s::json) AS r(c bigint, i text, n text, t timestamptz, v double precision, p jsonb) "
                f"JOIN {sql_table(Customer)} AS k ON k.{customer_id} = r.c {conflict}")
    # What Django stores for an aware datetime is naive UTC text ("2027-01-31 10:00:00[.123456]"):
    # the RFC 3339 text msgspec writes for a UTC time, without its T and Z. "WHERE true" tells
    # SQLite's parser the ON CONFLICT belongs to the INSERT.
    return (f"INSERT INTO {sql_table(EngagementEvent)} ({columns}) "
            f"SELECT k.{customer_id}, j.value->>'i', j.value->>'n', replace(rtrim(j.value->>'t', 'Z'), 'T', ' '), "
            "j.value->>'v', COALESCE(j.value->'p', '{}'), %s, %s "
            f"FROM json_each(%s) AS j JOIN {sql_table(Customer)} AS k ON k.{customer_id} = j.value->>'c' "
            f"WHERE true {conflict}")

def _params(imported: bool, received_at: datetime, rows: str) -> list:
    at = received_at if connection.vendor == "postgresql" else _sqlite_datetime(received_at)
    return [imported, at, rows]


def insert_events(rows: str, imported: bool, received_at: datetime) -> set[str]:
    """INSERT the rows (a JSON array of objects: ``c`` customer id, ``i`` event id, ``n`` name,
    ``t`` UTC time as RFC 3339 with Z, ``v`` value or null, ``p`` properties) whose customer
    exists, skipping event ids already stored; the event ids it stored."""
    return {event_id for (event_id,) in fetch_prepared(_insert_sql(connection.vendor, True),
                                                       _params(imported, received_at, rows))}


def insert_events_orm(rows: str, imported: bool, received_at: datetime) -> set[str]:
    decoded = json.loads(rows)
    known = set(Customer.objects.filter(pk__in={r["c"] for r in decoded}).values_list("pk", flat=True))
    events, seen = [], set()
    for r in decoded:
        if r["c"] in known and r["i"] not in seen:  # the first of identical ids in one batch is the stored one
            seen.add(r["i"])
            events.append(EngagementEvent(customer_id=r["c"], event_id=r["i"], name=r["n"], occurred_at=_utc(r["t"]),
                                          value=r.get("v"), properties=r.get("p") or {}, imported=imported,
                                          received_at=received_at))
    before = set(EngagementEvent.objects.filter(event_id__in=seen).values_list("event_id", flat=True))
    EngagementEvent.objects.bulk_create([e for e in events if e.event_id not in before], ignore_conflicts=True)
    return seen - before


def count_inserted(rows: str, imported: bool, received_at: datetime) -> int:
    """``insert_events`` without reading back the ids: how many rows it stored (the fast path of
    a batch, and bulk imports). Prepared once per connection."""
    return execute_prepared(_insert_sql(connection.vendor, False), _params(imported, received_at, rows))


def count_inserted_orm(rows: str, imported: bool, received_at: datetime) -> int:
    return len(insert_events_orm(rows, imported, received_at))


# Engine plumbing (no ORM twin): on SQLite, a bulk insert that at least doubles the table builds the
# index by customer and time once, after its rows, instead of writing each row into it at random.
CUSTOMER_TIME_INDEX = "engagement_customer_time_idx"
DEFER_FROM_ROWS = 50_000


@contextlib.contextmanager
def _customer_index_deferred(rows: int):
    """Inside the caller's transaction, on SQLite, when ``rows`` (at least ``DEFER_FROM_ROWS``)
    are at least as many as the table holds: the index by customer and time is dropped, the
    caller inserts, and the same index is created again (one sort, about a quarter of a
    million-row import). All in the transaction: a failure rolls the drop back with the rows;
    readers keep their snapshot (WAL). Otherwise (PostgreSQL: dropping an index locks the table
    for readers) nothing is done."""
    if connection.vendor != "sqlite" or rows < DEFER_FROM_ROWS or not connection.in_atomic_block:
        yield
        return
    table = sql_table(EngagementEvent)
    held = select_row(f"SELECT max({sql_columns(EngagementEvent)['id']}) FROM {table}")[0] or 0
    found = select_rows("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s AND tbl_name = %s",
                        [CUSTOMER_TIME_INDEX, EngagementEvent._meta.db_table])
    if held > rows or not found:
        yield
        return
    execute(f'DROP INDEX "{CUSTOMER_TIME_INDEX}"')
    yield  # an exception propagates: the caller's transaction is rolled back, the index with it
    execute(found[0][0])


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- onboarding: each customer's first event of some names --------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def first_times(names: list[str], customer_ids: list[int] | None = None) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(customer ids, event names, first times as int64 microseconds since the epoch) of every
    (customer, name) among ``names`` (and ``customer_ids``, when given) with an event.

    Read from ``FirstEvent`` (one row per customer and name, kept by a trigger as events are
    stored), not a GROUP BY over every event; its ORM twin groups the events, so the test that
    compares them also checks the trigger. The times are converted in bulk (SQLite: NumPy parses
    the stored UTC text; PostgreSQL: the epoch in the statement), not one datetime object per row
    as the ORM's converters would (two thirds of the time for 100,000 rows)."""
    c, table = sql_columns(FirstEvent), sql_table(FirstEvent)
    names_in = ", ".join(["%s"] * len(names))
    params: list = list(names)
    extra = ""
    if customer_ids is not None:
        if connection.vendor == "postgresql":
            extra = f" AND {c['customer']} = ANY(%s::bigint[])"
            params.append(list(customer_ids))
        else:
            extra = f" AND {c['customer']} IN (SELECT value FROM json_each(%s))"
            params.append(json.dumps(list(customer_ids)))
    first = (f"(EXTRACT(EPOCH FROM {c['first_at']}) * 1000000)::bigint" if connection.vendor == "postgresql"
             else c["first_at"])
    rows = select_rows(f"SELECT {c['customer']}, {c['name']}, {first} FROM {table} WHERE {c['name']} IN ({names_in}){extra}",
                       params)
    if not rows:
        return np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64)
    ids, found, times = zip(*rows)
    micros = (np.array(times, dtype=np.int64) if connection.vendor == "postgresql"
              else np.array(times, dtype="datetime64[us]").astype(np.int64))
    return np.array(ids, dtype=np.int64), list(found), micros


def first_times_orm(names: list[str], customer_ids: list[int] | None = None) -> tuple[np.ndarray, list[str], np.ndarray]:
    events = EngagementEvent.objects.filter(name__in=names)
    if customer_ids is not None:
        events = events.filter(customer_id__in=customer_ids)
    rows = list(events.order_by().values("customer_id", "name").annotate(first=Min("occurred_at"))
                .values_list("customer_id", "name", "first"))
    return (np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows],
            np.array([(r[2] - _EPOCH) // _MICROSECOND for r in rows], dtype=np.int64))

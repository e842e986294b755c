"""The usage app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``).

Storing a batch of usage events is the hottest path of Assina (tens of thousands of events a
second): a batch is one read of its metrics and one INSERT whose rows the database unpacks from
one JSON text (``assina.usage.ingest`` says why). These statements are that path; their text
depends only on the engine, so each is built once per engine. ``tests/integration/test_queries.py``
runs each statement and its twin on the same rows, on SQLite and PostgreSQL, and compares them.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime

import msgspec
from django.db import connection
from django.db.models import BooleanField, Case, Count, ExpressionWrapper, IntegerField, Max, Min, Q, Sum, TextField, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from assina.catalog.models import Metric
from assina.customers.models import Customer
from assina.db import (_sqlite_datetime, execute, execute_prepared, select_row, select_rows, sql_columns, sql_table,
                       sql_values)

from .models import UsageEvent

_encode = msgspec.json.Encoder().encode

# The columns a batch writes, in the order of the INSERTs' SELECT lists.
_BATCH_FIELDS = ("customer", "metric_code", "event_id", "value", "timestamp", "properties", "received_at", "late")


# --- customers and metrics a batch names ---------------------------------------------------------

@functools.cache
def _known_customers_sql(vendor: str) -> str:
    c = sql_columns(Customer)
    if vendor == "postgresql":
        return f"SELECT {c['id']} FROM {sql_table(Customer)} WHERE {c['id']} = ANY(%s::bigint[])"
    # One JSON parameter rather than 1,000 placeholders.
    return f"SELECT {c['id']} FROM {sql_table(Customer)} WHERE {c['id']} IN (SELECT value FROM json_each(%s))"


def known_customers(pks: set[int]) -> set[int]:
    """Which of these customer ids exist."""
    if not pks:
        return set()
    param = list(pks) if connection.vendor == "postgresql" else _encode(list(pks)).decode()
    return {row[0] for row in select_rows(_known_customers_sql(connection.vendor), [param])}


def known_customers_orm(pks: set[int]) -> set[int]:
    return set(Customer.objects.filter(pk__in=pks).values_list("pk", flat=True))


def metrics(codes: set[str]) -> dict[str, tuple[str, str]]:
    """(aggregation, counted property) of each existing metric among ``codes``."""
    c = sql_columns(Metric)
    placeholders = ", ".join(["%s"] * len(codes))
    rows = select_rows(f"SELECT {c['code']}, {c['aggregation']}, {c['unique_property']} FROM {sql_table(Metric)} "
                       f"WHERE {c['code']} IN ({placeholders})", sorted(codes))
    return {code: (aggregation, prop) for code, aggregation, prop in rows}


def metrics_orm(codes: set[str]) -> dict[str, tuple[str, str]]:
    return {code: (aggregation, prop) for code, aggregation, prop
            in Metric.objects.filter(code__in=codes).values_list("code", "aggregation", "unique_property")}


# --- storing a batch ------------------------------------------------------------------------------

@functools.cache
def _insert_exact_sql(vendor: str) -> str:
    c = sql_columns(UsageEvent)
    columns = ", ".join(c[name] for name in _BATCH_FIELDS)
    conflict = f"ON CONFLICT ({c['customer']}, {c['event_id']}) DO NOTHING RETURNING {c['customer']}, {c['event_id']}"
    if vendor == "postgresql":
        return (f"INSERT INTO {sql_table(UsageEvent)} ({columns}) "
                "SELECT (r->>0)::bigint, r->>1, r->>2, (r->>3)::bigint, (r->>4)::timestamptz, (r->5)::jsonb, %s, false "
                f"FROM json_array_elements(%s::json) AS r {conflict}")
    # What Django stores for an aware datetime is naive UTC text ("2027-01-31 10:00:00[.123456]"):
    # the RFC 3339 text without its T and Z. "WHERE true" tells SQLite's parser the ON CONFLICT
    # belongs to the INSERT.
    return (f"INSERT INTO {sql_table(UsageEvent)} ({columns}, {c['pending']}) "
            "SELECT value->>0, value->>1, value->>2, value->>3, replace(rtrim(value->>4, 'Z'), 'T', ' '), "
            f"value->'$[5]', %s, 0, 1 FROM json_each(%s) WHERE true {conflict}")


def insert_exact(rows: str, received_at: datetime) -> set[tuple[int, str]]:
    """INSERT the rows (a JSON array of [customer id, metric, event id, value, UTC timestamp as
    RFC 3339 with Z, properties]), skipping (customer, event id) pairs already stored; the pairs
    it stored. Pending on SQLite (``assina.usage.settle``)."""
    at = received_at if connection.vendor == "postgresql" else _sqlite_datetime(received_at)
    return {(pk, event_id) for pk, event_id in select_rows(_insert_exact_sql(connection.vendor), [at, rows])}


def insert_exact_orm(rows: str, received_at: datetime) -> set[tuple[int, str]]:
    events = [UsageEvent(customer_id=pk, metric_code=metric, event_id=event_id, value=value, timestamp=_utc(at),
                         properties=properties, received_at=received_at, late=False, pending=_pending())
              for pk, metric, event_id, value, at, properties in json.loads(rows)]
    return _insert_orm(events)


@functools.cache
def _insert_fast_sql(vendor: str) -> str:
    c = sql_columns(UsageEvent)
    customer_id = sql_columns(Customer)["id"]
    columns = ", ".join(c[name] for name in _BATCH_FIELDS)
    conflict = f"ON CONFLICT ({c['customer']}, {c['event_id']}) DO NOTHING"
    if vendor == "postgresql":
        return (f"INSERT INTO {sql_table(UsageEvent)} ({columns}) "
                f"SELECT c.{customer_id}, r.metric, r.id, r.value, r.\"timestamp\", r.properties, %s, false "
                "FROM json_to_recordset(%s::json) AS r(customer text, metric text, id text, value bigint, "
                "\"timestamp\" timestamptz, properties jsonb) "
                f"JOIN {sql_table(Customer)} AS c ON c.{customer_id} = ltrim(r.customer, 'cus_')::bigint {conflict}")
    return (f"INSERT INTO {sql_table(UsageEvent)} ({columns}, {c['pending']}) "
            f"SELECT c.{customer_id}, j.value->>'metric', j.value->>'id', j.value->>'value', "
            "replace(rtrim(j.value->>'timestamp', 'Z'), 'T', ' '), j.value->'properties', %s, 0, 1 "
            f"FROM json_each(%s) AS j JOIN {sql_table(Customer)} AS c "
            f"ON c.{customer_id} = CAST(ltrim(j.value->>'customer', 'cus_') AS INTEGER) WHERE true {conflict}")


def insert_fast(events: str, received_at: datetime) -> int:
    """INSERT the events (a JSON array of the decoded events, as msgspec encodes them: objects with
    their ``customer`` as sent, ``cus_12`` or ``12``, and UTC timestamps with Z) whose customer
    exists, skipping (customer, event id) pairs already stored; how many it stored.

    The customer id is the reference without its prefix: the caller checked that what is left is
    digits, so trimming the characters c, u, s and _ from the left removes exactly the prefix.
    The join reads each customer by primary key (what the foreign key check does anyway); an
    event whose customer does not exist is not stored, which the caller sees in the count.
    Prepared once per connection: a batch's JSON travels as a parameter, not inlined text.
    """
    at = received_at if connection.vendor == "postgresql" else _sqlite_datetime(received_at)
    return execute_prepared(_insert_fast_sql(connection.vendor), [at, events])


def insert_fast_orm(events: str, received_at: datetime) -> int:
    decoded = json.loads(events)
    known = known_customers_orm({int(e["customer"].lstrip("cus_")) for e in decoded})
    rows = [UsageEvent(customer_id=int(e["customer"].lstrip("cus_")), metric_code=e["metric"], event_id=e["id"],
                       value=e["value"], timestamp=_utc(e["timestamp"]), properties=e["properties"],
                       received_at=received_at, late=False, pending=_pending())
            for e in decoded if int(e["customer"].lstrip("cus_")) in known]
    return len(_insert_orm(rows))


def _insert_orm(events: list[UsageEvent]) -> set[tuple[int, str]]:
    """The ORM's INSERT that skips stored (customer, event id) pairs; the pairs it stored."""
    keys = {(e.customer_id, e.event_id) for e in events}
    before = _stored(keys)
    UsageEvent.objects.bulk_create(events, ignore_conflicts=True)
    return _stored(keys) - before


def _stored(keys: set[tuple[int, str]]) -> set[tuple[int, str]]:
    ids = {event_id for _pk, event_id in keys}
    return set(UsageEvent.objects.filter(event_id__in=ids).values_list("customer_id", "event_id")) & keys


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pending() -> bool:
    return connection.vendor == "sqlite"


# --- settling pending events (SQLite) ---------------------------------------------------------------

@functools.cache
def _settle_sql(vendor: str) -> str:
    pending = sql_columns(UsageEvent)["pending"]
    # "WHERE pending" is the pending index's own condition: SQLite and PostgreSQL read only it.
    return f"UPDATE {sql_table(UsageEvent)} SET {pending} = %s WHERE {pending}"


def settle_pending() -> int:
    """Mark every pending event settled; how many."""
    return execute(_settle_sql(connection.vendor), [False])


def settle_pending_orm() -> int:
    return UsageEvent.objects.filter(pending=True).update(pending=False)


@functools.cache
def _pending_span_sql(vendor: str) -> str:
    c = sql_columns(UsageEvent)
    table = sql_table(UsageEvent)
    return f"SELECT (SELECT MAX({c['id']}) FROM {table}) - (SELECT MIN({c['id']}) FROM {table} WHERE {c['pending']}) + 1"


def pending_span() -> int | None:
    """The ids from the oldest pending event to the newest event (None: none is pending), two
    lookups at the ends of two indexes. Ids never come back, so this is at least the number of
    pending events."""
    return select_row(_pending_span_sql(connection.vendor))[0]


def pending_span_orm() -> int | None:
    newest = UsageEvent.objects.aggregate(m=Max("id"))["m"]
    oldest_pending = UsageEvent.objects.filter(pending=True).aggregate(m=Min("id"))["m"]
    return None if newest is None or oldest_pending is None else newest - oldest_pending + 1


# --- billing the events of closing periods (``assina.usage.billing``) --------------------------------

def mark_billed(rows: list[tuple[int, str, int, datetime, datetime]]) -> int:
    """Mark every unbilled settled event of each (customer id, metric code, subscription id,
    period start, period end) before the period's end with the subscription and period start
    that bill it; those before the period start are late. One UPDATE; how many it marked. Each
    (customer, metric) appears once in ``rows`` (a second one would race the first)."""
    c, table = sql_columns(UsageEvent), sql_table(UsageEvent)
    source, params = sql_values(rows, ["bigint", "varchar", "bigint", "timestamptz", "timestamptz"],
                                ["customer", "metric", "sub", "pstart", "pend"])
    return execute(
        f"UPDATE {table} SET {c['billed_subscription_id']} = v.sub, {c['billed_period_start']} = v.pstart, "
        f"{c['late']} = ({table}.{c['timestamp']} < v.pstart) FROM {source} "
        f"WHERE {table}.{c['customer']} = v.customer AND {table}.{c['metric_code']} = v.metric "
        f"AND {table}.{c['timestamp']} < v.pend AND {table}.{c['billed_subscription_id']} IS NULL "
        f"AND NOT {table}.{c['pending']}", params)  # the window index's condition: the planner may use it


def mark_billed_orm(rows: list[tuple[int, str, int, datetime, datetime]]) -> int:
    return sum(UsageEvent.objects.filter(customer_id=customer, metric_code=metric, timestamp__lt=end,
                                         billed_subscription_id=None, pending=False)
               .update(billed_subscription_id=sub, billed_period_start=start,
                       late=ExpressionWrapper(Q(timestamp__lt=start), output_field=BooleanField()))
               for customer, metric, sub, start, end in rows)


def _property(vendor: str) -> str:
    if vendor == "postgresql":
        return "(e.properties ->> %s)"
    return "json_extract(e.properties, '$.' || %s)"


def billed_totals(periods: list[tuple[int, datetime]], distinct: list[tuple[str, str]]) -> list[tuple]:
    """For the events marked (not late) for each (subscription id, period start): per
    subscription and metric, (subscription id, metric code, count, sum, max, then for each
    (metric code, property) of ``distinct`` the number of distinct values of that property
    among that metric's events). Values of a property are compared as text: 42 and "42" are
    the same user."""
    c, table = sql_columns(UsageEvent), sql_table(UsageEvent)
    source, params = sql_values(periods, ["bigint", "timestamptz"], ["sub", "pstart"])
    extra, extra_params = "", []
    for code, prop in distinct:
        extra += (f", COUNT(DISTINCT CASE WHEN e.{c['metric_code']} = %s "
                  f"THEN CAST({_property(connection.vendor)} AS TEXT) END)")
        extra_params += [code, prop]
    sub, metric = f"e.{c['billed_subscription_id']}", f"e.{c['metric_code']}"
    return select_rows(
        f"SELECT {sub}, {metric}, COUNT(*), COALESCE(SUM(e.{c['value']}), 0), COALESCE(MAX(e.{c['value']}), 0)"
        f"{extra} FROM {table} e JOIN {source} ON {sub} = v.sub AND e.{c['billed_period_start']} = v.pstart "
        f"WHERE e.{c['late']} = %s GROUP BY {sub}, {metric}", extra_params + params + [False])


def billed_totals_orm(periods: list[tuple[int, datetime]], distinct: list[tuple[str, str]]) -> list[tuple]:
    marked = Q()
    for sub, start in periods:
        marked |= Q(billed_subscription_id=sub, billed_period_start=start)
    # A JSON null is no value (the statement's JSON operators give NULL; Django's SQLite text
    # transform would give 'null').
    uniques = {f"unique_{i}": Count(Case(When(Q(metric_code=code) & ~Q(**{f"properties__{prop}": None}),
                                              then=Cast(KeyTextTransform(prop, "properties"), TextField()))),
                                    distinct=True)
               for i, (code, prop) in enumerate(distinct)}
    return list(UsageEvent.objects.filter(marked, late=False).order_by().values("billed_subscription_id", "metric_code")
                .annotate(count=Count("*"), total=Coalesce(Sum("value"), Value(0), output_field=IntegerField()),
                          maximum=Coalesce(Max("value"), Value(0), output_field=IntegerField()), **uniques)
                .values_list("billed_subscription_id", "metric_code", "count", "total", "maximum", *uniques))

"""How Assina runs SQL written by hand, and the bulk reads and writes of the billing run.

SQL is written by hand only where it is measurably faster than the ORM: building an ORM query
costs more than running a small indexed lookup, and bulk writes go through ``executemany`` or
COPY. There is one way of writing it:

- **Where.** Every statement lives in its app's ``queries.py``, as a module-level constant or a
  builder function (built once per engine with ``functools.cache`` when its text depends only on
  the engine), inside a small function that runs it and returns plain values. Beside it is its
  ORM twin, ``<name>_orm``, which asks the same question through the ORM (or makes the same
  write). ``tests/integration/test_queries.py`` runs both on the same rows, on SQLite and
  PostgreSQL, and asserts equal answers; for a write it compares the rows each one leaves,
  read back through the ORM. Callers import the function from ``queries``; no other module
  writes a statement.
- **Names.** Tables and columns come from ``sql_table(Model)`` and ``sql_columns(Model)[field]``,
  so a renamed model or field fails loudly instead of querying a column that is gone. The one
  literal statement, ``assina.time.FROZEN_AT_SQL`` (the time leaf imports no app, so it cannot
  ask a model), has its names checked against the model by that test.
- **Values.** ``%s`` placeholders on every engine; datetimes written with ``sql_time`` and read
  with ``aware_datetime``; a list of ids or keys as one parameter with ``sql_in_list``, rows of
  values as one row source with ``sql_values``. Text that differs between the engines
  (``json_each`` or ``unnest``, ``::jsonb``) is chosen in the builder by ``connection.vendor``.
- **Running.** Only through this module: ``select_row`` and ``select_rows`` (reads, and writes
  with ``RETURNING``), ``execute`` (writes: the number of rows changed), ``fetch_prepared`` and
  ``execute_prepared`` (statements run on every API request or usage batch: prepared once per
  connection on PostgreSQL), and the bulk helpers below (``insert_rows``, ``update_rows``,
  ``fetch_values``, ``reserve_ids``). On SQLite they skip Django's cursor when nobody records
  queries (``_sqlite_direct``). No other module opens a cursor; ``test_queries`` checks both
  rules.

The only SQL outside ``queries.py`` modules is engine plumbing that has no ORM equivalent to
compare with: this module's bulk statements and ``reserve_ids``, SQLite's log checkpoint
(``sqlite_wal_checkpoint``, PRAGMAs), and the PRAGMAs set on every new SQLite connection by
``init_command`` in ``assina.settings`` (journal mode, foreign keys, cache: connection options,
not queries).

Bulk writes: Django's ``bulk_create`` and ``bulk_update`` cost tens of microseconds per row in
Python (value preparation per field, a CASE expression per row for updates), and its result
converters cost more than the query itself. A renewal run writes several rows per subscription,
so these helpers prepare each column once and use each engine's fast path: one prepared
statement through ``executemany`` on SQLite; ``COPY`` for inserts and ``UPDATE … FROM
unnest(arrays)`` for updates on PostgreSQL.
"""

from __future__ import annotations

import functools
import json
import re
from json.encoder import c_make_encoder, encode_basestring_ascii
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.functions import Cast


def _sqlite_datetime(value):
    """What Django's SQLite backend stores for an aware datetime (naive UTC text), ~3x faster."""
    if value is None:
        return None
    if value.tzinfo is not timezone.utc:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored: times are always aware")
        value = value.astimezone(timezone.utc)
    return value.isoformat(" ")[:26 if value.microsecond else 19]


def _distinct_mapped(convert: Callable[[Any], Any]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """A column adapter that converts each distinct value once.

    A billing run writes the same few instants (the renewal moment, the new period's bounds)
    on thousands of rows: hashing is C-level and cheap, formatting is not.
    """
    def adapt(column: Sequence[Any]) -> Sequence[Any]:
        if len(column) == 1:  # one row (a checkout's): nothing to share
            return [convert(column[0])]
        table = {v: convert(v) for v in set(column)}
        return list(map(table.__getitem__, column))
    return adapt


def _not_serializable(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


# ``json.dumps(value)`` builds a new C encoder on every call, which costs more than encoding a
# small event payload; this one is built once, with the same settings as ``json.dumps``'s
# defaults (so the text is identical). No circular-reference markers: a cycle ends in
# RecursionError instead of ValueError.
_encode = c_make_encoder(None, _not_serializable, encode_basestring_ascii, None, ": ", ", ", False, False, True) \
    if c_make_encoder is not None else None


def dumps_json(value: Any) -> str:
    """``json.dumps(value)``, faster for many small values."""
    return "".join(_encode(value, 0)) if _encode is not None else json.dumps(value)


def _json_column(field: models.Field) -> Callable[[Sequence[Any]], Sequence[Any]]:
    if connection.vendor == "sqlite":
        # What Django's SQLite backend stores (``json.dumps(value, cls=encoder)``), without the
        # three layers of field preparation per value.
        dumps = dumps_json if field.encoder is None else field.encoder().encode
        return lambda column: [None if v is None else dumps(v) for v in column]
    return lambda column: [field.get_db_prep_save(v, connection) for v in column]


def _text_column(field: models.Field) -> Callable[[Sequence[Any]], Sequence[Any]]:
    blank = None if field.null else ""

    def plain(v):
        # Enum members (TextChoices, StrEnum) are sent as their plain value.
        return blank if v is None else (v.value if hasattr(v, "value") else v)

    mapped = _distinct_mapped(plain)

    def adapt(column: Sequence[Any]) -> Sequence[Any]:
        if set(map(type, column)) <= {str}:
            return column  # the common case: already plain strings
        return mapped(column)
    return adapt


def _adapter(field: models.Field) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """How to turn a column of Python values of ``field`` into database parameters (None: as they are)."""
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "sqlite":
            return _distinct_mapped(_sqlite_datetime)
        return _distinct_mapped(lambda v: None if v is None else connection.ops.adapt_datetimefield_value(v))
    if isinstance(field, models.JSONField):
        return _json_column(field)
    if isinstance(field, (models.DecimalField, models.DateField, models.UUIDField)):
        return lambda column: [field.get_db_prep_save(v, connection) for v in column]
    if isinstance(field, (models.CharField, models.TextField)):
        return _text_column(field)
    return None


class _Columns:
    """The fields written by a statement of one model, how each column's values are adapted,
    and the INSERT that writes them (its text built once)."""

    __slots__ = ("model", "fields", "adapters", "any_adapter", "_insert")

    def __init__(self, model: type[models.Model], fields: list[models.Field]) -> None:
        self.model = model
        self.fields = fields
        self.adapters = [_adapter(f) for f in fields]
        self.any_adapter = any(self.adapters)
        self._insert: str | None = None

    def insert_sql(self) -> str:
        """``INSERT INTO table (columns) VALUES (%s, ...)``."""
        if self._insert is None:
            quote = connection.ops.quote_name
            self._insert = (f"INSERT INTO {quote(self.model._meta.db_table)} "
                            f"({', '.join(quote(f.column) for f in self.fields)}) "
                            f"VALUES ({', '.join(['%s'] * len(self.fields))})")
        return self._insert


_COLUMN_SETS: dict[tuple[type[models.Model], tuple[str, ...] | None, str], _Columns] = {}


def _columns(model: type[models.Model], fields: Sequence[str] | None) -> _Columns:
    """Built once per model, field names and engine: a checkout writes its rows under the write
    lock, and looking fields up (and hashing them) costs more than writing a small row."""
    key = (model, None if fields is None else tuple(fields), connection.vendor)
    found = _COLUMN_SETS.get(key)
    if found is None:
        meta = model._meta
        chosen = ([f for f in meta.concrete_fields if not f.primary_key] if fields is None
                  else [meta.get_field(name) for name in fields])
        found = _COLUMN_SETS[key] = _Columns(model, chosen)
    return found


def _prepare(columns: _Columns, rows: Iterable[Sequence[Any]], trailing: int) -> list[Sequence[Any]]:
    """Rows of database parameters, adapted column by column (each column's adapter runs once
    over the whole column instead of once per value)."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return []
    width = len(columns.fields) + trailing
    if set(map(len, rows)) != {width}:
        raise ValueError(f"every row must have {width} values")
    if not columns.any_adapter:
        return rows
    adapters = columns.adapters
    data = list(zip(*rows))
    for i, adapt in enumerate(adapters):
        if adapt is not None:
            data[i] = adapt(data[i])
    return list(zip(*data))


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], batch_size: int = 5000) -> int:
    """INSERT plain tuples of Python values (in ``fields`` order) without building model instances."""
    columns = _columns(model, fields)
    prepared = _prepare(columns, rows, trailing=0)
    if not prepared:
        return 0
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        names = ", ".join(quote(f.column) for f in columns.fields)
        with connection.cursor() as cursor:
            # The raw psycopg cursor: wrap its errors so callers see Django's IntegrityError etc.
            with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in prepared:
                    copy.write_row(row)
        return len(prepared)
    sql = columns.insert_sql()
    for offset in range(0, len(prepared), batch_size):
        _run_many(sql, prepared[offset:offset + batch_size])
    return len(prepared)


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], batch_size: int = 5000) -> int:
    """UPDATE by primary key from plain tuples: the values of ``fields`` then the pk."""
    columns = _columns(model, fields)
    prepared = _prepare(columns, rows, trailing=1)
    if not prepared:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = model._meta.pk
    if connection.vendor == "postgresql":
        # One statement per batch: each column travels as one typed array.
        names = [f"c{i}" for i in range(len(columns.fields))]
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns.fields)
        sql = (
            f"UPDATE {table} SET {', '.join(f'{quote(f.column)} = v.{n}' for f, n in zip(columns.fields, names))} "
            f"FROM unnest({arrays}, %s::{pk.db_type(connection).replace('serial', 'int')}[]) "
            f"AS v({', '.join(names)}, pk) WHERE {table}.{quote(pk.column)} = v.pk"
        )
        with connection.cursor() as cursor:
            for offset in range(0, len(prepared), batch_size):
                chunk = prepared[offset:offset + batch_size]
                cursor.execute(sql, [list(column) for column in zip(*chunk)])
        return len(prepared)
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        table, ", ".join(f"{quote(f.column)} = %s" for f in columns.fields), quote(pk.column)
    )
    for offset in range(0, len(prepared), batch_size):
        _run_many(sql, prepared[offset:offset + batch_size])
    return len(prepared)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """Take ``count`` primary keys of ``model`` (ascending) from its own id sequence, so rows can
    be inserted with their ids already known instead of being read back.

    PostgreSQL: ``nextval`` of the identity sequence (never handed out twice, even to
    concurrent transactions). SQLite: the AUTOINCREMENT counter in ``sqlite_sequence`` is moved
    past the block in one UPDATE, which also takes the database's write lock, so no other
    connection can hand out these ids: SQLite's own next id is max(counter, largest id) + 1.
    A rollback returns nothing (like a sequence), but the ids are never reused.
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        rows = select_rows("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [quote(table), column, count])
        return sorted(row[0] for row in rows)
    execute("INSERT INTO sqlite_sequence (name, seq) SELECT %s, 0 "
            "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = %s)", [table, table])
    (last,) = select_row(f"UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT max({quote(column)}) "
                         f"FROM {quote(table)}), 0)) + %s WHERE name = %s RETURNING seq", [count, table])
    return list(range(last - count + 1, last + 1))


def insert_one(obj: models.Model) -> models.Model:
    """INSERT a new instance (every concrete column) and set its id, as ``obj.save()`` does
    for a new row, without building the ORM's statement (a checkout inserts its session, its
    customer and its subscription this way, the last two under the write lock). Only for
    models without ``auto_now`` fields and with an auto id; no signals are sent (Assina
    connects none)."""
    model = type(obj)
    insert = _INSERTS.get((model, connection.vendor))
    if insert is None:
        meta = model._meta
        if not isinstance(meta.pk, models.AutoField) or any(
                getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in meta.concrete_fields):
            raise TypeError(f"{model.__name__}: insert_one needs an auto id and no auto_now fields")
        columns = _columns(model, None)
        sql = f"{columns.insert_sql()} RETURNING {connection.ops.quote_name(meta.pk.column)}"
        insert = _INSERTS[(model, connection.vendor)] = (columns, [f.attname for f in columns.fields], sql)
    columns, names, sql = insert
    (values,) = _prepare(columns, [[getattr(obj, name) for name in names]], trailing=0)
    (obj.pk,) = select_row(sql, values)
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


_INSERTS: dict[tuple[type[models.Model], str], tuple[_Columns, list[str], str]] = {}


def insert_many(objs: Iterable[models.Model], fields: Sequence[str] | None = None) -> int:
    """INSERT many instances of one model (without reading back their ids)."""
    objs = list(objs)
    if not objs:
        return 0
    columns = _columns(type(objs[0]), fields).fields
    names = [f.attname for f in columns]
    return insert_rows(type(objs[0]), [f.name for f in columns], ([getattr(o, n) for n in names] for o in objs))


def update_many(objs: Iterable[models.Model], fields: Sequence[str]) -> int:
    """UPDATE ``fields`` of many instances by primary key."""
    objs = list(objs)
    if not objs:
        return 0
    names = [f.attname for f in _columns(type(objs[0]), fields).fields]
    return update_rows(type(objs[0]), fields, ([getattr(o, n) for n in names] + [o.pk] for o in objs))


def fetch_values(queryset: models.QuerySet, fields: Sequence[str]) -> list[tuple]:
    """``queryset.values_list(*fields)`` as plain tuples, without Django's per-value converters.

    psycopg already returns aware datetimes; on SQLite the datetime columns are read as text (a
    CAST has no declared type, so no regex converter runs) and parsed with
    ``datetime.fromisoformat``.
    """
    meta = queryset.model._meta
    datetimes = []
    names = list(fields)
    if connection.vendor == "sqlite":
        casts = {}
        for i, name in enumerate(fields):
            field = meta.pk if name in ("pk", "id") else meta.get_field(name)
            if isinstance(field, models.DateTimeField):
                alias = f"_assina_text_{i}"
                casts[alias] = Cast(name, output_field=models.TextField())
                names[i] = alias
                datetimes.append(i)
        if casts:
            queryset = queryset.annotate(**casts)
    sql, params = queryset.values_list(*names).query.sql_with_params()
    rows = select_rows(sql, params)
    if not datetimes or not rows:
        return rows
    # Column by column, each distinct text parsed once (a batch shares a few instants).
    columns = list(zip(*rows))
    for i in datetimes:
        columns[i] = _distinct_mapped(_parse_sqlite_datetime)(columns[i])
    return list(zip(*columns))


def _parse_sqlite_datetime(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def aware_datetime(value: datetime | str | None) -> datetime | None:
    """A timestamp read by plain SQL as an aware UTC datetime: SQLite gives its stored UTC
    text, PostgreSQL an aware datetime already."""
    if value is None or isinstance(value, str):
        return _parse_sqlite_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


class Many:
    """Values for ``__in_list`` that Django passes through untouched.

    A plain list is walked element by element while the filter is built (each value is
    "resolved" and, on foreign keys, checked for being a model instance): microseconds per id,
    per query. Wrapped, the list reaches the lookup as one value.
    """

    __slots__ = ("values",)

    def __init__(self, values: Iterable[int | str]) -> None:
        self.values = list(values)


@models.Field.register_lookup
class InList(models.Lookup):
    """``field__in_list=[...]``: membership in a long list of ids or keys sent as ONE parameter.

    Django's ``__in`` prepares every element and writes one placeholder per element, a few
    microseconds each; the billing run filters by thousands of ids per batch. PostgreSQL gets
    ``= ANY(array)``; SQLite gets the list as JSON through ``json_each``. Values must be ints
    or strings (ids, codes, idempotency keys); pass long lists wrapped in ``Many``.
    """

    lookup_name = "in_list"
    prepare_rhs = False

    def get_prep_lookup(self):
        values = self.rhs.values if isinstance(self.rhs, Many) else list(self.rhs)
        if not set(map(type, values)) <= {int, str}:
            raise TypeError("in_list takes ints or strings only")
        return values

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        sql, params = sql_in_list(lhs, self.rhs, connection.vendor)
        return sql, [*lhs_params, *params]


# Foreign keys keep their own lookup table; ids of related rows are the common case.
models.ForeignObject.register_lookup(InList)


# --- writing and running the apps' fixed statements (the rules are in the module docstring) ----

def sql_table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def sql_columns(model: type[models.Model]) -> dict[str, str]:
    """Each concrete field's quoted column, by field name (built once per model and engine:
    the fixed statements ask for it thousands of times)."""
    key = (model, connection.vendor)
    columns = _COLUMNS.get(key)
    if columns is None:
        columns = _COLUMNS[key] = {field.name: connection.ops.quote_name(field.column)
                                   for field in model._meta.concrete_fields}
    return columns


_COLUMNS: dict[tuple[type[models.Model], str], dict[str, str]] = {}


def sql_time(value: datetime) -> Any:
    """A datetime as the database stores it (SQLite: UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def select_row(sql: str, params: Sequence[Any] = ()) -> tuple:
    return _run(sql, params, _first_row)


def select_rows(sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    return _run(sql, params, _all_rows)


def _first_row(cursor) -> tuple:
    return cursor.fetchone()


def _all_rows(cursor) -> list[tuple]:
    return cursor.fetchall()


def _rows_changed(cursor) -> int:
    return cursor.rowcount


def _run(sql: str, params: Sequence[Any], answer: Callable[[Any], Any]) -> Any:
    """Run one statement and give ``answer`` of its cursor (see ``_sqlite_direct``)."""
    db = connections[DEFAULT_DB_ALIAS]
    direct = _sqlite_direct(db, sql)
    if direct is not None:
        with db.wrap_database_errors:
            return answer(direct.execute(_qmark(sql), params))
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return answer(cursor)


def sql_values(rows: list[tuple], types: Sequence[str], names: Sequence[str]) -> tuple[str, list]:
    """Rows of plain values as a row source ``v`` with columns ``names``, sent as one parameter
    per engine: ``unnest`` of typed arrays (PostgreSQL ``types``) on PostgreSQL, ``json_each``
    of one JSON array on SQLite (datetimes as the UTC text SQLite stores)."""
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        return f"unnest({arrays}) AS v({', '.join(names)})", [list(column) for column in zip(*rows)]
    encoded = [[_sqlite_datetime(v) if isinstance(v, datetime) else v for v in row] for row in rows]
    columns = ", ".join(f"value->>{i} AS {name}" for i, name in enumerate(names))
    return f"(SELECT {columns} FROM json_each(%s)) AS v", [json.dumps(encoded)]


def execute(sql: str, params: Sequence[Any] = ()) -> int:
    """Run one statement that changes rows; how many it changed."""
    return _run(sql, params, _rows_changed)


def _run_many(sql: str, rows: list[Sequence[Any]]) -> None:
    """One statement over many rows of parameters (SQLite's ``executemany``)."""
    db = connections[DEFAULT_DB_ALIAS]
    direct = _sqlite_direct(db, sql)
    if direct is not None:
        with db.wrap_database_errors:
            direct.executemany(_qmark(sql), rows)
        return
    with db.cursor() as cursor:
        cursor.executemany(sql, rows)


# On SQLite, this module's statements go to sqlite3's own cursor on Django's connection when
# nobody is recording queries (DEBUG, CaptureQueriesContext, execute wrappers): Django's cursor
# costs about 10 µs of Python per statement (connection lookups, a regex rewriting placeholders,
# error wrappers), and a checkout runs about 45 statements under SQLite's write lock, where every
# microsecond holds up every other writer. Errors still become Django's database errors. A write
# outside a transaction keeps Django's cursor: the SQLite backend queues it for the write lock
# (``assina.sqlite_backend``); inside a transaction the lock is held already.
_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)


def _sqlite_direct(db, sql: str):
    """sqlite3's connection when ``sql`` may skip Django's cursor (see above), else None."""
    raw = db.connection
    if raw is None or db.vendor != "sqlite" or db.execute_wrappers or db.queries_logged:
        return None
    if not raw.in_transaction and not _READ.match(sql):
        return None
    if db.needs_rollback:
        db.validate_no_broken_transaction()
    return raw


# Django's rewriting of ``%s`` placeholders for sqlite3 (``%%`` is a literal ``%``), once per statement.
_FORMAT = re.compile(r"(?<!%)%s")


@functools.lru_cache(maxsize=4096)
def _qmark(sql: str) -> str:
    return _FORMAT.sub("?", sql).replace("%%", "%")


# Statements that run on every API request or usage batch. On PostgreSQL, Django sends every
# statement as text with its parameters inlined, so the server parses and plans it each time
# (for the API's subscription read, 0.4 ms of planning against 0.1 ms of execution; for a usage
# batch, psycopg also escaped 150 kB of JSON in Python's time). These statements never change,
# so they run as prepared statements on psycopg's own cursor (psycopg keeps one per connection
# and statement; gunicorn's workers keep their connections, so each is planned once). Django
# turns psycopg's prepared statements off for the whole connection (for poolers); they are
# turned on just for these, and psycopg forgets them all (DEALLOCATE ALL) on a rollback, as it
# must. A pooler in transaction mode (PgBouncer < 1.21) does not keep prepared statements: set
# ``ASSINA_API_PREPARED_STATEMENTS=0`` there. On SQLite they run like every statement of this
# module (``select_rows``, ``execute``: sqlite3's own cursor unless queries are being recorded).
# Errors become Django's database errors and mark the connection either way, as Django's own
# cursor does.

def fetch_prepared(sql: str, params: Sequence[Any]) -> list[tuple]:
    """The rows of a fixed statement written with ``%s`` placeholders, prepared once per connection."""
    if connection.vendor == "postgresql" and _prepared_statements():
        import psycopg

        connection.ensure_connection()
        connection.validate_no_broken_transaction()
        pg = connection.connection
        threshold = pg.prepare_threshold
        pg.prepare_threshold = 0
        try:
            with connection.wrap_database_errors, psycopg.Cursor(pg) as cursor:
                cursor.execute(sql, params, prepare=True)
                return cursor.fetchall()
        finally:
            pg.prepare_threshold = threshold
    return select_rows(sql, params)


def execute_prepared(sql: str, params: Sequence[Any]) -> int:
    """Run a fixed statement written with ``%s`` placeholders, prepared once per connection; how
    many rows it changed. On PostgreSQL the parameters travel apart from the text even when
    prepared statements are off (a usage batch's JSON is not escaped into the statement)."""
    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        connection.validate_no_broken_transaction()
        pg = connection.connection
        prepare = _prepared_statements()
        threshold = pg.prepare_threshold
        pg.prepare_threshold = 0 if prepare else None
        try:
            with connection.wrap_database_errors, psycopg.Cursor(pg) as cursor:
                cursor.execute(sql, params, prepare=prepare or None)
                return cursor.rowcount
        finally:
            pg.prepare_threshold = threshold
    return execute(sql, params)


def _prepared_statements() -> bool:
    from django.conf import settings

    return getattr(settings, "ASSINA_API_PREPARED_STATEMENTS", True)


def sqlite_wal_checkpoint(wait_ms: int) -> None:
    """Copy SQLite's write-ahead log into the database and empty it (``wal_checkpoint(TRUNCATE)``),
    waiting at most ``wait_ms`` for other connections' transactions.

    While it waits, new writers wait too: it gives up after ``wait_ms`` (a long read elsewhere,
    e.g. a billing run) rather than hold every writer up, and the connection's usual busy
    timeout is restored after.
    """
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        usual = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
        try:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(usual)}")


def sql_in_list(column: str, values: Iterable[int | str], vendor: str | None = None) -> tuple[str, list]:
    """``column`` among ``values`` (ints or strings) as one parameter (also what ``__in_list``
    writes): PostgreSQL gets ``= ANY(array)``, SQLite the list as JSON through ``json_each``."""
    values = list(values)
    if (vendor or connection.vendor) == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(values)]

"""Bulk reads and writes for the billing hot path, shared by the apps.

Django's ``bulk_create`` and ``bulk_update`` cost tens of microseconds per row in Python
(value preparation per field, a CASE expression per row for updates), and its result
converters cost more than the query itself. A renewal run writes several rows per
subscription, so these helpers prepare each column once and use each engine's fast path:
one prepared statement through ``executemany`` on SQLite; ``COPY`` for inserts and
``UPDATE … FROM unnest(arrays)`` for updates on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from django.db import connection, models
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


def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
    """How to turn a Python value of ``field`` into a database parameter (None: as it is)."""
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "sqlite":
            return _sqlite_datetime
        adapt = connection.ops.adapt_datetimefield_value
        return lambda v: None if v is None else adapt(v)
    if isinstance(field, (models.JSONField, models.DecimalField, models.DateField, models.UUIDField)):
        return lambda v: field.get_db_prep_save(v, connection)
    if isinstance(field, (models.CharField, models.TextField)):
        # Enum members (TextChoices, StrEnum) are sent as their plain value.
        return lambda v: "" if v is None and not field.null else (v.value if hasattr(v, "value") else v)
    return None


def _columns(model: type[models.Model], fields: Sequence[str] | None) -> list[models.Field]:
    meta = model._meta
    if fields is None:
        return [f for f in meta.concrete_fields if not f.primary_key]
    return [meta.get_field(name) for name in fields]


def _prepare(columns: list[models.Field], rows: Iterable[Sequence[Any]], trailing: int) -> list[list]:
    adapters = [_adapter(f) for f in columns]
    width = len(columns)
    prepared = []
    for row in rows:
        values = [v if adapt is None else adapt(v) for adapt, v in zip(adapters, row)]
        values.extend(row[width:width + trailing])
        prepared.append(values)
    return prepared


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], batch_size: int = 5000) -> int:
    """INSERT plain tuples of Python values (in ``fields`` order) without building model instances."""
    columns = _columns(model, fields)
    prepared = _prepare(columns, rows, trailing=0)
    if not prepared:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(f.column) for f in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The raw psycopg cursor: wrap its errors so callers see Django's IntegrityError etc.
            with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in prepared:
                    copy.write_row(row)
        else:
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
            for offset in range(0, len(prepared), batch_size):
                cursor.executemany(sql, prepared[offset:offset + batch_size])
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
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement per batch: each column travels as one typed array.
            names = [f"c{i}" for i in range(len(columns))]
            arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
            sql = (
                f"UPDATE {table} SET {', '.join(f'{quote(f.column)} = v.{n}' for f, n in zip(columns, names))} "
                f"FROM unnest({arrays}, %s::{pk.db_type(connection).replace('serial', 'int')}[]) "
                f"AS v({', '.join(names)}, pk) WHERE {table}.{quote(pk.column)} = v.pk"
            )
            for offset in range(0, len(prepared), batch_size):
                chunk = prepared[offset:offset + batch_size]
                cursor.execute(sql, [list(column) for column in zip(*chunk)])
        else:
            sql = "UPDATE {} SET {} WHERE {} = %s".format(
                table, ", ".join(f"{quote(f.column)} = %s" for f in columns), quote(pk.column)
            )
            for offset in range(0, len(prepared), batch_size):
                cursor.executemany(sql, prepared[offset:offset + batch_size])
    return len(prepared)


def insert_many(objs: Iterable[models.Model], fields: Sequence[str] | None = None) -> int:
    """INSERT many instances of one model (without reading back their ids)."""
    objs = list(objs)
    if not objs:
        return 0
    columns = _columns(type(objs[0]), fields)
    names = [f.attname for f in columns]
    return insert_rows(type(objs[0]), [f.name for f in columns], ([getattr(o, n) for n in names] for o in objs))


def update_many(objs: Iterable[models.Model], fields: Sequence[str]) -> int:
    """UPDATE ``fields`` of many instances by primary key."""
    objs = list(objs)
    if not objs:
        return 0
    columns = _columns(type(objs[0]), fields)
    names = [f.attname for f in columns]
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
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not datetimes or not rows:
        return rows
    utc = timezone.utc
    parse = datetime.fromisoformat
    result = []
    for row in rows:
        row = list(row)
        for i in datetimes:
            if row[i] is not None:
                row[i] = parse(row[i]).replace(tzinfo=utc)
        result.append(tuple(row))
    return result


@models.Field.register_lookup
class InList(models.Lookup):
    """``field__in_list=[...]``: membership in a long list of ids or keys sent as ONE parameter.

    Django's ``__in`` prepares every element and writes one placeholder per element, a few
    microseconds each; the billing run filters by thousands of ids per batch. PostgreSQL gets
    ``= ANY(array)``; SQLite gets the list as JSON through ``json_each``. Values must be ints
    or strings (ids, codes, idempotency keys).
    """

    lookup_name = "in_list"
    prepare_rhs = False

    def get_prep_lookup(self):
        values = list(self.rhs)
        if not {type(v) for v in values} <= {int, str}:
            raise TypeError("in_list takes ints or strings only")
        return values

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [value if connection.vendor == "postgresql" else json.dumps(value)])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        _, rhs_params = self.get_db_prep_lookup(self.rhs, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, *rhs_params]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, *rhs_params]


# Foreign keys keep their own lookup table; ids of related rows are the common case.
models.ForeignObject.register_lookup(InList)

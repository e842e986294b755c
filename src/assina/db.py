"""Bulk writes for the billing hot path, shared by the apps.

Django's ``bulk_create`` and ``bulk_update`` cost tens of microseconds per row in Python
(value preparation per field, a CASE expression per row for updates). A renewal run writes
several rows per subscription, so these helpers prepare each column once and send one
prepared statement through ``executemany``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from django.db import connection, models
from django.db.models.functions import Cast


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
        return lambda v: "" if v is None and not field.null else (v.value if hasattr(v, "value") else v)
    return None


def _sqlite_datetime(value):
    """What Django's SQLite backend stores for an aware datetime (naive UTC text), ~3x faster."""
    if value is None:
        return None
    if value.tzinfo is not timezone.utc:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored: times are always aware")
        value = value.astimezone(timezone.utc)
    return value.isoformat(" ")[:26 if value.microsecond else 19]


def _columns(model: type[models.Model], fields: Sequence[str] | None) -> list[models.Field]:
    meta = model._meta
    if fields is None:
        return [f for f in meta.concrete_fields if not f.primary_key]
    return [meta.get_field(name) for name in fields]


def _rows(objs: list[models.Model], columns: list[models.Field], extra: Callable[[models.Model], list] | None = None) -> list[list]:
    adapters = [(_adapter(f), f.attname) for f in columns]
    rows = []
    for obj in objs:
        row = [getattr(obj, name) if adapt is None else adapt(getattr(obj, name)) for adapt, name in adapters]
        if extra:
            row += extra(obj)
        rows.append(row)
    return rows


def insert_many(objs: Iterable[models.Model], fields: Sequence[str] | None = None, batch_size: int = 5000) -> int:
    """INSERT many instances of one model (without reading back their ids)."""
    objs = list(objs)
    if not objs:
        return 0
    model = type(objs[0])
    columns = _columns(model, fields)
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in columns), ", ".join(["%s"] * len(columns))
    )
    rows = _rows(objs, columns)
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), batch_size):
            cursor.executemany(sql, rows[offset:offset + batch_size])
    return len(rows)


def update_many(objs: Iterable[models.Model], fields: Sequence[str], batch_size: int = 5000) -> int:
    """UPDATE ``fields`` of many instances with one prepared statement."""
    objs = list(objs)
    if not objs:
        return 0
    model = type(objs[0])
    columns = _columns(model, fields)
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(model._meta.db_table), ", ".join(f"{quote(f.column)} = %s" for f in columns), quote(model._meta.pk.column)
    )
    rows = _rows(objs, columns, extra=lambda obj: [obj.pk])
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), batch_size):
            cursor.executemany(sql, rows[offset:offset + batch_size])
    return len(rows)


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], batch_size: int = 5000) -> int:
    """INSERT plain tuples of Python values (in ``fields`` order) without building model instances."""
    columns = _columns(model, fields)
    return _execute_rows(
        "INSERT INTO {} ({}) VALUES ({})".format(
            connection.ops.quote_name(model._meta.db_table),
            ", ".join(connection.ops.quote_name(f.column) for f in columns), ", ".join(["%s"] * len(columns)),
        ),
        columns, rows, batch_size, trailing=0,
    )


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], batch_size: int = 5000) -> int:
    """UPDATE by primary key from plain tuples: the values of ``fields`` then the pk."""
    columns = _columns(model, fields)
    quote = connection.ops.quote_name
    return _execute_rows(
        "UPDATE {} SET {} WHERE {} = %s".format(
            quote(model._meta.db_table), ", ".join(f"{quote(f.column)} = %s" for f in columns), quote(model._meta.pk.column)
        ),
        columns, rows, batch_size, trailing=1,
    )


def _execute_rows(sql: str, columns: list[models.Field], rows: Iterable[Sequence[Any]], batch_size: int, trailing: int) -> int:
    adapters = [_adapter(f) for f in columns]
    prepared = []
    for row in rows:
        values = [v if adapt is None else adapt(v) for adapt, v in zip(adapters, row)]
        values.extend(row[len(columns):len(columns) + trailing])
        prepared.append(values)
    if not prepared:
        return 0
    with connection.cursor() as cursor:
        for offset in range(0, len(prepared), batch_size):
            cursor.executemany(sql, prepared[offset:offset + batch_size])
    return len(prepared)


def fetch_values(queryset: models.QuerySet, fields: Sequence[str]) -> list[tuple]:
    """``queryset.values_list(*fields)`` as plain tuples, without Django's per-value converters.

    The billing run reads thousands of rows per batch and Django's result converters cost more
    than the query. psycopg already returns aware datetimes; on SQLite the datetime columns are
    read as text (a CAST has no declared type, so no regex converter runs) and parsed with
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

"""Run the API's fixed hot statements (the key lookup, the subscription read) as cheaply as possible.

On PostgreSQL, Django sends every statement as text with its parameters inlined, so the server
parses and plans it each time: for the subscription read that is 0.4 ms of planning against
0.1 ms of execution, on every request. These statements never change, so they run as prepared
statements instead (psycopg keeps one per connection and statement; with the persistent
connections of gunicorn's workers they are planned once). Errors still become Django's database
errors and mark the connection, as Django's own cursor does. On SQLite they go to sqlite3's
cursor directly (same connection, same type converters).

A pooler in transaction mode (PgBouncer < 1.21) does not keep prepared statements: set
``ASSINA_API_PREPARED_STATEMENTS=0`` there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.conf import settings
from django.db import connection


def fetch_all(sql: str, params: Sequence) -> list[tuple]:
    """The rows of a fixed statement written with ``%s`` placeholders."""
    if connection.vendor == "postgresql" and getattr(settings, "ASSINA_API_PREPARED_STATEMENTS", True):
        import psycopg

        connection.ensure_connection()
        connection.validate_no_broken_transaction()
        pg = connection.connection
        # Django turns psycopg's prepared statements off for the whole connection (poolers);
        # they are turned on just for this statement, whose name psycopg then remembers. psycopg
        # still forgets them all (DEALLOCATE ALL) on a rollback, as it must.
        threshold = pg.prepare_threshold
        pg.prepare_threshold = 0
        try:
            with connection.wrap_database_errors, psycopg.Cursor(pg) as cursor:
                cursor.execute(sql, params, prepare=True)
                return cursor.fetchall()
        finally:
            pg.prepare_threshold = threshold
    if connection.vendor == "sqlite":
        # sqlite3's own cursor with the statement already in its "?" style: Django's cursor
        # would rewrite the placeholders with a regex on every call.
        connection.ensure_connection()
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors:
            return connection.connection.execute(_qmark(sql), params).fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@functools.cache
def _qmark(sql: str) -> str:
    return sql.replace("%s", "?")

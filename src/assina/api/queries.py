"""The API's hand-written SQL, beside its ORM twin (``tests/integration/test_queries.py`` runs
both on the same rows and compares them).

Every request authenticates its key: a fixed statement (prepared once per connection on
PostgreSQL) skips the ORM's query compilation, which cost more than the lookup itself.
"""

from __future__ import annotations

from datetime import datetime

from assina.db import aware_datetime, fetch_prepared, sql_columns, sql_table

from django.db.models import Subquery

from assina.clock.models import Installation

from .models import ApiKey

_c = sql_columns(ApiKey)
_i = sql_columns(Installation)
# The database's recorded mode comes with the key, in the same statement: a key is checked
# against the database's mode on every request at no extra round trip.
KEY_SQL = (f"SELECT {_c['id']}, {_c['scope']}, {_c['revoked_at']}, {_c['mode']}, "
           f"(SELECT {_i['mode']} FROM {sql_table(Installation)} WHERE {_i['id']} = 1) "
           f"FROM {sql_table(ApiKey)} WHERE {_c['key_hash']} = %s")

KeyRow = tuple[int, str, "datetime | None", str, "str | None"]


def key_by_hash(digest: str) -> KeyRow | None:
    """(id, scope, revoked_at, the key's mode, the database's mode) of the key with this hash, or None."""
    rows = fetch_prepared(KEY_SQL, [digest])
    if not rows:
        return None
    pk, scope, revoked_at, mode, database_mode = rows[0]
    return pk, scope, aware_datetime(revoked_at), mode, database_mode


def key_by_hash_orm(digest: str) -> KeyRow | None:
    database_mode = Installation.objects.filter(pk=1).values("mode")[:1]
    return (ApiKey.objects.filter(key_hash=digest).annotate(database_mode=Subquery(database_mode))
            .values_list("id", "scope", "revoked_at", "mode", "database_mode").first())

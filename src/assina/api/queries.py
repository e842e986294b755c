"""The API's hand-written SQL, beside its ORM twin (``tests/integration/test_queries.py`` runs
both on the same rows and compares them).

Every request authenticates its key: a fixed statement (prepared once per connection on
PostgreSQL) skips the ORM's query compilation, which cost more than the lookup itself.
"""

from __future__ import annotations

from datetime import datetime

from assina.db import aware_datetime, fetch_prepared, sql_columns, sql_table

from .models import ApiKey

_c = sql_columns(ApiKey)
KEY_SQL = f"SELECT {_c['id']}, {_c['scope']}, {_c['revoked_at']} FROM {sql_table(ApiKey)} WHERE {_c['key_hash']} = %s"


def key_by_hash(digest: str) -> tuple[int, str, datetime | None] | None:
    """(id, scope, revoked_at) of the key with this hash, or None."""
    rows = fetch_prepared(KEY_SQL, [digest])
    if not rows:
        return None
    pk, scope, revoked_at = rows[0]
    return pk, scope, aware_datetime(revoked_at)


def key_by_hash_orm(digest: str) -> tuple[int, str, datetime | None] | None:
    return ApiKey.objects.filter(key_hash=digest).values_list("id", "scope", "revoked_at").first()

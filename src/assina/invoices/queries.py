"""The invoices app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them)."""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import F

from assina.db import select_row, sql_columns, sql_table

from .models import NumberSequence


@functools.cache
def _advance_sequence_sql(vendor: str) -> str:
    c = sql_columns(NumberSequence)
    return (f"UPDATE {sql_table(NumberSequence)} SET {c['next_value']} = {c['next_value']} + %s "
            f"WHERE {c['key']} = %s RETURNING {c['next_value']}")


def advance_sequence(key: str, count: int) -> int | None:
    """Move the sequence ``key`` past ``count`` numbers; its next value after (None: no such
    sequence). One statement: the UPDATE locks the row until the transaction ends (what a
    SELECT … FOR UPDATE then UPDATE did in two round trips)."""
    row = select_row(_advance_sequence_sql(connection.vendor), [count, key])
    return None if row is None else row[0]


def advance_sequence_orm(key: str, count: int) -> int | None:
    if not NumberSequence.objects.filter(key=key).update(next_value=F("next_value") + count):
        return None
    return NumberSequence.objects.get(key=key).next_value

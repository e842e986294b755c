"""The customers app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them)."""

from __future__ import annotations

import functools

from django.db import connection

from assina.db import select_row, sql_columns, sql_table

from .models import Customer


@functools.cache
def _email_taken_sql(vendor: str) -> str:
    c = sql_columns(Customer)
    # Django's iexact: UPPER() on PostgreSQL; LIKE on SQLite, which folds ASCII letters only, as
    # SQLite's UPPER() does.
    return f"SELECT 1 FROM {sql_table(Customer)} WHERE UPPER({c['email']}) = UPPER(%s) LIMIT 1"


def email_taken(email: str) -> bool:
    """Whether a customer has this e-mail address in any case of its letters (checked in the
    transaction that makes a customer at checkout, under the write lock)."""
    return select_row(_email_taken_sql(connection.vendor), [email]) is not None


def email_taken_orm(email: str) -> bool:
    return Customer.objects.filter(email__iexact=email).exists()

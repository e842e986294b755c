"""The invoices app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them)."""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import F

from assina.customers.models import Customer
from assina.db import select_row, select_rows, sql_columns, sql_in_list, sql_table

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


@functools.cache
def _credit_balances_sql(vendor: str) -> str:
    c = sql_columns(Customer)
    # FOR NO KEY UPDATE (only the balance changes): FOREIGN KEY checks of other transactions on
    # these customers do not wait for it. SQLite's transaction holds the database's write lock.
    lock = " FOR NO KEY UPDATE" if vendor == "postgresql" else ""
    return (f"SELECT {c['id']}, {c['credit_balance']} FROM {sql_table(Customer)} WHERE {{customers}}"
            f" AND {c['credit_balance']} > 0 ORDER BY {c['id']}{lock}")


def credit_balances(customer_ids: list[int]) -> dict[int, int]:
    """The credit balance of each of these customers that has one, by id, locked until the
    transaction ends (issuing invoices spends it)."""
    among, listed = sql_in_list(sql_columns(Customer)["id"], customer_ids)
    return dict(select_rows(_credit_balances_sql(connection.vendor).replace("{customers}", among), listed))


def credit_balances_orm(customer_ids: list[int]) -> dict[int, int]:
    return dict(Customer.objects.select_for_update(no_key=True).filter(pk__in=customer_ids, credit_balance__gt=0)
                .order_by("pk").values_list("pk", "credit_balance"))

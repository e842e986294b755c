"""The payments app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them).

The job runner's checks: the clock asks them at every stop (a simulated year makes hundreds),
and building the ORM's queries costs more than running them. Applying a charge's result
(``services.apply_results``) locks its pending attempt first: that runs inside the write
transaction of every checkout and card payment, where building the ORM's query cost several
times running it.
"""

from __future__ import annotations

import functools
from datetime import datetime

from django.db import connection
from django.db.models import Min

from assina.db import Many, aware_datetime, fetch_prepared, select_row, sql_columns, sql_in_list, sql_table
from assina.invoices.models import Invoice

from .models import PaymentAttempt, Refund

OPEN = "open"


def _first_of_open_invoices(field: str) -> str:
    inv, table = sql_columns(Invoice), sql_table(Invoice)
    return f"(SELECT MIN({inv[field]}) FROM {table} WHERE {inv[field]} IS NOT NULL AND {inv['status']} = %s)"


@functools.cache
def _first_retry_and_final_sql(vendor: str) -> str:
    return f"SELECT {_first_of_open_invoices('next_payment_attempt')}, {_first_of_open_invoices('dunning_final_at')}"


def first_retry_and_final() -> tuple[datetime | None, datetime | None]:
    """The earliest payment retry and the earliest dunning final action of open invoices."""
    retry, final = select_row(_first_retry_and_final_sql(connection.vendor), [OPEN, OPEN])
    return aware_datetime(retry), aware_datetime(final)


def first_retry_and_final_orm() -> tuple[datetime | None, datetime | None]:
    first = Invoice.objects.filter(status=OPEN).aggregate(retry=Min("next_payment_attempt"), final=Min("dunning_final_at"))
    return first["retry"], first["final"]


@functools.cache
def _retry_final_and_pending_refund_sql(vendor: str) -> str:
    refund = sql_columns(Refund)
    return (f"SELECT {_first_of_open_invoices('next_payment_attempt')}, {_first_of_open_invoices('dunning_final_at')}, "
            f"EXISTS (SELECT 1 FROM {sql_table(Refund)} WHERE {refund['status']} = %s)")


def retry_final_and_pending_refund() -> tuple[datetime | None, datetime | None, bool]:
    """``first_retry_and_final`` and whether a refund is pending (one a crash left), in one statement."""
    retry, final, pending = select_row(_retry_final_and_pending_refund_sql(connection.vendor),
                                       [OPEN, OPEN, Refund.Status.PENDING.value])
    return aware_datetime(retry), aware_datetime(final), pending in (1, True)


def retry_final_and_pending_refund_orm() -> tuple[datetime | None, datetime | None, bool]:
    return (*first_retry_and_final_orm(), Refund.objects.filter(status=Refund.Status.PENDING).exists())


@functools.cache
def _pending_attempt_ids_sql(vendor: str, one: bool) -> str:
    a = sql_columns(PaymentAttempt)
    where = f"{a['idempotency_key']} = %s" if one else sql_in_list(a["idempotency_key"], (), vendor)[0]
    # SQLite has no row locks: its one writer holds the database (the caller's transaction).
    lock = " FOR UPDATE" if vendor == "postgresql" else ""
    return (f"SELECT {a['id']}, {a['idempotency_key']} FROM {sql_table(PaymentAttempt)} "
            f"WHERE {where} AND {a['status']} = %s ORDER BY {a['id']}{lock}")


def pending_attempt_ids(keys: list[str]) -> list[tuple[int, str]]:
    """Lock the attempts among the idempotency ``keys`` that are still pending, in id order,
    and read (id, key) of each. One key (a checkout's or a card payment's charge) is a plain
    equality, prepared once per connection; a batch travels as one list parameter."""
    pending = PaymentAttempt.Status.PENDING.value
    if len(keys) == 1:
        return fetch_prepared(_pending_attempt_ids_sql(connection.vendor, True), [keys[0], pending])
    _, params = sql_in_list("", keys)
    return fetch_prepared(_pending_attempt_ids_sql(connection.vendor, False), [*params, pending])


def pending_attempt_ids_orm(keys: list[str]) -> list[tuple[int, str]]:
    return list(PaymentAttempt.objects.select_for_update().filter(idempotency_key__in_list=Many(keys),
                                                                   status=PaymentAttempt.Status.PENDING)
                .order_by("pk").values_list("pk", "idempotency_key"))

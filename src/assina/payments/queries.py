"""The payments app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them).

The job runner's checks: the clock asks them at every stop (a simulated year makes hundreds),
and building the ORM's queries costs more than running them.
"""

from __future__ import annotations

import functools
from datetime import datetime

from django.db import connection
from django.db.models import Min

from assina.db import aware_datetime, select_row, sql_columns, sql_table
from assina.invoices.models import Invoice

from .models import Refund

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

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
import json
from datetime import datetime

from django.db import connection, models
from django.db.models import Min

from assina.db import (Many, aware_datetime, execute_prepared, fetch_prepared, select_row, select_rows, sql_columns,
                       sql_in_list, sql_table, sql_time)
from assina.core.invoice_states import InvoiceStatus
from assina.invoices.models import Invoice

from .models import PaymentAttempt, PaymentMethod, Refund, SandboxCard

OPEN = "open"
PAID = InvoiceStatus.PAID.value


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


def _read(model, attnames: tuple[str, ...], vendor: str) -> str:
    """The columns of ``attnames``, datetimes read as text on SQLite (no converter runs; parsed
    by ``_times``)."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    quote = connection.ops.quote_name
    return ", ".join(f"CAST({quote(fields[name].column)} AS TEXT)"
                     if vendor == "sqlite" and isinstance(fields[name], models.DateTimeField) else quote(fields[name].column)
                     for name in attnames)


def _times(model, attnames: tuple[str, ...], rows: list[tuple]) -> list[tuple]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    times = [i for i, name in enumerate(attnames) if isinstance(fields[name], models.DateTimeField)]
    if not times or not rows or connection.vendor != "sqlite":
        return rows
    columns = list(zip(*rows))
    for i in times:
        parsed = {value: aware_datetime(value) for value in set(columns[i])}
        columns[i] = list(map(parsed.__getitem__, columns[i]))
    return list(zip(*columns))


ATTEMPT_FIELDS = ("id", "idempotency_key", "invoice_id", "number", "amount", "currency", "created_at")


@functools.cache
def _pending_attempt_rows_sql(vendor: str) -> str:
    a = sql_columns(PaymentAttempt)
    lock = " FOR UPDATE" if vendor == "postgresql" else ""
    return (f"SELECT {_read(PaymentAttempt, ATTEMPT_FIELDS, vendor)} FROM {sql_table(PaymentAttempt)} "
            f"WHERE {sql_in_list(a['idempotency_key'], (), vendor)[0]} AND {a['status']} = %s ORDER BY {a['id']}{lock}")


def pending_attempt_rows(keys: list[str]) -> list[tuple]:
    """``pending_attempt_ids``, with each attempt's ``ATTEMPT_FIELDS`` (for results whose
    attempts the caller does not hold: retries, card payments, reconciliation)."""
    _, params = sql_in_list("", keys)
    rows = fetch_prepared(_pending_attempt_rows_sql(connection.vendor), [*params, PaymentAttempt.Status.PENDING.value])
    return _times(PaymentAttempt, ATTEMPT_FIELDS, rows)


def pending_attempt_rows_orm(keys: list[str]) -> list[tuple]:
    return list(PaymentAttempt.objects.select_for_update().filter(idempotency_key__in_list=Many(keys),
                                                                   status=PaymentAttempt.Status.PENDING)
                .order_by("pk").values_list(*ATTEMPT_FIELDS))


@functools.cache
def _locked_invoice_rows_sql(vendor: str, fields: tuple[str, ...]) -> str:
    i = sql_columns(Invoice)
    lock = " FOR UPDATE" if vendor == "postgresql" else ""
    return (f"SELECT {_read(Invoice, fields, vendor)} FROM {sql_table(Invoice)} "
            f"WHERE {sql_in_list(i['id'], (), vendor)[0]} ORDER BY {i['id']}{lock}")


def locked_invoice_rows(ids: list[int], fields: tuple[str, ...]) -> list[tuple]:
    """Lock the invoices ``ids`` in id order and read their ``fields`` (attribute names)."""
    _, params = sql_in_list("", ids)
    return _times(Invoice, fields, fetch_prepared(_locked_invoice_rows_sql(connection.vendor, fields), params))


def locked_invoice_rows_orm(ids: list[int], fields: tuple[str, ...]) -> list[tuple]:
    return list(Invoice.objects.select_for_update().filter(pk__in_list=Many(ids)).order_by("pk").values_list(*fields))


# Applying one charge's result (a checkout, a card payment): the bulk helpers' per-call
# preparation costs more than these single-row UPDATEs, which run inside the write transaction.
# Text columns are NOT NULL: an absent text is stored empty, as ``db.update_rows`` stores it.

@functools.cache
def _record_attempt_result_sql(vendor: str) -> str:
    a = sql_columns(PaymentAttempt)
    fields = ("status", "decline_code", "message", "gateway_charge_id", "completed_at", "next_retry_at")
    return f"UPDATE {sql_table(PaymentAttempt)} SET {', '.join(f'{a[f]} = %s' for f in fields)} WHERE {a['id']} = %s"


def record_attempt_result(attempt_id: int, status: str, decline_code: str, message: str, charge_id: str,
                          completed_at: datetime, next_retry_at: datetime | None) -> int:
    """Write an attempt's result; how many rows changed."""
    return execute_prepared(_record_attempt_result_sql(connection.vendor),
                            [status, decline_code or "", message or "", charge_id or "", sql_time(completed_at),
                             None if next_retry_at is None else sql_time(next_retry_at), attempt_id])


def record_attempt_result_orm(attempt_id: int, status: str, decline_code: str, message: str, charge_id: str,
                              completed_at: datetime, next_retry_at: datetime | None) -> int:
    return PaymentAttempt.objects.filter(pk=attempt_id).update(
        status=status, decline_code=decline_code or "", message=message or "", gateway_charge_id=charge_id or "",
        completed_at=completed_at, next_retry_at=next_retry_at)


@functools.cache
def _mark_invoice_paid_sql(vendor: str) -> str:
    i = sql_columns(Invoice)
    return (f"UPDATE {sql_table(Invoice)} SET {i['status']} = %s, {i['amount_paid']} = %s, {i['paid_at']} = %s "
            f"WHERE {i['id']} = %s")


def mark_invoice_paid(invoice_id: int, amount_paid: int, paid_at: datetime) -> int:
    """Mark an invoice paid (its status, amount paid and time); how many rows changed. Its
    next payment attempt is left as it is (the caller writes it when one was scheduled)."""
    return execute_prepared(_mark_invoice_paid_sql(connection.vendor), [PAID, amount_paid, sql_time(paid_at), invoice_id])


def mark_invoice_paid_orm(invoice_id: int, amount_paid: int, paid_at: datetime) -> int:
    return Invoice.objects.filter(pk=invoice_id).update(status=PAID, amount_paid=amount_paid, paid_at=paid_at)


@functools.cache
def _token_attached_sql(vendor: str) -> str:
    return f"SELECT 1 FROM {sql_table(PaymentMethod)} WHERE {sql_columns(PaymentMethod)['token']} = %s LIMIT 1"


def token_attached(token: str) -> bool:
    """Whether a card with this gateway token is kept already (asked under the write lock when a
    checkout keeps the buyer's card)."""
    return select_row(_token_attached_sql(connection.vendor), [token]) is not None


def token_attached_orm(token: str) -> bool:
    return PaymentMethod.objects.filter(token=token).exists()


@functools.cache
def _sandbox_cards_sql(vendor: str) -> str:
    card = sql_columns(SandboxCard)
    where, _params = sql_in_list(card["token"], [], vendor)
    return (f"SELECT {card['token']}, {card['behaviour']}, {card['exp_month']}, {card['exp_year']}, {card['schedule']}, "
            f"{card['detached']} FROM {sql_table(SandboxCard)} WHERE {where}")


def sandbox_cards(tokens: set[str]) -> dict[str, tuple]:
    """The sandbox gateway's cards by token: (behaviour, expiry month, expiry year, schedule,
    detached); read by every sandbox charge, where building the ORM's query cost more than
    running it."""
    _where, params = sql_in_list("", sorted(tokens), connection.vendor)
    return {token: (behaviour, month, year, _schedule(schedule), bool(detached))
            for token, behaviour, month, year, schedule, detached in select_rows(_sandbox_cards_sql(connection.vendor),
                                                                                 params)}


def sandbox_cards_orm(tokens: set[str]) -> dict[str, tuple]:
    return {token: (behaviour, month, year, schedule, detached)
            for token, behaviour, month, year, schedule, detached in SandboxCard.objects.filter(token__in=tokens)
            .values_list("token", "behaviour", "exp_month", "exp_year", "schedule", "detached")}


def _schedule(value) -> list:
    """A card's schedule as read raw: JSON text on SQLite (parsed only when a card has one),
    already parsed by psycopg."""
    if not isinstance(value, str):
        return value or []
    return [] if value == "[]" else json.loads(value)

"""The selling app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them)."""

from __future__ import annotations

import functools
from datetime import datetime

from django.db import connection
from django.db.models import Count, F, Max, Q, Sum

from assina.db import execute, select_row, sql_columns, sql_table, sql_time

from assina.catalog.models import Plan, PlanVersion

from .models import CheckoutRequest, CheckoutSession, CheckoutSuggestion


@functools.cache
def _request_sql(vendor: str) -> tuple[str, str, str]:
    c, table = sql_columns(CheckoutRequest), sql_table(CheckoutRequest)
    return (f"DELETE FROM {table} WHERE {c['at']} <= %s",
            f"SELECT COUNT(*) FROM {table} WHERE {c['key']} = %s AND {c['at']} > %s",
            f"INSERT INTO {table} ({c['key']}, {c['at']}) VALUES (%s, %s)")


def count_request(key: str, at: datetime, since: datetime, limit: int) -> bool:
    """One POST of the checkout form by ``key`` at ``at``: forget the counts up to ``since``
    (the limit no longer counts them), then count this one unless ``key`` has ``limit`` after
    ``since`` already; whether it was counted. (Run in the caller's transaction; the checkout
    form's every POST does this, and building the ORM's three statements cost more than
    running them.)"""
    forget, count, insert = _request_sql(connection.vendor)
    since_value = sql_time(since)
    execute(forget, [since_value])
    if select_row(count, [key, since_value])[0] >= limit:
        return False
    execute(insert, [key, sql_time(at)])
    return True


def count_request_orm(key: str, at: datetime, since: datetime, limit: int) -> bool:
    CheckoutRequest.objects.filter(at__lte=since).delete()
    if CheckoutRequest.objects.filter(key=key, at__gt=since).count() >= limit:
        return False
    CheckoutRequest.objects.create(key=key, at=at)
    return True


@functools.cache
def _catalog_stamp_sql(vendor: str) -> str:
    v, p, s = sql_columns(PlanVersion), sql_columns(Plan), sql_columns(CheckoutSuggestion)
    versions, plans, suggestions = sql_table(PlanVersion), sql_table(Plan), sql_table(CheckoutSuggestion)
    flags = ", ".join(f"COUNT(CASE WHEN {p[flag]} THEN 1 END) AS {flag}_count,"
                      f" SUM(CASE WHEN {p[flag]} THEN {p['id']} END) AS {flag}_ids" for flag in ("active", "public"))
    return (f"SELECT (SELECT COUNT(*) FROM {versions}), (SELECT MAX({v['id']}) FROM {versions}),"
            f" plans.*, (SELECT COUNT(*) FROM {suggestions}),"
            f" (SELECT SUM({s['id']} + {s['plan']} * 3 + {s['addon']} * ({s['position']} + 7)) FROM {suggestions})"
            f" FROM (SELECT COUNT(*) AS all_count, {flags} FROM {plans}) plans")


def catalog_stamp() -> tuple:
    """What the checkout and pricing pages keep per process is right while this stays the same:
    how many plan versions there are and the newest one's id (versions are never edited nor
    deleted; a new price or bundle is a new row, and the count catches one that got a lower id
    but committed later, as PostgreSQL hands out ids before commit), how many plans there are,
    how many are active and public and the sums of those ids (a plan, add-on or bundle switched
    off or on, put on or taken off the pricing page), and how many add-ons the owner suggests
    at checkout with a sum over their rows (one added, removed or moved). One statement."""
    return tuple(int(n) if n is not None else None for n in select_row(_catalog_stamp_sql(connection.vendor)))


def catalog_stamp_orm() -> tuple:
    versions = PlanVersion.objects.aggregate(count=Count("id"), newest=Max("id"))
    plans = Plan.objects.aggregate(count=Count("id"), n_active=Count("id", filter=Q(active=True)),
                                   active_ids=Sum("id", filter=Q(active=True)),
                                   n_public=Count("id", filter=Q(public=True)), public_ids=Sum("id", filter=Q(public=True)))
    chosen = CheckoutSuggestion.objects.aggregate(
        count=Count("id"), rows=Sum(F("id") + F("plan_id") * 3 + F("addon_id") * (F("position") + 7)))
    return tuple(int(n) if n is not None else None for n in (
        versions["count"], versions["newest"], plans["count"], plans["n_active"], plans["active_ids"], plans["n_public"],
        plans["public_ids"], chosen["count"], chosen["rows"]))


@functools.cache
def _claim_sql(vendor: str) -> str:
    c, table = sql_columns(CheckoutSession), sql_table(CheckoutSession)
    return (f"UPDATE {table} SET {c['status']} = %s, {c['claimed_at']} = %s WHERE {c['key']} = %s"
            f" AND ({c['status']} = %s OR ({c['status']} = %s AND {c['claimed_at']} < %s))"
            f" RETURNING {c['customer']}, {c['gateway_customer']}")


def claim_session(key: str, at: datetime, stale_before: datetime) -> tuple[int | None, str] | None:
    """Take the checkout session ``key`` for completing it: open, or processing under a claim
    older than ``stale_before`` (a crashed request's). The session's customer id and account at
    the gateway as an earlier claim may have left them, or None when another request holds it
    (or it is complete). One statement: the UPDATE answers what the ORM read back after it."""
    Status = CheckoutSession.Status
    row = select_row(_claim_sql(connection.vendor), [Status.PROCESSING, sql_time(at), key, Status.OPEN,
                                                     Status.PROCESSING, sql_time(stale_before)])
    return None if row is None else (row[0], row[1])


def claim_session_orm(key: str, at: datetime, stale_before: datetime) -> tuple[int | None, str] | None:
    Status = CheckoutSession.Status
    stale = Q(status=Status.PROCESSING, claimed_at__lt=stale_before)
    if not CheckoutSession.objects.filter(Q(status=Status.OPEN) | stale, key=key).update(status=Status.PROCESSING,
                                                                                          claimed_at=at):
        return None
    return CheckoutSession.objects.filter(key=key).values_list("customer_id", "gateway_customer").get()

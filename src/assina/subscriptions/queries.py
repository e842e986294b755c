"""The subscriptions app's hand-written SQL and read models, each statement beside its ORM twin
(``<name>_orm``; ``tests/integration/test_queries.py`` runs both on the same rows and compares
them).

Terms are loaded for every renewal, change and signup, one subscription at a time outside the
billing run, and the clock asks its checks at every stop: building an ORM query cost more than
running these small indexed ones. The billing run reads its due rows and its customers with
fixed statements (``due_rows``, ``customers_with_cards``), and ``GET /subscriptions/{id}``, the
API's hottest read, is one fixed statement (``subscription_dict``) prepared once per connection.
Following a payment's result (``payment_reactions``) reads with fixed statements too: it runs
inside the write transaction of every checkout and card payment, where the ORM spent more
time building its queries than the database spent running them.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from django.db import connection, models
from django.db.models import Exists, Min, OuterRef, Q
from django.utils.dateparse import parse_datetime

from assina.customers.models import Customer
from assina.catalog.models import BundleComponent, Coupon, Plan, PlanVersion
from assina.core.invoice_states import InvoiceStatus
from assina.core.states import SubscriptionStatus
from assina.db import (Many, aware_datetime, fetch_prepared, select_row, select_rows, sql_columns, sql_in_list,
                       sql_table, sql_time)
from assina.invoices.models import Invoice, PendingItem
from assina.payments.models import PaymentMethod

from .expiring_cards import expiring_methods
from .models import ScheduledChange, Subscription, SubscriptionItem


@functools.cache
def _first_expiring_card_sql(vendor: str) -> str:
    card, customer, sub = sql_columns(PaymentMethod), sql_columns(Customer), sql_columns(Subscription)
    return (f"SELECT {card['exp_month']}, {card['exp_year']} FROM {sql_table(PaymentMethod)} "
            f"WHERE {card['detached_at']} IS NULL AND {card['expiring_notified_at']} IS NULL "
            f"AND ({card['exp_year']} < %s OR ({card['exp_year']} = %s AND {card['exp_month']} <= %s)) "
            f"AND ({card['id']} IN (SELECT {customer['default_payment_method']} FROM {sql_table(Customer)} "
            f"WHERE {customer['default_payment_method']} IS NOT NULL) "
            f"OR {card['id']} IN (SELECT {sub['payment_method']} FROM {sql_table(Subscription)} "
            f"WHERE {sub['payment_method']} IS NOT NULL)) "
            f"ORDER BY {card['exp_year']}, {card['exp_month']}, {card['id']} LIMIT 1")


def first_expiring_card(until: datetime, days: int) -> tuple[int, int] | None:
    """(exp_month, exp_year) of the first of ``expiring_cards.expiring_methods(until, days)``:
    the card in use, not announced yet, that expires first within ``days`` of ``until``."""
    horizon = until + timedelta(days=days)
    return select_row(_first_expiring_card_sql(connection.vendor), [horizon.year, horizon.year, horizon.month])


def first_expiring_card_orm(until: datetime, days: int) -> tuple[int, int] | None:
    return expiring_methods(until, days).values_list("exp_month", "exp_year").first()


# --- what a subscription's terms are built from (``terms.TermsLoader``) ---------------------------------

def item_rows(subscription_ids: list[int]) -> list[tuple[int, int, int]]:
    """(subscription id, plan version id, quantity) of each item, in the order they were added."""
    c = sql_columns(SubscriptionItem)
    where, params = sql_in_list(c["subscription"], subscription_ids)
    return select_rows(f"SELECT {c['subscription']}, {c['plan_version']}, {c['quantity']} "
                       f"FROM {sql_table(SubscriptionItem)} WHERE {where} ORDER BY {c['id']}", params)


def item_rows_orm(subscription_ids: list[int]) -> list[tuple[int, int, int]]:
    return list(SubscriptionItem.objects.filter(subscription_id__in=subscription_ids).order_by("id")
                .values_list("subscription_id", "plan_version_id", "quantity"))


def version_rows(version_ids: set[int]) -> list[tuple]:
    """(id, plan code, plan name, plan kind, pricing model, currency, unit amount, tiers,
    package size, ships goods, shipping amount, free shipping from, has bundle parts) of each
    plan version."""
    v, p, b = sql_columns(PlanVersion), sql_columns(Plan), sql_columns(BundleComponent)
    where, params = sql_in_list(f"v.{v['id']}", version_ids)
    rows = select_rows(
        f"SELECT v.{v['id']}, p.{p['code']}, p.{p['name']}, p.{p['kind']}, v.{v['pricing_model']}, v.{v['currency']}, "
        f"v.{v['unit_amount']}, v.{v['tiers']}, v.{v['package_size']}, p.{p['ships_goods']}, p.{p['shipping_amount']}, "
        f"p.{p['free_shipping_from']}, EXISTS (SELECT 1 FROM {sql_table(BundleComponent)} AS b "
        f"WHERE b.{b['plan_version']} = v.{v['id']}) FROM {sql_table(PlanVersion)} AS v "
        f"JOIN {sql_table(Plan)} AS p ON p.{p['id']} = v.{v['plan']} WHERE {where}", params)
    # SQLite returns the JSON column as text, booleans as 0/1.
    return [(*row[:7], json.loads(row[7]) if isinstance(row[7], str) else row[7], row[8], bool(row[9]), row[10],
             row[11], bool(row[12])) for row in rows]


def version_rows_orm(version_ids: set[int]) -> list[tuple]:
    return list(PlanVersion.objects.filter(pk__in=version_ids).annotate(
        is_bundle=Exists(BundleComponent.objects.filter(plan_version=OuterRef("pk")))).values_list(
        "pk", "plan__code", "plan__name", "plan__kind", "pricing_model", "currency", "unit_amount", "tiers",
        "package_size", "plan__ships_goods", "plan__shipping_amount", "plan__free_shipping_from", "is_bundle"))


# --- the billing run's reads (``due_work``) --------------------------------------------------------------

class DueRow(NamedTuple):
    """The columns of a due subscription that classifying and renewing it need."""

    pk: int
    customer_id: int
    status: str
    currency: str
    interval: str
    interval_count: int
    billing_anchor: datetime
    billing_starts_at: datetime
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    coupon_id: int | None
    discount_applies_from: datetime | None
    discount_applies_until: datetime | None
    payment_method_id: int | None
    next_action_at: datetime


DUE_FIELDS = ("id",) + DueRow._fields[1:]
# The DueRow fields that are times (read as text on SQLite and parsed once per distinct value).
_DUE_TIMES = frozenset(i for i, name in enumerate(DUE_FIELDS)
                       if isinstance(Subscription._meta.get_field(name), models.DateTimeField))


@functools.cache
def _due_sql(vendor: str) -> str:
    sub, change, invoice, item = (sql_columns(m) for m in (Subscription, ScheduledChange, Invoice, PendingItem))
    text = vendor == "sqlite"
    # On SQLite, times are read as text (a CAST has no declared type, so no converter runs): parsed by due_rows.
    quote = connection.ops.quote_name
    columns = ", ".join(f"CAST(s.{column} AS TEXT)" if text and i in _DUE_TIMES else f"s.{column}"
                        for i, column in enumerate(quote(Subscription._meta.get_field(name).column) for name in DUE_FIELDS))
    return (
        f"SELECT {columns}, "
        f"EXISTS(SELECT 1 FROM {sql_table(ScheduledChange)} AS c WHERE c.{change['subscription']} = s.{sub['id']} "
        f"AND c.{change['status']} = %s), "
        # The period a renewal bills starts where the current one ends.
        f"EXISTS(SELECT 1 FROM {sql_table(Invoice)} AS i WHERE i.{invoice['subscription']} = s.{sub['id']} "
        f"AND i.{invoice['period_start']} = s.{sub['current_period_end']}), "
        f"EXISTS(SELECT 1 FROM {sql_table(PendingItem)} AS p WHERE p.{item['subscription']} = s.{sub['id']} "
        f"AND p.{item['invoice']} IS NULL) "
        f"FROM {sql_table(Subscription)} AS s WHERE s.{sub['next_action_at']} <= %s "
        f"ORDER BY s.{sub['next_action_at']}, s.{sub['id']} LIMIT %s"
    )


def due_rows(until: datetime, limit: int) -> tuple[list[DueRow], dict[int, tuple]]:
    """The first ``limit`` subscriptions due by ``until`` (earliest first) and, per row, (has
    pending changes, next period already billed, has carried-over items): one query instead of
    one per question and batch.

    Fixed SQL: the clock runs this at nearly every stop, mostly for one or two renewals, and
    building the ORM query (three EXISTS) cost several times running it. The flags come as the
    engine gives them (0/1 on SQLite, booleans on PostgreSQL): only their truth is used."""
    found = select_rows(_due_sql(connection.vendor), [ScheduledChange.Status.PENDING.value, sql_time(until), limit])
    if not found:
        return [], {}
    # Column by column: each distinct time text is parsed once (a batch shares a few instants).
    columns = list(zip(*found))
    if connection.vendor == "sqlite":
        for i in _DUE_TIMES:
            column = columns[i]
            parsed = {value: aware_datetime(value) for value in set(column)}
            columns[i] = list(map(parsed.__getitem__, column))
    width = len(DUE_FIELDS)
    rows = list(map(DueRow._make, zip(*columns[:width])))
    flags = dict(zip(columns[0], zip(*columns[width:])))
    return rows, flags


def due_rows_orm(until: datetime, limit: int) -> tuple[list[DueRow], dict[int, tuple]]:
    subscription = OuterRef("pk")
    found = list(
        Subscription.objects.filter(next_action_at__lte=until).order_by("next_action_at", "id")
        .annotate(changes=Exists(ScheduledChange.objects.filter(subscription=subscription,
                                                                status=ScheduledChange.Status.PENDING)),
                  billed=Exists(Invoice.objects.filter(subscription=subscription,
                                                       period_start=OuterRef("current_period_end"))),
                  carried=Exists(PendingItem.objects.filter(subscription=subscription, invoice__isnull=True)))
        .values_list(*DUE_FIELDS, "changes", "billed", "carried")[:limit])
    width = len(DUE_FIELDS)
    return [DueRow._make(row[:width]) for row in found], {row[0]: row[width:] for row in found}


@functools.cache
def _customers_with_cards_sql(vendor: str) -> str:
    customer, card = sql_columns(Customer), sql_columns(PaymentMethod)
    where, _ = sql_in_list(f"c.{customer['id']}", (), vendor)
    # Only the customers are locked (a card is not); SQLite's one writer needs no row lock.
    lock = " FOR NO KEY UPDATE OF c" if vendor == "postgresql" else ""
    return (f"SELECT c.{customer['id']}, c.{customer['credit_balance']}, c.{customer['default_payment_method']}, "
            f"c.{customer['locale']}, m.{card['gateway']}, m.{card['token']} FROM {sql_table(Customer)} AS c "
            f"LEFT JOIN {sql_table(PaymentMethod)} AS m ON m.{card['id']} = c.{customer['default_payment_method']} "
            f"WHERE {where} ORDER BY c.{customer['id']}{lock}")


def customers_with_cards(ids: set[int]) -> list[tuple[int, int, int | None, str, str | None, str | None]]:
    """Lock the customers ``ids`` in id order and read (pk, credit_balance,
    default_payment_method_id, locale, gateway, token) with their default card, in one query.

    FOR NO KEY UPDATE, as ``due_work._lock_customers``: it keeps two spenders of a customer's
    credit apart without blocking other transactions' foreign key checks on the customer.
    Integers and texts only: the rows as the driver gives them."""
    _, params = sql_in_list("", ids)
    return select_rows(_customers_with_cards_sql(connection.vendor), params)


def customers_with_cards_orm(ids: set[int]) -> list[tuple[int, int, int | None, str, str | None, str | None]]:
    return list(Customer.objects.filter(pk__in=ids).select_for_update(no_key=True, of=("self",)).order_by("pk")
                .values_list("pk", "credit_balance", "default_payment_method_id", "locale",
                             "default_payment_method__gateway", "default_payment_method__token"))


# --- one subscription as the API shows it (``GET /subscriptions/{id}``, ``api.SubscriptionOut``) ---------

SUBSCRIPTIONS = Subscription.objects.select_related("plan", "coupon")
ITEMS = SubscriptionItem.objects.select_related("plan_version__plan").order_by("id")


@functools.cache
def _subscription_sql(vendor: str) -> str:
    """One statement, one round trip: a row per item (the subscription's columns repeated), and
    the pending scheduled change (the newest) as scalar subqueries."""
    s, p, c, i, v, sc = (sql_columns(m) for m in (Subscription, Plan, Coupon, SubscriptionItem, PlanVersion,
                                                  ScheduledChange))

    def pending_change(column: str) -> str:
        return (f"(SELECT sc.{sc[column]} FROM {sql_table(ScheduledChange)} AS sc WHERE sc.{sc['subscription']} = s.{s['id']} "
                f"AND sc.{sc['status']} = %s ORDER BY sc.{sc['id']} DESC LIMIT 1)")

    first = ", ".join(f"s.{s[name]}" for name in ("id", "customer"))
    middle = ", ".join(f"s.{s[name]}" for name in (
        "status", "currency", "interval", "interval_count", "started_at", "current_period_start", "current_period_end",
        "trial_end", "cancel_at_period_end", "canceled_at", "cancel_reason", "ended_at", "paused_at", "resumes_at"))
    return (f"SELECT {first}, p.{p['code']}, {middle}, c.{c['code']}, s.{s['discount_applies_until']}, "
            f"s.{s['metadata']}, s.{s['created_at']}, {pending_change('change')}, {pending_change('effective_at')}, "
            f"ip.{p['code']}, ip.{p['kind']}, v.{v['version']}, i.{i['quantity']}, v.{v['unit_amount']}, v.{v['currency']} "
            f"FROM {sql_table(Subscription)} AS s "
            f"JOIN {sql_table(Plan)} AS p ON p.{p['id']} = s.{s['plan']} "
            f"LEFT JOIN {sql_table(Coupon)} AS c ON c.{c['id']} = s.{s['coupon']} "
            f"LEFT JOIN {sql_table(SubscriptionItem)} AS i ON i.{i['subscription']} = s.{s['id']} "
            f"LEFT JOIN {sql_table(PlanVersion)} AS v ON v.{v['id']} = i.{i['plan_version']} "
            f"LEFT JOIN {sql_table(Plan)} AS ip ON ip.{p['id']} = v.{v['plan']} "
            f"WHERE s.{s['id']} = %s ORDER BY i.{i['id']}")


def _time(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # fromisoformat is C; parse_datetime, a regex, only for what it refuses
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _json(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def subscription_dict(sub_id: int) -> dict | None:
    """The subscription ``sub_id`` as the API shows it (``api.SubscriptionOut``), or None.

    The hot read path: what a developer's site calls on every page view to decide what a
    customer may use. Building it through the ORM spent most of its time compiling queries;
    this statement is fixed, and PostgreSQL plans it once per connection (``fetch_prepared``)."""
    pending = ScheduledChange.Status.PENDING.value
    rows = fetch_prepared(_subscription_sql(connection.vendor), [pending, pending, sub_id])
    if not rows:
        return None
    (pk, customer_id, plan, status, currency, interval, interval_count, started_at, period_start, period_end,
     trial_end, cancel_at_period_end, canceled_at, cancel_reason, ended_at, paused_at, resumes_at, coupon,
     discount_until, metadata, created_at, change, effective_at) = rows[0][:23]
    scheduled = None
    if change is not None:
        data = _json(change)
        scheduled = {"plan": data.get("plan"), "quantity": data.get("quantity"), "effective_at": _time(effective_at)}
    return {
        "id": f"sub_{pk}", "object": "subscription", "customer": f"cus_{customer_id}", "plan": plan, "status": status,
        "currency": currency, "interval": interval, "interval_count": interval_count,
        "items": [{"plan": code, "kind": kind, "version": version, "quantity": quantity, "unit_amount": unit_amount,
                   "currency": item_currency}
                  for code, kind, version, quantity, unit_amount, item_currency in (row[23:] for row in rows)
                  if code is not None],
        "started_at": _time(started_at), "current_period_start": _time(period_start),
        "current_period_end": _time(period_end), "trial_end": _time(trial_end),
        "cancel_at_period_end": bool(cancel_at_period_end), "canceled_at": _time(canceled_at),
        "cancel_reason": cancel_reason, "ended_at": _time(ended_at), "paused_at": _time(paused_at),
        "resumes_at": _time(resumes_at), "coupon": coupon, "discount_until": _time(discount_until),
        "scheduled_change": scheduled, "metadata": _json(metadata) or {}, "created_at": _time(created_at),
    }


def subscription_dict_orm(sub_id: int) -> dict | None:
    sub = SUBSCRIPTIONS.filter(pk=sub_id).first()
    return None if sub is None else subscription_dicts_orm([sub])[0]


def subscription_dicts_orm(subs: list[Subscription]) -> list[dict]:
    """``subscription_dict`` of each of ``subs`` (loaded with ``SUBSCRIPTIONS``) through the ORM:
    the list endpoint's page, with one query for its items and one for its pending changes."""
    ids = [s.pk for s in subs]
    items: dict[int, list[SubscriptionItem]] = {}
    for item in ITEMS.filter(subscription_id__in=ids):
        items.setdefault(item.subscription_id, []).append(item)
    # The newest pending change of each subscription (later ones overwrite earlier ones).
    scheduled = {c.subscription_id: c for c in ScheduledChange.objects.filter(
        subscription_id__in=ids, status=ScheduledChange.Status.PENDING).order_by("id")}
    return [_as_dict(s, items.get(s.pk, []), scheduled.get(s.pk)) for s in subs]


def _as_dict(sub: Subscription, items: list[SubscriptionItem], scheduled: ScheduledChange | None) -> dict:
    return {
        "id": f"sub_{sub.pk}", "object": "subscription", "customer": f"cus_{sub.customer_id}", "plan": sub.plan.code,
        "status": sub.status, "currency": sub.currency, "interval": sub.interval, "interval_count": sub.interval_count,
        "items": [{"plan": i.plan_version.plan.code, "kind": i.plan_version.plan.kind, "version": i.plan_version.version,
                   "quantity": i.quantity, "unit_amount": i.plan_version.unit_amount, "currency": i.plan_version.currency}
                  for i in items],
        "started_at": sub.started_at, "current_period_start": sub.current_period_start,
        "current_period_end": sub.current_period_end, "trial_end": sub.trial_end,
        "cancel_at_period_end": sub.cancel_at_period_end, "canceled_at": sub.canceled_at, "cancel_reason": sub.cancel_reason,
        "ended_at": sub.ended_at, "paused_at": sub.paused_at, "resumes_at": sub.resumes_at,
        "coupon": sub.coupon.code if sub.coupon_id else None, "discount_until": sub.discount_applies_until,
        "scheduled_change": ({"plan": scheduled.change.get("plan"), "quantity": scheduled.change.get("quantity"),
                              "effective_at": scheduled.effective_at} if scheduled else None),
        "metadata": sub.metadata, "created_at": sub.created_at,
    }


# --- following payment results (``payment_reactions.follow_payment_results``) ---------------------------

# What the reaction to payment results reads of a subscription: the fields its next action time is
# computed from (held for catch-up included) and those it changes, by attribute name in the
# model's field order (the order ``Model.from_db`` takes values in).
FOLLOWED_FIELDS = tuple(f.attname for f in Subscription._meta.concrete_fields if f.attname in {
    "id", "status", "customer_id", "current_period_end", "resumes_at", "created_at", "next_action_at", "grace_until",
    "imported_at", "catch_up_held_at"})
_FOLLOWED_TIMES = frozenset(i for i, name in enumerate(FOLLOWED_FIELDS)
                            if isinstance(Subscription._meta.get_field(name), models.DateTimeField))


@functools.cache
def _subscriptions_to_follow_sql(vendor: str, failed: bool, paid: bool) -> str:
    by_attname = {f.attname: f.name for f in Subscription._meta.concrete_fields}
    s = sql_columns(Subscription)
    # On SQLite, times are read as text (no converter runs) and parsed by subscriptions_to_follow.
    columns = ", ".join(f"CAST({s[by_attname[name]]} AS TEXT)" if vendor == "sqlite" and i in _FOLLOWED_TIMES
                        else s[by_attname[name]] for i, name in enumerate(FOLLOWED_FIELDS))
    terms = []
    if failed:
        terms.append(sql_in_list(s["id"], (), vendor)[0])
    if paid:
        terms.append(f"({sql_in_list(s['id'], (), vendor)[0]} AND NOT ({s['status']} = %s))")
    lock = " FOR UPDATE" if vendor == "postgresql" else ""
    return (f"SELECT {columns} FROM {sql_table(Subscription)} WHERE {' OR '.join(terms)} "
            f"ORDER BY {s['id']}{lock}")


def subscriptions_to_follow(failed: set[int], paid: set[int]) -> list[tuple]:
    """Lock, in id order, the subscriptions whose status a batch of payment results may change
    (ids in ``failed``, and those in ``paid`` that are not active) and read their
    ``FOLLOWED_FIELDS``."""
    if not failed and not paid:
        return []
    params: list = []
    if failed:
        params += sql_in_list("", failed)[1]
    if paid:
        params += [*sql_in_list("", paid)[1], SubscriptionStatus.ACTIVE.value]
    rows = fetch_prepared(_subscriptions_to_follow_sql(connection.vendor, bool(failed), bool(paid)), params)
    if connection.vendor == "sqlite":
        rows = [tuple(aware_datetime(v) if i in _FOLLOWED_TIMES else v for i, v in enumerate(row)) for row in rows]
    return rows


def subscriptions_to_follow_orm(failed: set[int], paid: set[int]) -> list[tuple]:
    return list(Subscription.objects.select_for_update()
                .filter(Q(pk__in_list=Many(failed)) | (Q(pk__in_list=Many(paid)) & ~Q(status=SubscriptionStatus.ACTIVE)))
                .order_by("pk").values_list(*FOLLOWED_FIELDS))


@functools.cache
def _open_invoice_ids_sql(vendor: str) -> str:
    i = sql_columns(Invoice)
    return (f"SELECT {i['id']} FROM {sql_table(Invoice)} WHERE {i['subscription']} = %s AND {i['status']} = %s "
            f"AND NOT ({i['id']} = %s) ORDER BY {i['id']}")


def open_invoice_ids(subscription_id: int, besides: int) -> list[int]:
    """The ids of the subscription's open invoices other than ``besides``, in id order."""
    rows = fetch_prepared(_open_invoice_ids_sql(connection.vendor), [subscription_id, InvoiceStatus.OPEN.value, besides])
    return [row[0] for row in rows]


def open_invoice_ids_orm(subscription_id: int, besides: int) -> list[int]:
    return list(Invoice.objects.filter(subscription_id=subscription_id, status=InvoiceStatus.OPEN)
                .exclude(pk=besides).order_by("pk").values_list("pk", flat=True))


@functools.cache
def _first_pending_changes_sql(vendor: str) -> str:
    c = sql_columns(ScheduledChange)
    return (f"SELECT {c['subscription']}, MIN({c['effective_at']}) FROM {sql_table(ScheduledChange)} "
            f"WHERE {sql_in_list(c['subscription'], (), vendor)[0]} AND {c['status']} = %s GROUP BY {c['subscription']}")


def first_pending_changes(subscription_ids: list[int]) -> dict[int, datetime]:
    """Subscription id -> when its first pending scheduled change takes effect, for those of
    ``subscription_ids`` that have one (what ``store.next_action_times`` computes a next action
    time from: every write of a subscription's status asks it)."""
    _, params = sql_in_list("", subscription_ids)
    rows = select_rows(_first_pending_changes_sql(connection.vendor), [*params, ScheduledChange.Status.PENDING.value])
    return {sub_id: aware_datetime(first) for sub_id, first in rows}


def first_pending_changes_orm(subscription_ids: list[int]) -> dict[int, datetime]:
    return dict(ScheduledChange.objects.filter(subscription_id__in_list=Many(subscription_ids),
                                               status=ScheduledChange.Status.PENDING)
                .values("subscription_id").annotate(first=Min("effective_at")).values_list("subscription_id", "first"))

"""The subscriptions app's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them).

Terms are loaded for every renewal, change and signup, one subscription at a time outside the
billing run, and the clock asks its checks at every stop: building an ORM query cost more than
running these small indexed ones.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta

from django.db import connection

from assina.customers.models import Customer
from assina.catalog.models import Plan, PlanVersion
from assina.db import select_row, select_rows, sql_columns, sql_in_list, sql_table
from assina.payments.models import PaymentMethod

from .expiring_cards import expiring_methods
from .models import Subscription, SubscriptionItem


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
    package size) of each plan version."""
    v, p = sql_columns(PlanVersion), sql_columns(Plan)
    where, params = sql_in_list(f"v.{v['id']}", version_ids)
    rows = select_rows(
        f"SELECT v.{v['id']}, p.{p['code']}, p.{p['name']}, p.{p['kind']}, v.{v['pricing_model']}, v.{v['currency']}, "
        f"v.{v['unit_amount']}, v.{v['tiers']}, v.{v['package_size']} FROM {sql_table(PlanVersion)} AS v "
        f"JOIN {sql_table(Plan)} AS p ON p.{p['id']} = v.{v['plan']} WHERE {where}", params)
    # SQLite returns the JSON column as text.
    return [(*row[:7], json.loads(row[7]) if isinstance(row[7], str) else row[7], row[8]) for row in rows]


def version_rows_orm(version_ids: set[int]) -> list[tuple]:
    return list(PlanVersion.objects.filter(pk__in=version_ids).values_list(
        "pk", "plan__code", "plan__name", "plan__kind", "pricing_model", "currency", "unit_amount", "tiers",
        "package_size"))

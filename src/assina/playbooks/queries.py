"""The playbooks app's hand-written SQL, next to its ORM twins (``tests/integration/test_queries.py``
runs both and compares them)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from assina.catalog.models import Coupon, Plan
from assina.customers.models import Customer
from assina.db import aware_datetime, select_row, sql_columns, sql_table, sql_time
from assina.subscriptions.models import Subscription

from .models import PlaybookOffer
from .services import NOT_DISCOUNTABLE, open_offers
from .wording import CouponTerms

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class OpenOffer:
    """The portal card's offer: its id, what the coupon gives, until when, on which plan, from
    which invoice (the subscription's next: the end of its current period)."""

    id: int
    expires_at: datetime
    terms: CouponTerms
    plan: str
    next_invoice_at: datetime
    time_zone: str


def _offer(row) -> OpenOffer:
    pk, expires_at, percent_off, amount_off, currency, duration, periods, plan, next_invoice_at, time_zone = row
    # SQLite hands a stored decimal back as an int or a float: read as the ORM reads it.
    percent = None if percent_off is None else Decimal(str(percent_off)).quantize(CENTS)
    return OpenOffer(pk, aware_datetime(expires_at),
                     CouponTerms(percent_off=percent, amount_off=amount_off, currency=currency, duration=duration,
                                 periods=periods), plan, aware_datetime(next_invoice_at), time_zone)


@functools.cache
def _open_offer_sql(vendor: str) -> str:
    o, c, s = sql_columns(PlaybookOffer), sql_columns(Coupon), sql_columns(Subscription)
    p, cu = sql_columns(Plan), sql_columns(Customer)
    return (f"SELECT o.{o['id']}, o.{o['expires_at']}, c.{c['percent_off']}, c.{c['amount_off']}, c.{c['currency']}, "
            f"c.{c['duration']}, c.{c['duration_periods']}, p.{p['name']}, s.{s['current_period_end']}, cu.{cu['time_zone']} "
            f"FROM {sql_table(PlaybookOffer)} o "
            f"JOIN {sql_table(Coupon)} c ON c.{c['id']} = o.{o['coupon']} "
            f"JOIN {sql_table(Subscription)} s ON s.{s['id']} = o.{o['subscription']} "
            f"JOIN {sql_table(Plan)} p ON p.{p['id']} = s.{s['plan']} "
            f"JOIN {sql_table(Customer)} cu ON cu.{cu['id']} = o.{o['customer']} "
            f"WHERE o.{o['customer']} = %s AND o.{o['accepted_at']} IS NULL AND o.{o['declined_at']} IS NULL "
            f"AND o.{o['expires_at']} > %s AND s.{s['ended_at']} IS NULL AND s.{s['status']} NOT IN (%s, %s, %s) "
            f"AND s.{s['cancel_at_period_end']} = %s "
            f"AND (s.{s['coupon']} IS NULL OR s.{s['discount_applies_from']} IS NULL "
            f"OR s.{s['discount_applies_until']} <= s.{s['current_period_start']}) "
            f"AND c.{c['active']} = %s AND (c.{c['redeem_by']} IS NULL OR c.{c['redeem_by']} > %s) "
            f"ORDER BY o.{o['created_at']} DESC, o.{o['id']} DESC LIMIT 1")


def open_offer(customer_id: int, at: datetime) -> OpenOffer | None:
    """The customer's newest offer still open to accept (``services.open_offers``): asked on every
    portal home, so one fixed statement."""
    when = sql_time(at)
    row = select_row(_open_offer_sql(connection.vendor), [customer_id, when, *NOT_DISCOUNTABLE, False, True, when])
    return None if row is None else _offer(row)


def open_offer_orm(customer_id: int, at: datetime) -> OpenOffer | None:
    row = open_offers(customer_id, at).values_list(
        "pk", "expires_at", "coupon__percent_off", "coupon__amount_off", "coupon__currency", "coupon__duration",
        "coupon__duration_periods", "subscription__plan__name", "subscription__current_period_end",
        "customer__time_zone").first()
    return None if row is None else _offer(row)

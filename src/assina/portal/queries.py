"""The portal's hand-written SQL, next to its ORM twins (``tests/integration/test_queries.py`` runs
both and compares them).

The portal's home is asked for on every visit and reload: the ORM's query building cost more
CPU than the answers (docs/performance.md, "Customer portal home"), so the two reads every home
makes are fixed statements: the cookie session's data, and the portal session with what the
home needs to know before it looks at the account part it keeps (the customer, the stamps that
change whenever something that part shows changes, the portal settings' switches).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import NamedTuple

from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import Count, Max

from assina.customers.models import Customer
from assina.db import aware_datetime, select_row, sql_columns, sql_table, sql_time
from assina.events.models import Event

from .models import PortalLink, PortalSession, PortalSettings


class HomeSession(NamedTuple):
    """A live portal session as the home needs it."""

    session_id: int
    last_seen_at: datetime
    customer_id: int
    name: str
    email: str
    locale: str
    return_url: str
    # The stamps: how many events the customer has and the newest one, the newest event of no customer (plans,
    # coupons...), the newest admin change (portal settings, plans, offers edited by the owner).
    customer_events: int
    customer_event: int | None
    global_event: int | None
    admin_change: int | None
    # The portal settings' switches the account part shows (None without a settings row).
    settings: tuple[bool | None, bool | None, bool | None, bool | None]


@functools.cache
def _cookie_session_sql(vendor: str) -> str:
    s = sql_columns(Session)
    return (f"SELECT {s['session_data']} FROM {sql_table(Session)} "
            f"WHERE {s['session_key']} = %s AND {s['expire_date']} > %s")


def cookie_session(session_key: str, at: datetime) -> str | None:
    """The encoded data of the Django session ``session_key`` unless it expired (what
    ``django.contrib.sessions.backends.db.SessionStore`` reads)."""
    row = select_row(_cookie_session_sql(connection.vendor), [session_key, sql_time(at)])
    return row[0] if row else None


def cookie_session_orm(session_key: str, at: datetime) -> str | None:
    return Session.objects.filter(session_key=session_key, expire_date__gt=at).values_list(
        "session_data", flat=True).first()


@functools.cache
def _home_session_sql(vendor: str) -> str:
    ps, c, link, conf = sql_columns(PortalSession), sql_columns(Customer), sql_columns(PortalLink), sql_columns(PortalSettings)
    e, log = sql_columns(Event), sql_columns(LogEntry)
    return (f"SELECT ps.{ps['id']}, ps.{ps['last_seen_at']}, ps.{ps['customer']}, c.{c['name']}, c.{c['email']}, "
            f"c.{c['locale']}, l.{link['return_url']}, "
            f"(SELECT count(*) FROM {sql_table(Event)} e WHERE e.{e['customer_id']} = ps.{ps['customer']}), "
            f"(SELECT max(e.{e['id']}) FROM {sql_table(Event)} e WHERE e.{e['customer_id']} = ps.{ps['customer']}), "
            f"(SELECT max(e.{e['id']}) FROM {sql_table(Event)} e WHERE e.{e['customer_id']} IS NULL), "
            f"(SELECT max(a.{log['id']}) FROM {sql_table(LogEntry)} a), "
            f"s.{conf['pause_1']}, s.{conf['pause_2']}, s.{conf['pause_3']}, s.{conf['allow_addon_changes']} "
            f"FROM {sql_table(PortalSession)} ps JOIN {sql_table(Customer)} c ON c.{c['id']} = ps.{ps['customer']} "
            f"JOIN {sql_table(PortalLink)} l ON l.{link['id']} = ps.{ps['link']} "
            f"LEFT JOIN {sql_table(PortalSettings)} s ON s.{conf['id']} = 1 "
            f"WHERE ps.{ps['key']} = %s AND ps.{ps['revoked_at']} IS NULL AND ps.{ps['last_seen_at']} > %s")


def home_session(key: str, seen_after: datetime) -> HomeSession | None:
    """The portal session ``key`` if it is not ended and was seen after ``seen_after`` (the idle
    timeout), with its customer and the home's stamps: one statement."""
    row = select_row(_home_session_sql(connection.vendor), [key, sql_time(seen_after)])
    if row is None:
        return None
    switches = tuple(None if v is None else bool(v) for v in row[11:15])
    return HomeSession(row[0], aware_datetime(row[1]), *row[2:11], switches)


def home_session_orm(key: str, seen_after: datetime) -> HomeSession | None:
    session = (PortalSession.objects.select_related("customer", "link")
               .filter(key=key, revoked_at__isnull=True, last_seen_at__gt=seen_after).first())
    if session is None:
        return None
    customer = session.customer
    events = Event.objects.filter(customer_id=customer.pk).aggregate(n=Count("id"), top=Max("id"))
    others = Event.objects.filter(customer_id__isnull=True).aggregate(top=Max("id"))["top"]
    admin = LogEntry.objects.aggregate(top=Max("id"))["top"]
    conf = PortalSettings.objects.filter(pk=1).first()
    switches = ((conf.pause_1, conf.pause_2, conf.pause_3, conf.allow_addon_changes) if conf is not None
                else (None, None, None, None))
    return HomeSession(session.pk, session.last_seen_at, customer.pk, customer.name, customer.email, customer.locale,
                       session.link.return_url, events["n"], events["top"], others, admin, switches)

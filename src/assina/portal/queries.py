"""The portal's hand-written SQL, next to its ORM twins (``tests/integration/test_queries.py`` runs
both and compares them).

The portal's home is asked for on every visit and reload: the ORM's query building cost more
CPU than the answers (docs/performance.md, "Customer portal home"), so the two reads every home
makes are fixed statements: the cookie session's data, and the portal session with what the
home needs to know before it looks at the account part it keeps (the customer, the stamps that
change whenever something that part shows changes, the portal settings' switches). The
suggestions card reads a metered subscription's last billed usage with the prices that would bill
it in one more (``usage_facts``).
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import Count, Max, OuterRef, Q, Subquery

from assina.catalog.models import IMPORTED_VERSIONS_FROM, MeteredPrice, Metric, Plan, PlanVersion
from assina.customers.models import Customer
from assina.db import aware_datetime, select_row, select_rows, sql_columns, sql_table, sql_time
from assina.events.models import Event
from assina.usage.models import UsageCharge

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


# --- the suggestions card's usage read (``upgrades.suggestions.usage_upsells``) -----------------------

class UsageFacts(NamedTuple):
    """What the usage upsells of one subscription are decided from (amounts in minor units)."""

    usage: dict[str, int]  # metric code -> quantity billed for the last billed period (not a free trial's)
    metric_names: dict[str, str]  # of the metrics the versions below price
    # The subscription's base version and the newest version of each other active base plan in its
    # currency and interval: version id -> (plan id, plan code, plan name, pricing model, unit amount,
    # tiers, package size). Empty when nothing was billed for usage yet.
    versions: dict[int, tuple]
    metered: dict[int, dict[str, tuple]]  # version id -> metric code -> (pricing model, unit amount, tiers, package size)


NO_USAGE = UsageFacts({}, {}, {}, {})


@functools.cache
def _usage_facts_sql(vendor: str) -> str:
    u, v, p = sql_columns(UsageCharge), sql_columns(PlanVersion), sql_columns(Plan)
    mp, m = sql_columns(MeteredPrice), sql_columns(Metric)
    charges = sql_table(UsageCharge)
    billed = f"u.{u['subscription']} = %s AND u.{u['free']} = %s"
    # One statement of two parts: the last billed period's usage, then the plan versions with their
    # metered prices (only when there is usage to price).
    return (f"SELECT 'usage', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, u.{u['metric_code']}, NULL, NULL, NULL, "
            f"NULL, NULL, u.{u['quantity']} FROM {charges} u WHERE {billed} AND u.{u['period_start']} = "
            f"(SELECT max(u.{u['period_start']}) FROM {charges} u WHERE {billed}) "
            f"UNION ALL "
            f"SELECT 'price', v.{v['id']}, p.{p['id']}, p.{p['code']}, p.{p['name']}, v.{v['pricing_model']}, "
            f"v.{v['unit_amount']}, v.{v['tiers']}, v.{v['package_size']}, m.{m['code']}, m.{m['name']}, "
            f"mp.{mp['pricing_model']}, mp.{mp['unit_amount']}, mp.{mp['tiers']}, mp.{mp['package_size']}, NULL "
            f"FROM {sql_table(PlanVersion)} v JOIN {sql_table(Plan)} p ON p.{p['id']} = v.{v['plan']} "
            f"LEFT JOIN {sql_table(MeteredPrice)} mp ON mp.{mp['plan_version']} = v.{v['id']} "
            f"LEFT JOIN {sql_table(Metric)} m ON m.{m['id']} = mp.{mp['metric']} "
            f"WHERE (v.{v['id']} = %s OR (p.{p['kind']} = %s AND p.{p['active']} = %s AND p.{p['currency']} = %s "
            f"AND p.{p['interval']} = %s AND p.{p['interval_count']} = %s AND p.{p['id']} <> %s "
            f"AND v.{v['version']} = (SELECT max(w.{v['version']}) FROM {sql_table(PlanVersion)} w "
            f"WHERE w.{v['plan']} = p.{p['id']} AND w.{v['version']} < %s))) "
            f"AND EXISTS (SELECT 1 FROM {charges} u WHERE {billed})")


def _json(value):
    return json.loads(value) if isinstance(value, str) else value  # SQLite returns a JSON column as text


def usage_facts(subscription_id: int, base_version_id: int, plan_id: int, currency: str, interval: str,
                interval_count: int) -> UsageFacts:
    """The subscription's last billed usage and the prices that would bill it: one statement."""
    rows = select_rows(_usage_facts_sql(connection.vendor), [
        subscription_id, False, subscription_id, False, base_version_id, Plan.Kind.BASE.value, True, currency, interval,
        interval_count, plan_id, IMPORTED_VERSIONS_FROM, subscription_id, False])
    usage, names, versions, metered = {}, {}, {}, defaultdict(dict)
    for (tag, version, plan, code, name, model, unit, tiers, package, metric, metric_name, m_model, m_unit, m_tiers,
         m_package, quantity) in rows:
        if tag == "usage":
            usage[metric] = quantity
            continue
        versions[version] = (plan, code, name, model, unit, _json(tiers), package)
        if metric is not None:
            names[metric] = metric_name
            metered[version][metric] = (m_model, m_unit, _json(m_tiers), m_package)
    return UsageFacts(usage, names, versions, dict(metered)) if usage else NO_USAGE


def usage_facts_orm(subscription_id: int, base_version_id: int, plan_id: int, currency: str, interval: str,
                    interval_count: int) -> UsageFacts:
    charges = UsageCharge.objects.filter(subscription_id=subscription_id, free=False)
    last = charges.aggregate(last=Max("period_start"))["last"]
    if last is None:
        return NO_USAGE
    usage = dict(charges.filter(period_start=last).values_list("metric_code", "quantity"))
    newest = (PlanVersion.objects.filter(plan_id=OuterRef("plan_id"), version__lt=IMPORTED_VERSIONS_FROM)
              .order_by("-version").values("version")[:1])
    found = PlanVersion.objects.select_related("plan").filter(
        Q(pk=base_version_id) | Q(plan__kind=Plan.Kind.BASE, plan__active=True, plan__currency=currency,
                                  plan__interval=interval, plan__interval_count=interval_count, version=Subquery(newest))
        & ~Q(plan_id=plan_id))
    versions = {v.pk: (v.plan_id, v.plan.code, v.plan.name, v.pricing_model, v.unit_amount, v.tiers, v.package_size)
                for v in found}
    names, metered = {}, defaultdict(dict)
    for price in MeteredPrice.objects.select_related("metric").filter(plan_version_id__in=list(versions)):
        names[price.metric.code] = price.metric.name
        metered[price.plan_version_id][price.metric.code] = (price.pricing_model, price.unit_amount, price.tiers,
                                                             price.package_size)
    return UsageFacts(usage, names, versions, dict(metered))

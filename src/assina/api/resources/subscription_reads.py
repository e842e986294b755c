"""The hot read path: one subscription as the API shows it, in one SQL statement.

``GET /subscriptions/{id}`` is what a developer's site calls on every page view to decide what a
customer may use, so it must serve well over a thousand requests a second on a small machine.
Building the same answer through the ORM spends most of its time compiling queries; these
statements are fixed, so they are written once (tests check the answer equals the ORM's), and
PostgreSQL plans them once per connection (``assina.api.fixed_sql``).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from django.utils.dateparse import parse_datetime

from assina.api.fixed_sql import fetch_all
from assina.catalog.models import Coupon, Plan, PlanVersion
from assina.subscriptions.models import ScheduledChange, Subscription, SubscriptionItem

SUB = Subscription._meta.db_table
PLAN = Plan._meta.db_table
COUPON = Coupon._meta.db_table
ITEM = SubscriptionItem._meta.db_table
VERSION = PlanVersion._meta.db_table
CHANGE = ScheduledChange._meta.db_table

# One statement, one round trip: a row per item (the subscription's columns repeated), and the
# pending scheduled change as scalar subqueries.
SUBSCRIPTION_SQL = f"""
SELECT s.id, s.customer_id, p.code, s.status, s.currency, s.interval, s.interval_count, s.started_at,
       s.current_period_start, s.current_period_end, s.trial_end, s.cancel_at_period_end, s.canceled_at,
       s.cancel_reason, s.ended_at, s.paused_at, s.resumes_at, c.code, s.discount_applies_until, s.metadata,
       s.created_at,
       (SELECT sc.change FROM {CHANGE} sc WHERE sc.subscription_id = s.id AND sc.status = %s ORDER BY sc.id DESC LIMIT 1),
       (SELECT sc.effective_at FROM {CHANGE} sc WHERE sc.subscription_id = s.id AND sc.status = %s
        ORDER BY sc.id DESC LIMIT 1),
       ip.code, ip.kind, v.version, i.quantity, v.unit_amount, v.currency
FROM {SUB} s
JOIN {PLAN} p ON p.id = s.plan_id
LEFT JOIN {COUPON} c ON c.id = s.coupon_id
LEFT JOIN {ITEM} i ON i.subscription_id = s.id
LEFT JOIN {VERSION} v ON v.id = i.plan_version_id
LEFT JOIN {PLAN} ip ON ip.id = v.plan_id
WHERE s.id = %s
ORDER BY i.id"""


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
    pending = ScheduledChange.Status.PENDING.value
    rows = fetch_all(SUBSCRIPTION_SQL, [pending, pending, sub_id])
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

"""Cards about to expire: found ahead of time (30 days by default, ASSINA_EXPIRING_CARD_DAYS)
so the customer can be asked for a new one before a renewal fails. Each card is announced once
(``payment_method.expiring``, which the notifications app turns into an email).

Only cards that something will charge are announced: a customer's default or a subscription's
own card. That reads subscriptions, so the job lives here rather than in payments (which
never imports subscriptions); it is registered from ``subscriptions.jobs``."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from assina.customers.models import Customer
from assina.db import insert_rows, update_rows
from assina.events.models import Event
from assina.payments.models import PaymentMethod

from .models import Subscription

EVENT_FIELDS = ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data")


def days_ahead() -> int:
    return int(settings.ASSINA_EXPIRING_CARD_DAYS)


def expires_at(exp_month: int, exp_year: int) -> datetime:
    """A card works through the last moment of its expiry month."""
    last = calendar.monthrange(exp_year, exp_month)[1]
    return datetime(exp_year, exp_month, last, 23, 59, 59, tzinfo=timezone.utc)


def expiring_methods(until: datetime, days: int | None = None):
    """Attached cards in use (a customer's default or a subscription's) that expire within
    ``days`` of ``until`` and were not announced yet."""
    horizon = until + timedelta(days=days_ahead() if days is None else days)
    in_use = Q(pk__in=Customer.objects.exclude(default_payment_method=None).values("default_payment_method_id")) | \
        Q(pk__in=Subscription.objects.exclude(payment_method=None).values("payment_method_id"))
    return (PaymentMethod.objects.filter(in_use, detached_at__isnull=True, expiring_notified_at__isnull=True)
            .filter(Q(exp_year__lt=horizon.year) | Q(exp_year=horizon.year, exp_month__lte=horizon.month))
            .order_by("exp_year", "exp_month", "pk"))


def run(until: datetime, *, at_due_time: bool) -> dict:
    days = days_ahead()
    with transaction.atomic():
        methods = [m for m in expiring_methods(until, days).select_for_update(skip_locked=True)[:1000]
                   if expires_at(m.exp_month, m.exp_year) - timedelta(days=days) <= until]
        events, marks = [], []
        for m in methods:
            ends = expires_at(m.exp_month, m.exp_year)
            at = max(ends - timedelta(days=days), m.created_at) if at_due_time else until
            events.append(("payment_method.expiring", at, m.customer_id, "paymentmethod", m.pk,
                           {"payment_method": m.pk, "brand": m.brand, "last4": m.last4, "exp_month": m.exp_month,
                            "exp_year": m.exp_year, "expires_at": ends.isoformat(), "expired": ends <= at}))
            marks.append((at, m.pk))
        update_rows(PaymentMethod, ["expiring_notified_at"], marks)
        insert_rows(Event, EVENT_FIELDS, events)
    return {"expiring_cards": len(events)} if events else {}

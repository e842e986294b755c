"""Every event becomes a delivery row for each enabled endpoint whose filters match it.

No "last event id seen" cursor: on PostgreSQL a transaction holding a lower event id can commit
after one holding a higher id, and such a cursor would skip it. Instead each event gets a marker
row (``FannedOutEvent``, primary key = event id) in the transaction that creates its deliveries,
and the scan takes events WITHOUT a marker (an anti-join). The scan starts above a checkpoint
taken a safety window ago (default one hour of wall-clock time), so its cost stays bounded while
any event whose transaction committed late within that window is still found.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone

from assina.db import insert_rows
from assina.events.models import Event

from .models import FannedOutEvent, FanoutCheckpoint, WebhookDelivery, WebhookEndpoint
from .queries import mark_fanned_out

BATCH = 1000
DELIVERY_FIELDS = ("endpoint", "event", "status", "attempts", "next_attempt_at", "created_at")


def matches(patterns: list[str], event_type: str) -> bool:
    """Exact names, ``prefix.*`` or ``*``; no patterns means every event."""
    if not patterns:
        return True
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def _safety() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "ASSINA_WEBHOOK_FANOUT_SAFETY_SECONDS", 3600)))


def scan_floor() -> int:
    """Event ids at or below this were all fanned out before the safety window began."""
    # Wall-clock time, not the sandbox clock: the window is about how long a database
    # transaction may stay open, which the test clock does not move.
    wall = timezone.now()
    return (FanoutCheckpoint.objects.filter(taken_at__lte=wall - _safety()).order_by("-taken_at")
            .values_list("max_event_id", flat=True).first()) or 0


def _checkpoint(max_event_id: int) -> None:
    wall = timezone.now()
    latest = FanoutCheckpoint.objects.order_by("-taken_at").values_list("taken_at", "max_event_id").first()
    if latest is not None and (latest[0] > wall - timedelta(minutes=1) or latest[1] >= max_event_id):
        return
    FanoutCheckpoint.objects.create(max_event_id=max_event_id, taken_at=wall)
    # Keep the newest checkpoint older than the window (the floor) and every newer one.
    floor_time = (FanoutCheckpoint.objects.filter(taken_at__lte=wall - _safety()).order_by("-taken_at")
                  .values_list("taken_at", flat=True).first())
    if floor_time is not None:
        FanoutCheckpoint.objects.filter(taken_at__lt=floor_time).delete()


def fan_out(until: datetime, *, at_due_time: bool) -> int:
    """Create the deliveries of every event not fanned out yet. Returns how many were created."""
    created = 0
    # A new endpoint only takes events after the newest one at its creation, so nothing at or
    # below the lowest such id can be delivered: with no endpoint (most shops), one query.
    oldest_start = WebhookEndpoint.objects.filter(enabled=True).aggregate(m=Min("starts_after_event_id"))["m"]
    if oldest_start is None:
        return 0
    while True:
        floor = max(scan_floor(), oldest_start)
        candidates = list(
            Event.objects.filter(id__gt=floor).exclude(Exists(FannedOutEvent.objects.filter(event_id=OuterRef("id"))))
            .order_by("id").values_list("id", "type", "occurred_at")[:BATCH])
        if not candidates:
            break
        with transaction.atomic():
            # Locked in id order: deliveries of one endpoint are created by one worker at a time,
            # so their ids follow the order the events were fanned out.
            endpoints = list(WebhookEndpoint.objects.select_for_update().filter(enabled=True).order_by("pk")
                             .values_list("pk", "event_types", "starts_after_event_id"))
            claimed = mark_fanned_out([event_id for event_id, _, _ in candidates])
            rows = []
            for endpoint_id, patterns, starts_after in endpoints:
                for event_id, event_type, occurred_at in candidates:
                    if event_id in claimed and event_id > starts_after and matches(patterns, event_type):
                        due = min(occurred_at, until) if at_due_time else until
                        rows.append((endpoint_id, event_id, WebhookDelivery.Status.PENDING, 0, due, until))
            insert_rows(WebhookDelivery, DELIVERY_FIELDS, rows)
        created += len(rows)
        _checkpoint(max(event_id for event_id, _, _ in candidates))
        if len(candidates) < BATCH:
            break
    return created

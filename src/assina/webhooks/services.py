"""Use cases of webhook endpoints: create, update, delete, rotate the secret, re-send."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from assina.time import now as clock_now
from assina.core.errors import DomainError
from assina.events.models import Event
from assina.events.services import record

from . import egress, signing
from .models import WebhookDelivery, WebhookEndpoint

EVENT_TYPE = re.compile(r"^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$")
ROTATION_OVERLAP = timedelta(hours=24)


class WebhookError(DomainError):
    code = "webhook_invalid"


def _no_nul(*texts: str | None) -> None:
    if any(t is not None and "\x00" in t for t in texts):
        raise WebhookError(_("text cannot contain the NUL character"))


def _check_url(url: str) -> str:
    url = (url or "").strip()
    if any(ord(c) < 32 for c in url):
        raise WebhookError(_("%(url)s is not an http(s) URL") % {"url": repr(url)})
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise WebhookError(_("%(url)s is not an http(s) URL") % {"url": repr(url)})
    if parts.username or parts.password:
        raise WebhookError(_("a webhook URL cannot carry a user name or password"))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookError(_("%(url)s is not an http(s) URL") % {"url": repr(url)}) from None
    if parts.scheme != "https" and settings.ASSINA_MODE == "live":
        raise WebhookError(_("in live mode a webhook URL must start with https://"))
    reason = egress.refusal(parts.hostname, port)
    if reason == egress.UNRESOLVED:
        raise WebhookError(_("the host %(host)s of the webhook URL could not be resolved; check the name")
                           % {"host": parts.hostname})
    if reason is not None:
        raise WebhookError(_("the host %(host)s is a private, loopback, link-local or otherwise non-public address; "
                             "webhooks are sent only to public addresses") % {"host": parts.hostname})
    return url


def _check_types(event_types: list[str] | None) -> list[str]:
    types = sorted({t.strip() for t in event_types or [] if t.strip()})
    bad = [t for t in types if not EVENT_TYPE.match(t) or len(t) > 64]
    if bad:
        raise WebhookError(_("%(types)s: an event type is a name like invoice.paid, a prefix like invoice.* or *")
                           % {"types": ", ".join(map(repr, bad))})
    return types


def get_endpoint(endpoint_id: int | str, *, lock: bool = False) -> WebhookEndpoint:
    text = str(endpoint_id).removeprefix("we_")
    query = WebhookEndpoint.objects.select_for_update() if lock else WebhookEndpoint.objects
    endpoint = query.filter(pk=int(text)).first() if text.isdigit() and len(text) < 19 else None
    if endpoint is None:
        raise WebhookError(_("unknown webhook endpoint %(id)s") % {"id": repr(str(endpoint_id))})
    return endpoint


def create_endpoint(*, url: str, description: str = "", event_types: list[str] | None = None, enabled: bool = True,
                    at: datetime | None = None) -> WebhookEndpoint:
    """A new endpoint receives the events recorded from now on, signed with a new secret."""
    at = at or clock_now()
    _no_nul(description)
    url, types = _check_url(url), _check_types(event_types)
    with transaction.atomic():
        latest = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        endpoint = WebhookEndpoint.objects.create(url=url, description=description[:200], event_types=types, enabled=enabled,
                                                  secret=signing.new_secret(), starts_after_event_id=latest,
                                                  created_at=at, updated_at=at)
        record("webhook_endpoint.created", endpoint, at, {"endpoint": f"we_{endpoint.pk}", "url": url, "event_types": types})
    return endpoint


def update_endpoint(endpoint_id: int | str, *, url: str | None = None, description: str | None = None,
                    event_types: list[str] | None = None, enabled: bool | None = None,
                    at: datetime | None = None) -> WebhookEndpoint:
    at = at or clock_now()
    with transaction.atomic():
        endpoint = get_endpoint(endpoint_id, lock=True)
        changed = {}
        if url is not None:
            endpoint.url = changed["url"] = _check_url(url)
        if description is not None:
            _no_nul(description)
            endpoint.description = changed["description"] = description[:200]
        if event_types is not None:
            endpoint.event_types = changed["event_types"] = _check_types(event_types)
        if enabled is not None and enabled != endpoint.enabled:
            endpoint.enabled = changed["enabled"] = enabled
            if enabled:  # a fresh start: past failures no longer count towards disabling it
                endpoint.failing_since, endpoint.disabled_at, endpoint.disabled_reason = None, None, ""
        endpoint.updated_at = at
        endpoint.save()
        record("webhook_endpoint.updated", endpoint, at, {"endpoint": f"we_{endpoint.pk}", **changed})
    return endpoint


def delete_endpoint(endpoint_id: int | str, at: datetime | None = None) -> None:
    at = at or clock_now()
    with transaction.atomic():
        endpoint = get_endpoint(endpoint_id, lock=True)
        record("webhook_endpoint.deleted", endpoint, at, {"endpoint": f"we_{endpoint.pk}", "url": endpoint.url})
        endpoint.delete()


def rotate_secret(endpoint_id: int | str, at: datetime | None = None) -> WebhookEndpoint:
    """A new secret signs from now on; the old one keeps signing too for 24 hours."""
    at = at or clock_now()
    with transaction.atomic():
        endpoint = get_endpoint(endpoint_id, lock=True)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = at + ROTATION_OVERLAP
        endpoint.secret = signing.new_secret()
        endpoint.updated_at = at
        endpoint.save()
        record("webhook_endpoint.secret_rotated", endpoint, at, {
            "endpoint": f"we_{endpoint.pk}", "previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()})
    return endpoint


def get_delivery(endpoint: WebhookEndpoint, delivery_id: int | str) -> WebhookDelivery:
    text = str(delivery_id).removeprefix("whd_")
    delivery = endpoint.deliveries.filter(pk=int(text)).first() if text.isdigit() and len(text) < 19 else None
    if delivery is None:
        raise WebhookError(_("unknown delivery %(id)s") % {"id": repr(str(delivery_id))})
    return delivery


def redeliver(endpoint_id: int | str, delivery_id: int | str, at: datetime | None = None) -> WebhookDelivery:
    """Queue one more attempt now (the worker sends it, with the same ``webhook-id``)."""
    at = at or clock_now()
    with transaction.atomic():
        endpoint = get_endpoint(endpoint_id, lock=True)
        if not endpoint.enabled:
            raise WebhookError(_("the endpoint is disabled; enable it before re-sending"))
        delivery = get_delivery(endpoint, delivery_id)
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status == WebhookDelivery.Status.SENDING:
            raise WebhookError(_("the delivery is being sent right now"))
        from .delivery import MAX_ATTEMPTS

        delivery.status = WebhookDelivery.Status.PENDING
        delivery.next_attempt_at = at
        # One more try at least, then the usual backoff for what is left of the schedule.
        delivery.attempts = min(delivery.attempts, MAX_ATTEMPTS - 1)
        delivery.save(update_fields=["status", "next_attempt_at", "attempts"])
        record("webhook_delivery.redelivery_requested", endpoint, at, {"endpoint": f"we_{endpoint.pk}",
                                                                       "delivery": f"whd_{delivery.pk}",
                                                                       "event": f"evt_{delivery.event_id}"})
    return delivery

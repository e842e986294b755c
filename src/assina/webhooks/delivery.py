"""Sending deliveries: signed, in order per endpoint, retried with backoff, never by two workers.

- Order: per endpoint only the oldest unfinished delivery (lowest id) may be sent; the next one
  waits until it succeeds or gives up. The receiver therefore sees events in the order they were
  fanned out, and each success records its place (``delivered_sequence``).
- One sender: a worker takes a delivery with a conditional UPDATE (pending → sending, only if no
  older one of its endpoint is unfinished); a worker that loses the race skips it. A worker that
  dies while sending leaves it "sending"; after the claim timeout it is pending again and is sent
  again with the same ``webhook-id`` (receivers deduplicate on it: at-least-once delivery).
- Retries: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 10 h, 12 h, 12 h, 12 h after each failure,
  about three days in all; then the delivery has failed. An endpoint whose attempts all fail for
  ``ASSINA_WEBHOOK_DISABLE_AFTER_DAYS`` (5) is disabled and ``webhook_endpoint.disabled`` recorded.
- Bounded: several endpoints are sent to at once, each attempt ends within
  ``ASSINA_WEBHOOK_TIMEOUT`` however slowly the receiver answers, and a pass starts no attempt
  after ``ASSINA_WEBHOOK_PASS_SECONDS``: a tarpit endpoint delays its own deliveries only.
- Reach: the client connects only to public addresses, the ones it checked (``egress``);
  redirects are not followed.
- Time: with ``at_due_time`` (the test clock) each attempt happens when it falls due, so moving
  the clock walks through the backoff; the ``webhook-timestamp`` header is always the wall-clock
  time of sending, because receivers compare it with their own clock.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from assina.events.models import Event
from assina.events.public import public_event
from assina.events.services import record

from . import egress, signing
from .fanout import fan_out
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .queries import claim_delivery

S = WebhookDelivery.Status
RETRY_DELAYS = [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5),
                timedelta(hours=10), timedelta(hours=10), timedelta(hours=10), timedelta(hours=12), timedelta(hours=12),
                timedelta(hours=12)]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
BODY_EXCERPT = 1000
DISABLED_REASON = N_("Every delivery failed for %(days)d days")
# The only two texts an attempt without an HTTP answer stores (see ``post``).
NO_ANSWER = N_("No HTTP answer (the connection failed, was reset or timed out)")
NOT_PUBLIC = N_("Not sent: the host has no public address (webhooks reach public addresses only)")
NOT_HTTPS = N_("Not sent: in live mode webhooks go to https:// URLs only")


def _setting(name: str, default):
    return getattr(settings, name, default)


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(connect=float(_setting("ASSINA_WEBHOOK_CONNECT_TIMEOUT", 5)),
                         read=float(_setting("ASSINA_WEBHOOK_READ_TIMEOUT", 15)),
                         write=float(_setting("ASSINA_WEBHOOK_READ_TIMEOUT", 15)), pool=5.0)


def _claim_timeout() -> timedelta:
    # Longer than any attempt can take (connect + read + write timeouts).
    return timedelta(seconds=int(_setting("ASSINA_WEBHOOK_CLAIM_TIMEOUT", 300)))


def payload(event: Event) -> bytes:
    """The body, in Standard Webhooks' shape (id, type, timestamp, data).

    Built from the event as ``GET /api/v1/events/{id}`` shows it (``assina.events.public``): ``data``
    is that event's ``data`` (prefixed ids, times in UTC with a Z) plus ``object`` and
    ``object_id`` (its subject) and ``customer``. docs/webhooks.md documents the shape.
    """
    return body_bytes(webhook_body(public_event(event)))


def webhook_body(event: dict) -> dict:
    """The webhook body of an event in its public shape (``assina.events.public.public_events``)."""
    # The envelope's keys last: no event's data may pass for another object or customer.
    data = {**event["data"], "object": event["subject"]["type"], "object_id": event["subject"]["id"],
            "customer": event["customer"]}
    return {"id": event["id"], "type": event["type"], "timestamp": event["occurred_at"], "data": data}


def body_bytes(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


def _older_unfinished():
    return WebhookDelivery.objects.filter(endpoint_id=OuterRef("endpoint_id"), id__lt=OuterRef("id"),
                                          status__in=[S.PENDING, S.SENDING])


def release_stale_claims() -> int:
    return WebhookDelivery.objects.filter(status=S.SENDING, claimed_at__lt=timezone.now() - _claim_timeout()) \
        .update(status=S.PENDING, claimed_at=None)


def _due_heads(until: datetime, limit: int = 200) -> list[tuple[int, int, datetime]]:
    return list(WebhookDelivery.objects.filter(status=S.PENDING, next_attempt_at__lte=until, endpoint__enabled=True)
                .exclude(Exists(_older_unfinished())).order_by("next_attempt_at", "id")
                .values_list("id", "endpoint_id", "next_attempt_at")[:limit])


def claim(delivery_id: int) -> bool:
    """Take a delivery for sending; False when another worker has it (or an older one waits).
    One conditional UPDATE (``queries.claim_delivery`` says why it is written by hand)."""
    return claim_delivery(delivery_id, timezone.now())


@dataclass(frozen=True)
class Outgoing:
    """One claimed delivery, ready to send: everything the sending thread needs, no database."""

    delivery_id: int
    endpoint_id: int
    at: datetime
    url: str
    body: bytes
    headers: dict


@dataclass(frozen=True)
class Outcome:
    status: int | None
    text: str
    error: str
    duration_ms: int


def _concurrency() -> int:
    return max(1, int(_setting("ASSINA_WEBHOOK_CONCURRENCY", 8)))


def _attempt_seconds() -> float:
    return float(_setting("ASSINA_WEBHOOK_TIMEOUT", 20))


def send_due(until: datetime, *, at_due_time: bool, budget: int | None = None) -> Counter:
    """Send the deliveries due up to ``until``: at most ``budget`` attempts, several endpoints at
    once (``ASSINA_WEBHOOK_CONCURRENCY`` threads, which only talk HTTP; this thread claims and
    records), no new attempt after ``ASSINA_WEBHOOK_PASS_SECONDS``, each attempt cut at
    ``ASSINA_WEBHOOK_TIMEOUT``. A slow endpoint holds one thread, and only for that long: the
    other endpoints' deliveries go on, and the pass ends in bounded time, so the worker's next
    pass (renewals, retries, mail) is never held up by a receiver."""
    counts: Counter = Counter()
    attempts_left = budget or int(_setting("ASSINA_WEBHOOK_ATTEMPTS_PER_RUN", 1000))
    seconds = _attempt_seconds()
    stop_starting = time.monotonic() + float(_setting("ASSINA_WEBHOOK_PASS_SECONDS", 30))
    give_up = stop_starting + seconds + 5  # a thread still busy then is left behind, its attempt unanswered
    finished: dict[int, datetime] = {}  # endpoint -> when its previous delivery finished (test clock)
    in_flight: dict[Future, Outgoing] = {}
    pool: ThreadPoolExecutor | None = None  # built only when something is due (the client costs an SSL context)
    client: httpx.Client | None = None
    try:
        while True:
            room = min(attempts_left, _concurrency() - len(in_flight))
            if room > 0 and time.monotonic() < stop_starting:
                for outgoing in _claim_heads(until, at_due_time, finished, room):
                    if pool is None:
                        pool = ThreadPoolExecutor(max_workers=_concurrency(), thread_name_prefix="assina-webhook")
                        client = egress.client(_timeout(), max_connections=_concurrency())
                    in_flight[pool.submit(post, client, outgoing, seconds)] = outgoing
                    attempts_left -= 1
            if not in_flight:
                break
            done, _pending = wait(in_flight, timeout=max(0.0, give_up - time.monotonic()), return_when=FIRST_COMPLETED)
            if not done:
                for future, outgoing in in_flight.items():
                    future.cancel()
                    _finish(outgoing, Outcome(None, "", NO_ANSWER, int(seconds * 1000)), counts, finished)
                break
            for future in done:
                outgoing = in_flight.pop(future)
                _finish(outgoing, future.result(), counts, finished)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if client is not None:
            client.close()  # also ends the connection of a thread left behind
    return counts


def _claim_heads(until: datetime, at_due_time: bool, finished: dict[int, datetime], limit: int) -> list[Outgoing]:
    taken: list[Outgoing] = []
    for delivery_id, endpoint_id, due in _due_heads(until):
        if len(taken) >= limit:
            break
        at = max(due, finished.get(endpoint_id, due)) if at_due_time else until
        if at > until or not claim(delivery_id):
            continue
        taken.append(prepare(delivery_id, at))
    return taken


def _finish(outgoing: Outgoing, outcome: Outcome, counts: Counter, finished: dict[int, datetime]) -> None:
    succeeded = outcome.status is not None and 200 <= outcome.status < 300
    _record_attempt(outgoing.delivery_id, outgoing.at, outcome.status, outcome.text, outcome.error, outcome.duration_ms,
                    succeeded, False)
    counts["webhook_attempts"] += 1
    counts["webhooks_delivered" if succeeded else "webhook_failures"] += 1
    finished[outgoing.endpoint_id] = outgoing.at


def prepare(delivery_id: int, at: datetime) -> Outgoing:
    """The signed request of a claimed delivery."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = payload(delivery.event)
    headers = signing.headers(signing_secrets(endpoint, at), delivery.webhook_id, int(time.time()), body)
    return Outgoing(delivery_id, endpoint.pk, at, endpoint.url, body, headers)


def post(client: httpx.Client, outgoing: Outgoing, seconds: float) -> Outcome:
    """Send once (no database here: this runs in a sending thread).

    Whatever goes wrong before an HTTP status arrives (refused, reset, timed out, TLS, a
    malformed answer) is stored as one text: the attempt log must not tell an API key holder
    which ports of a host are open. A host without a public address is named as such; it was
    never connected to.
    """
    started = time.perf_counter()
    status, text, error = None, "", ""
    if settings.ASSINA_MODE == "live" and not outgoing.url.lower().startswith("https://"):
        return Outcome(None, "", NOT_HTTPS, 0)  # saved before the database went live
    try:
        with egress.deadline(seconds), client.stream("POST", outgoing.url, content=outgoing.body,
                                                     headers=outgoing.headers) as response:
            status = response.status_code
            text = _excerpt(response)
    except Exception as exc:  # noqa: BLE001 - any failure is this endpoint's, never the worker's
        if status is None:
            refused = isinstance(exc.__cause__, egress.Refused) or isinstance(exc, egress.Refused)
            error = NOT_PUBLIC if refused else NO_ANSWER
    return Outcome(status, text, error, int((time.perf_counter() - started) * 1000))


def _excerpt(response: httpx.Response) -> str:
    """The start of the answer, read no further than needed (a huge or endless body costs nothing)."""
    raw = b""
    for chunk in response.iter_bytes():
        raw += chunk
        if len(raw) >= BODY_EXCERPT * 4:
            break
    try:
        return raw.decode(response.encoding or "utf-8", errors="replace")[:BODY_EXCERPT]
    except LookupError:
        return raw.decode("utf-8", errors="replace")[:BODY_EXCERPT]


def signing_secrets(endpoint: WebhookEndpoint, at: datetime) -> list[str]:
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and at < endpoint.previous_secret_expires_at:
        secrets.append(endpoint.previous_secret)
    return secrets


def _record_attempt(delivery_id: int, at: datetime, status: int | None, text: str, error: str, duration: int,
                    succeeded: bool, manual: bool) -> None:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        WebhookAttempt.objects.create(delivery=delivery, attempted_at=at, response_status=status, response_body=text,
                                      error=error, duration_ms=duration, manual=manual)
        delivery.attempts += 1
        delivery.last_attempt_at = at
        delivery.last_response_status = status
        delivery.claimed_at = None
        if succeeded:
            delivery.status = S.SUCCEEDED
            delivery.delivered_at = at
            delivery.next_attempt_at = None
            if delivery.delivered_sequence is None:
                last = WebhookDelivery.objects.filter(endpoint_id=endpoint.pk).aggregate(m=Max("delivered_sequence"))["m"]
                delivery.delivered_sequence = (last or 0) + 1
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since"])
        else:
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status, delivery.next_attempt_at = S.FAILED, None
            else:
                delivery.status, delivery.next_attempt_at = S.PENDING, at + RETRY_DELAYS[delivery.attempts - 1]
            _note_failure(endpoint, at)
        delivery.save()


def _note_failure(endpoint: WebhookEndpoint, at: datetime) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = at
        endpoint.save(update_fields=["failing_since"])
        return
    days = int(_setting("ASSINA_WEBHOOK_DISABLE_AFTER_DAYS", 5))
    if endpoint.enabled and at - endpoint.failing_since >= timedelta(days=days):
        endpoint.enabled = False
        endpoint.disabled_at = at
        endpoint.disabled_reason = DISABLED_REASON % {"days": days}
        endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason"])
        record("webhook_endpoint.disabled", endpoint, at, {
            "endpoint": f"we_{endpoint.pk}", "url": endpoint.url, "failing_since": endpoint.failing_since.isoformat(),
            "reason": endpoint.disabled_reason})


def has_work(until: datetime) -> bool:
    """The job runner's check: events may need fanning out only while an endpoint is enabled,
    and deliveries wait only while one is pending or held by a sender (perhaps a dead one)."""
    return (WebhookEndpoint.objects.filter(enabled=True).exists()
            or WebhookDelivery.objects.filter(status__in=[S.PENDING, S.SENDING]).exists())


def run(until: datetime, *, at_due_time: bool) -> dict:
    """The worker job: fan out new events, free claims of dead workers, send what is due."""
    counts: Counter = Counter()
    created = fan_out(until, at_due_time=at_due_time)
    if created:
        counts["webhook_deliveries_created"] += created
    release_stale_claims()
    counts.update(send_due(until, at_due_time=at_due_time))
    return dict(counts)

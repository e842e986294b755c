"""/webhook_endpoints: create, list, get, update, delete, rotate the secret, list deliveries
(with each attempt's response) and re-send one. Mounted by ``assina.api``."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from assina.api.errors import nothing_to_change
from assina.api.ids import load
from assina.api.nul_characters import refuse_nul
from assina.api.pagination import object_pk, paginate
from assina.api.schemas import Deleted, Input, ListQuery, Page, Timestamp

from . import services, signing
from .models import WebhookDelivery, WebhookEndpoint

router = Router(tags=["webhook endpoints"])
PREFIX, DELIVERY_PREFIX = "we_", "whd_"
EventTypes = list[str]


class EndpointOut(Schema):
    id: str = Field(examples=["we_1"])
    object: str = "webhook_endpoint"
    url: str
    description: str
    event_types: EventTypes = Field(description="names (invoice.paid), prefixes (invoice.*) or *; empty = every event")
    enabled: bool
    failing_since: Timestamp | None = Field(description="first failed attempt of the current run of failures")
    disabled_at: Timestamp | None
    disabled_reason: str
    previous_secret_expires_at: Timestamp | None = Field(description="after a rotation, the old secret signs too until then")
    secret_hint: str = Field(examples=["whsec_…a1b2"],
                             description="the signing secret masked: tells which one you hold (the secret is shown once)")
    created_at: Timestamp


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="whsec_…: verify signatures with it (Standard Webhooks); shown on create and rotate only")


class EndpointCreate(Input):
    url: str = Field(max_length=2000, examples=["https://example.com/assina/webhooks"])
    description: str = Field("", max_length=200)
    event_types: EventTypes = Field(default_factory=list, max_length=100)
    enabled: bool = True


class EndpointUpdate(Input):
    url: str | None = Field(None, max_length=2000)
    description: str | None = Field(None, max_length=200)
    event_types: EventTypes | None = Field(None, max_length=100)
    enabled: bool | None = None


class AttemptOut(Schema):
    attempted_at: Timestamp
    response_status: int | None
    response_body: str = Field(description="the first 1,000 characters of the response")
    error: str = Field(description="why no HTTP answer came: one text for a refused, reset or timed-out connection "
                                   "(it never tells which), another for a host without a public address")
    duration_ms: int
    manual: bool


class DeliveryOut(Schema):
    id: str = Field(examples=["whd_1"])
    object: str = "webhook_delivery"
    endpoint: str
    event: str = Field(description="the event id, also the webhook-id header (the same on every retry)")
    event_type: str
    status: str = Field(description="pending, sending, succeeded or failed (gave up after about three days)")
    attempts: int
    next_attempt_at: Timestamp | None
    last_attempt_at: Timestamp | None
    last_response_status: int | None
    delivered_at: Timestamp | None
    delivered_sequence: int | None = Field(description="1, 2, 3… per endpoint: the order the receiver got them in")
    created_at: Timestamp
    attempt_log: list[AttemptOut] = Field(description="every attempt, newest first (up to 20)")


class DeliveryFilters(ListQuery):
    status: str | None = Field(None, max_length=12)


def endpoint_out(e: WebhookEndpoint, *, secret: bool = False) -> dict:
    out = {"id": f"{PREFIX}{e.pk}", "url": e.url, "description": e.description, "event_types": e.event_types,
           "enabled": e.enabled, "failing_since": e.failing_since, "disabled_at": e.disabled_at,
           "disabled_reason": e.disabled_reason, "previous_secret_expires_at": e.previous_secret_expires_at,
           "secret_hint": signing.mask(e.secret), "created_at": e.created_at}
    if secret:
        out["secret"] = e.secret
    return out


def delivery_out(d: WebhookDelivery) -> dict:
    return {"id": f"{DELIVERY_PREFIX}{d.pk}", "endpoint": f"{PREFIX}{d.endpoint_id}", "event": f"evt_{d.event_id}",
            "event_type": d.event.type, "status": d.status, "attempts": d.attempts, "next_attempt_at": d.next_attempt_at,
            "last_attempt_at": d.last_attempt_at, "last_response_status": d.last_response_status,
            "delivered_at": d.delivered_at, "delivered_sequence": d.delivered_sequence, "created_at": d.created_at,
            "attempt_log": [{"attempted_at": a.attempted_at, "response_status": a.response_status,
                             "response_body": a.response_body, "error": _(a.error) if a.error else "", "duration_ms": a.duration_ms,
                             "manual": a.manual} for a in d.attempt_log.all()[:20]]}


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    return load(WebhookEndpoint.objects.all(), PREFIX, endpoint_id, _("webhook endpoint"))


@router.post("", response={201: EndpointWithSecret}, summary="Create a webhook endpoint")
def create_endpoint(request, body: EndpointCreate):
    endpoint = services.create_endpoint(url=body.url, description=body.description, event_types=body.event_types,
                                        enabled=body.enabled)
    return Status(201, endpoint_out(endpoint, secret=True))


@router.get("", response=Page[EndpointOut], summary="List webhook endpoints")
def list_endpoints(request, query: Query[ListQuery]):
    return paginate(WebhookEndpoint.objects.all(), query, cursor_pk=lambda c: object_pk(PREFIX, c),
                    serialize=endpoint_out, ident=lambda e: f"{PREFIX}{e.pk}")


@router.get("/{endpoint_id}", response=EndpointOut, summary="Get a webhook endpoint")
def get_endpoint(request, endpoint_id: str):
    return endpoint_out(_endpoint(endpoint_id))


@router.post("/{endpoint_id}", response=EndpointOut, summary="Update a webhook endpoint")
def update_endpoint(request, endpoint_id: str, body: EndpointUpdate):
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if not changes:
        raise nothing_to_change()
    return endpoint_out(services.update_endpoint(_endpoint(endpoint_id).pk, **changes))


@router.delete("/{endpoint_id}", response=Deleted, summary="Delete a webhook endpoint")
def delete_endpoint(request, endpoint_id: str):
    endpoint = _endpoint(endpoint_id)
    services.delete_endpoint(endpoint.pk)
    return {"id": f"{PREFIX}{endpoint.pk}", "object": "webhook_endpoint", "deleted": True}


@router.post("/{endpoint_id}/rotate_secret", response=EndpointWithSecret,
             summary="Rotate the signing secret (the old one keeps signing for 24 hours)")
def rotate_secret(request, endpoint_id: str):
    return endpoint_out(services.rotate_secret(_endpoint(endpoint_id).pk), secret=True)


@router.get("/{endpoint_id}/deliveries", response=Page[DeliveryOut], summary="List an endpoint's deliveries")
def list_deliveries(request, endpoint_id: str, query: Query[DeliveryFilters]):
    rows = WebhookDelivery.objects.filter(endpoint=_endpoint(endpoint_id)).select_related("event").prefetch_related("attempt_log")
    refuse_nul(query.status)
    if query.status:
        rows = rows.filter(status=query.status)
    return paginate(rows, query, cursor_pk=lambda c: object_pk(DELIVERY_PREFIX, c), serialize=delivery_out,
                    ident=lambda d: f"{DELIVERY_PREFIX}{d.pk}")


@router.get("/{endpoint_id}/deliveries/{delivery_id}", response=DeliveryOut, summary="Get a delivery and its attempts")
def get_delivery(request, endpoint_id: str, delivery_id: str):
    endpoint = _endpoint(endpoint_id)
    return delivery_out(load(endpoint.deliveries.select_related("event"), DELIVERY_PREFIX, delivery_id, _("delivery")))


@router.post("/{endpoint_id}/deliveries/{delivery_id}/redeliver", response=DeliveryOut,
             summary="Send a delivery again (queued for the worker, same webhook-id)")
def redeliver(request, endpoint_id: str, delivery_id: str):
    endpoint = _endpoint(endpoint_id)
    delivery = load(endpoint.deliveries.all(), DELIVERY_PREFIX, delivery_id, _("delivery"))
    services.redeliver(endpoint.pk, delivery.pk)
    return delivery_out(WebhookDelivery.objects.select_related("event").get(pk=delivery.pk))

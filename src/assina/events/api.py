"""/events: everything that happened, filtered by type, customer and time. Mounted by ``assina.api.main``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from assina.api.ids import ident, load
from assina.api.pagination import object_pk, paginate
from assina.api.schemas import ListQuery, Page, Timestamp

from .models import Event
from .public import EVENT_PREFIX as PREFIX
from .public import public_event, public_events

router = Router(tags=["events"])


class EventSubject(Schema):
    type: str = Field(description="the API's object name: customer, subscription, invoice, payment_method, plan, "
                                  "coupon, promotion_code, webhook_endpoint, refund, payment_attempt…",
                      examples=["subscription"])
    id: str = Field(description="the object's id as the API writes it (sub_7, in_31, pm_4; plans, products, "
                                "coupons and metrics by their code)", examples=["sub_7"])


class EventObject(Schema):
    id: str = Field(examples=["evt_1"])
    object: str = "event"
    type: str = Field(examples=["subscription.created"])
    occurred_at: Timestamp
    customer: str | None = Field(description="the customer it concerns (cus_12), if any")
    subject: EventSubject
    data: dict[str, Any] = Field(description="what the event says, by type (docs/webhooks.md): ids carry their "
                                             "prefix (\"invoice\": \"in_31\"), times are ISO 8601 UTC with a Z, "
                                             "amounts are minor units next to their currency",
                                 examples=[{"invoice": "in_31", "number": "2027-000031", "subscription": "sub_7",
                                            "total": 4990, "amount_due": 4990, "currency": "BRL",
                                            "billing_reason": "subscription_cycle",
                                            "period_start": "2027-01-31T10:00:00Z"}])


class EventFilters(ListQuery):
    type: str | None = Field(None, max_length=64, description="an event type, or a prefix ending in * (subscription.*)")
    customer: str | None = Field(None, max_length=40)


@router.get("", response=Page[EventObject], summary="List events",
            description="`created[...]` filters on the time the event happened (the business clock).")
def list_events(request, query: Query[EventFilters]):
    rows = Event.objects.all()
    if query.type:
        rows = rows.filter(type__startswith=query.type[:-1]) if query.type.endswith("*") else rows.filter(type=query.type)
    if query.customer:
        rows = rows.filter(customer_id=object_pk("cus_", query.customer) or 0)
    return paginate(rows, query, cursor_pk=lambda c: object_pk(PREFIX, c), serialize=public_events, many=True,
                    ident=lambda e: ident(PREFIX, e.pk), created_field="occurred_at")


@router.get("/{event_id}", response=EventObject, summary="Get an event")
def get(request, event_id: str):
    return public_event(load(Event.objects.all(), PREFIX, event_id, _("event")))

"""/events: everything that happened, filtered by type, customer and time."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from assina.events.models import Event

from ..pagination import object_pk, paginate
from ..schemas import ListQuery, Page, Timestamp
from .common import ident, load

router = Router(tags=["events"])
PREFIX = "evt_"
# Subjects whose API ids have a prefix; others are shown by their number.
SUBJECT_PREFIXES = {"customer": "cus_", "subscription": "sub_", "invoice": "in_", "paymentmethod": "pm_",
                    "promotioncode": "promo_"}


class EventSubject(Schema):
    type: str
    id: str


class EventObject(Schema):
    id: str = Field(examples=["evt_1"])
    object: str = "event"
    type: str = Field(examples=["subscription.created"])
    occurred_at: Timestamp
    customer: str | None
    subject: EventSubject
    data: dict


class EventFilters(ListQuery):
    type: str | None = Field(None, max_length=64, description="an event type, or a prefix ending in * (subscription.*)")
    customer: str | None = Field(None, max_length=40)


def event_out(e: Event) -> dict:
    prefix = SUBJECT_PREFIXES.get(e.subject_type, "")
    return {"id": ident(PREFIX, e.pk), "type": e.type, "occurred_at": e.occurred_at,
            "customer": ident("cus_", e.customer_id), "subject": {"type": e.subject_type, "id": f"{prefix}{e.subject_id}"},
            "data": e.data}


@router.get("", response=Page[EventObject], summary="List events",
            description="`created[...]` filters on the time the event happened (the business clock).")
def list_events(request, query: Query[EventFilters]):
    rows = Event.objects.all()
    if query.type:
        rows = rows.filter(type__startswith=query.type[:-1]) if query.type.endswith("*") else rows.filter(type=query.type)
    if query.customer:
        rows = rows.filter(customer_id=object_pk("cus_", query.customer) or 0)
    return paginate(rows, query, cursor_pk=lambda c: object_pk(PREFIX, c), serialize=event_out,
                    ident=lambda e: ident(PREFIX, e.pk), created_field="occurred_at")


@router.get("/{event_id}", response=EventObject, summary="Get an event")
def get(request, event_id: str):
    return event_out(load(Event.objects.all(), PREFIX, event_id, _("event")))

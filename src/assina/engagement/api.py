"""/engagement_events (one, or a batch of up to 1,000) and /customers/{id}/notes. Mounted by
``assina.api.main`` at "" (full paths here).

The event bodies are read as usage bodies are (``assina.engagement.wire``: msgspec, with the
strict pydantic schemas below as the contract and the judge of what it refuses), then stored by
``assina.engagement.ingest`` (two statements per batch, whatever its size). A batch is all or
nothing: one bad event refuses it with every problem listed (``errors``), nothing stored.
"""

from __future__ import annotations

from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime, BaseModel, ConfigDict

from assina.api.errors import ApiProblem
from assina.api.ids import ident
from assina.api.pagination import object_pk, paginate
from assina.api.schemas import Input, ListQuery, Page, Timestamp
from assina.core.errors import DomainError
from assina.usage.api import body_validator, inline_body_schema

from . import wire
from .ingest import max_batch
from .models import CustomerNote
from .services import add_note, record_api_events

router = Router(tags=["engagement"])
NOTE_PREFIX = "note_"
PropertyValue = str | int | float | bool | None


class EngagementEventIn(BaseModel):
    # The contract of an engagement event. Bodies are read by assina.engagement.wire, which only
    # calls this model for what msgspec refuses: keep the two in step. strict: JSON types as
    # declared. NaN and infinities are not JSON: refused here.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    id: str = Field(min_length=1, max_length=128, description="your id of this event: re-sending the same id stores "
                    "nothing (it is reported as a duplicate)", examples=["evt_2027_0001"])
    customer: str | None = Field(None, max_length=40, description="the customer's id (cus_…); or give customer_email",
                                 examples=["cus_1"])
    customer_email: str | None = Field(None, max_length=254, description="the customer's email, instead of customer")
    name: str = Field(min_length=1, max_length=64, pattern=wire.NAME_PATTERN,
                      description="what the customer did: letters, digits, _ . : / -", examples=["report_exported"])
    timestamp: AwareDatetime = Field(description="when it happened (ISO 8601 with zone)",
                                     examples=["2027-01-31T10:00:00Z"])
    value: float | None = Field(None, ge=-wire.MAX_VALUE, le=wire.MAX_VALUE,
                                description="an optional number (minutes used, items exported)")
    properties: dict[str, PropertyValue] = Field(default_factory=dict, max_length=50,
                                                 description="your key/values (up to 50)")


class EngagementBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    events: list[EngagementEventIn] = Field(description="up to 1,000 events; a batch is stored all or nothing")


class EventRecorded(Schema):
    object: str = "engagement_event_receipt"
    id: str
    duplicate: bool = Field(description="true when this id was already stored (nothing stored now)")


class BatchRecorded(Schema):
    object: str = "engagement_batch_receipt"
    received: int
    stored: int
    duplicates: list[str] = Field(description="ids already stored (not stored again)")


_validate_event = body_validator(EngagementEventIn)
_validate_batch = body_validator(EngagementBatchIn)


def _record(events: list, body: bytes):
    try:
        return record_api_events(events, nul_possible=wire.may_contain_nul(body))
    except DomainError as exc:
        raise ApiProblem(getattr(exc, "status", 422), exc.code, exc.message, errors=getattr(exc, "errors", None)) from exc


@router.post("/engagement_events", response={200: EventRecorded}, summary="Record one engagement event",
             operation_id="create_engagement_event", openapi_extra=inline_body_schema(EngagementEventIn, EngagementEventIn))
def create_engagement_event(request):
    body = request.body or b""
    event = wire.decode_event(body, _validate_event)
    result = _record([event], body)
    return {"id": event.id, "duplicate": bool(result.duplicates)}


@router.post("/engagement_events/batch", response={200: BatchRecorded}, summary="Record up to 1,000 engagement events",
             operation_id="create_engagement_batch", openapi_extra=inline_body_schema(EngagementBatchIn, EngagementEventIn))
def create_engagement_batch(request):
    body = request.body or b""
    events = wire.decode_batch(body, _validate_batch)
    if len(events) > max_batch():
        raise ApiProblem(413, "batch_too_large", _("a batch holds at most %(max)d events; this one has %(count)d")
                         % {"max": max_batch(), "count": len(events)})
    result = _record(events, body)
    return {"received": result.received, "stored": result.stored, "duplicates": result.duplicates}


# --- notes ---------------------------------------------------------------------------------------

class NoteIn(Input):
    kind: Literal["note", "call", "ticket", "meeting"] = Field("note", description="note, call, ticket or meeting")
    body: str = Field(min_length=1, max_length=20_000, description="what was said or decided")
    occurred_at: Timestamp | None = Field(None, description="when it happened (default: now; not in the future)")


class NoteOut(Schema):
    id: str = Field(examples=["note_1"])
    object: str = "customer_note"
    customer: str
    kind: str
    body: str
    occurred_at: Timestamp
    created_at: Timestamp


class NoteListQuery(ListQuery):
    kind: Literal["note", "call", "ticket", "meeting"] | None = None


def note_out(n: CustomerNote) -> dict[str, Any]:
    return {"id": ident(NOTE_PREFIX, n.pk), "customer": ident("cus_", n.customer_id), "kind": n.kind, "body": n.body,
            "occurred_at": n.occurred_at, "created_at": n.created_at}


@router.post("/customers/{customer_id}/notes", response={201: NoteOut}, summary="Add a note on a customer",
             operation_id="create_customer_note",
             description="A note or a support interaction (call, ticket, meeting); it appears on the customer's timeline.")
def create_note(request, customer_id: str, body: NoteIn):
    from assina.customers.api import load_customer

    customer = load_customer(customer_id)
    note = add_note(customer, kind=body.kind, body=body.body, occurred_at=body.occurred_at)
    return Status(201, note_out(note))


@router.get("/customers/{customer_id}/notes", response=Page[NoteOut], summary="List a customer's notes",
            operation_id="list_customer_notes")
def list_notes(request, customer_id: str, query: Query[NoteListQuery]):
    from assina.customers.api import load_customer

    customer = load_customer(customer_id)
    notes = CustomerNote.objects.filter(customer=customer)
    if query.kind:
        notes = notes.filter(kind=query.kind)
    return paginate(notes, query, cursor_pk=lambda c: object_pk(NOTE_PREFIX, c), serialize=note_out,
                    ident=lambda n: ident(NOTE_PREFIX, n.pk))

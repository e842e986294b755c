"""/usage: record usage events (one, or a batch of up to 1,000) and list what was received.

Mounted by ``assina.api`` at /api/v1/usage. The batch endpoint is the fast path: a light schema,
then ``assina.usage.ingest`` (a few statements per batch, whatever its size).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import AwareDatetime, BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from assina.api.errors import ApiProblem
from assina.api.pagination import object_pk, paginate
from assina.api.schemas import ListQuery, Page, Timestamp
from assina.catalog.models import Metric
from assina.core.errors import DomainError

from .ingest import max_batch
from .models import UsageEvent
from .services import record_usage

router = Router(tags=["usage"])
PREFIX = "ue_"
PropertyValue = str | int | float | bool | None


class UsageEventIn(BaseModel):
    # Plain pydantic models, not ninja Schemas: a Schema runs a Python root validator per object,
    # which costs more than storing the event; these validate in pydantic's compiled core.
    # NaN and infinities are not JSON: refused here, not by the database.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(min_length=1, max_length=128, description="your id of this event: re-sending the same id "
                    "for the same customer stores nothing (it is reported as a duplicate)", examples=["evt_2027_0001"])
    customer: str | None = Field(None, max_length=40, description="the customer's id (cus_…); or give customer_email",
                                 examples=["cus_1"])
    customer_email: str | None = Field(None, max_length=254, description="the customer's email, instead of customer")
    metric: str = Field(min_length=1, max_length=64, description="a metric code", examples=["api_calls"])
    value: int = Field(1, ge=0, le=10**12, description="a whole number (count in the smallest unit you bill, e.g. MB)")
    timestamp: AwareDatetime = Field(description="when the usage happened (ISO 8601 with zone); it decides the period billed",
                                     examples=["2027-01-31T10:00:00Z"])
    properties: dict[str, PropertyValue] = Field(default_factory=dict, max_length=50,
                                                 description="your key/values; a unique-count metric counts distinct "
                                                 "values of one of them")


class UsageBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    events: list[UsageEventIn] = Field(description="up to 1,000 events; a batch is stored all or nothing")


class UsageRecorded(Schema):
    object: str = "usage_event_receipt"
    id: str
    duplicate: bool = Field(description="true when this id was already stored for this customer (nothing stored now)")


class UsageBatchRecorded(Schema):
    object: str = "usage_batch_receipt"
    received: int
    stored: int
    duplicates: list[str] = Field(description="ids already stored (not stored again)")


class UsageEventOut(Schema):
    id: str
    object: str = "usage_event"
    event_id: str
    customer: str
    metric: str
    value: int
    timestamp: Timestamp
    properties: dict[str, Any]
    received_at: Timestamp
    billed: bool
    billed_subscription: str | None
    late: bool = Field(description="arrived after its period was billed: billed on a later invoice as late usage")


class UsageListQuery(ListQuery):
    customer: str | None = Field(None, max_length=40)
    metric: str | None = Field(None, max_length=64)
    late: bool | None = Field(None, description="only late events (true) or only on-time ones (false)")
    billed: bool | None = None


class MetricOut(Schema):
    id: str
    object: str = "metric"
    code: str
    name: str
    aggregation: str
    unique_property: str


def refuse_nul(*values: str | None) -> None:
    """PostgreSQL cannot store or compare text with a NUL character: a clear 422, not a 500."""
    if any(value is not None and "\x00" in value for value in values):
        raise ApiProblem(422, "validation_error", _("text cannot contain the NUL character"))


def _record(events: list[UsageEventIn]):
    try:
        return record_usage(events)
    except DomainError as exc:
        raise ApiProblem(getattr(exc, "status", 422), exc.code, exc.message, errors=getattr(exc, "errors", None)) from exc


@router.post("", response={200: UsageRecorded}, summary="Record one usage event", operation_id="create_usage_event")
def create_usage_event(request, payload: UsageEventIn):
    result = _record([payload])
    return {"id": payload.id, "duplicate": bool(result.duplicates)}


def _batch_schema() -> dict:
    """The batch body's JSON schema with the event schema inlined (the spec has no $defs)."""
    schema = UsageBatchIn.model_json_schema()
    event = schema.pop("$defs")["UsageEventIn"]
    schema["properties"]["events"]["items"] = event
    return schema


@router.post("/batch", response={200: UsageBatchRecorded}, summary="Record up to 1,000 usage events",
             operation_id="create_usage_batch",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _batch_schema()}}}})
def create_usage_batch(request):
    # The body is parsed and validated in one pass by pydantic's compiled core (no json.loads
    # then a second walk over 1,000 dicts): the hot path of usage ingestion.
    try:
        payload = UsageBatchIn.model_validate_json(request.body or b"")
    except PydanticValidationError as exc:
        raise NinjaValidationError([{**e, "loc": ("body", *e["loc"])} for e in
                                    exc.errors(include_url=False, include_context=False, include_input=False)]) from None
    if len(payload.events) > max_batch():
        raise ApiProblem(413, "batch_too_large", _("a batch holds at most %(max)d events; this one has %(count)d")
                         % {"max": max_batch(), "count": len(payload.events)})
    result = _record(payload.events)
    return {"received": result.received, "stored": result.stored, "duplicates": result.duplicates}


def _event_out(e: UsageEvent) -> dict:
    return {"id": f"{PREFIX}{e.pk}", "event_id": e.event_id, "customer": f"cus_{e.customer_id}", "metric": e.metric_code,
            "value": e.value, "timestamp": e.timestamp, "properties": e.properties, "received_at": e.received_at,
            "billed": e.billed_subscription_id is not None,
            "billed_subscription": f"sub_{e.billed_subscription_id}" if e.billed_subscription_id else None, "late": e.late}


@router.get("", response=Page[UsageEventOut], summary="List usage events", operation_id="list_usage_events")
def list_usage_events(request, query: Query[UsageListQuery]):
    refuse_nul(query.metric, query.customer)
    events = UsageEvent.objects.all()
    if query.customer is not None:
        events = events.filter(customer_id=object_pk("cus_", query.customer) or 0)
    if query.metric is not None:
        events = events.filter(metric_code=query.metric)
    if query.late is not None:
        events = events.filter(late=query.late)
    if query.billed is not None:
        events = events.filter(billed_subscription_id__isnull=not query.billed)
    return paginate(events, query, cursor_pk=lambda c: object_pk(PREFIX, c), serialize=_event_out,
                    ident=lambda e: f"{PREFIX}{e.pk}", created_field="received_at")


@router.get("/metrics", response=list[MetricOut], summary="List metrics", operation_id="list_metrics")
def list_metrics(request):
    return [{"id": f"mtr_{m.pk}", "code": m.code, "name": m.name, "aggregation": m.aggregation,
             "unique_property": m.unique_property} for m in Metric.objects.order_by("code")]

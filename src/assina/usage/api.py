"""/usage: record usage events (one, or a batch of up to 1,000) and list what was received.

Mounted by ``assina.api`` at /api/v1/usage. The batch endpoint is the fast path: the body is
read by ``assina.usage.wire`` (msgspec, with the strict pydantic schemas below as the contract
and the judge of what it refuses), then ``assina.usage.ingest`` (a few statements per batch,
whatever its size).
"""

from __future__ import annotations

from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from assina.api.errors import ApiProblem
from assina.api.nul_characters import refuse_nul
from assina.api.pagination import object_pk, paginate
from assina.api.schemas import ListQuery, Page, Timestamp
from assina.catalog.models import Metric
from assina.core.errors import DomainError

from . import settle, wire
from .ingest import max_batch
from .models import UsageEvent
from .services import record_usage

router = Router(tags=["usage"])
PREFIX = "ue_"
PropertyValue = str | int | float | bool | None


class UsageEventIn(BaseModel):
    # The contract of a usage event (OpenAPI schema, error messages). Bodies are read by
    # assina.usage.wire, which only calls this model for what msgspec refuses: keep the two in
    # step. strict: JSON types as declared (no "3" for 3, no true for 1, no 3.0 for 3).
    # NaN and infinities are not JSON: refused here, not by the database.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

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
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

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


def _true_or_false(value: Any) -> Any:
    """Only true or false: pydantic would also read 1/0, yes/no, on/off and t/f as booleans."""
    if isinstance(value, str) and value not in ("true", "false"):
        raise ValueError("a boolean is true or false")
    return value


QueryBool = Annotated[bool | None, BeforeValidator(_true_or_false)]


class UsageListQuery(ListQuery):
    customer: str | None = Field(None, max_length=40)
    metric: str | None = Field(None, max_length=64)
    late: QueryBool = Field(None, description="only late events (true) or only on-time ones (false)")
    billed: QueryBool = Field(None, description="only billed events (true) or only unbilled ones (false)")


class MetricOut(Schema):
    id: str
    object: str = "metric"
    code: str
    name: str
    aggregation: str
    unique_property: str


def _record(events: list, body: bytes):
    try:
        return record_usage(events, nul_possible=wire.may_contain_nul(body))
    except DomainError as exc:
        raise ApiProblem(getattr(exc, "status", 422), exc.code, exc.message, errors=getattr(exc, "errors", None)) from exc


def body_validator(model: type[BaseModel]):
    """The pydantic model's own validation of a JSON body, its errors as ninja's (a 422 or a 400
    problem): for the bodies msgspec refuses (usage's and engagement's ``wire``)."""
    def validate(body: bytes):
        try:
            return model.model_validate_json(body)
        except PydanticValidationError as exc:
            raise NinjaValidationError([{**e, "loc": ("body", *e["loc"])} for e in
                                        exc.errors(include_url=False, include_context=False, include_input=False)]) from None
    return validate


_validate_event = body_validator(UsageEventIn)
_validate_batch = body_validator(UsageBatchIn)


def inline_body_schema(model: type[BaseModel], event: type[BaseModel]) -> dict:
    """A body's JSON schema with the ``event`` schema inlined (the spec has no $defs)."""
    schema = model.model_json_schema()
    inlined = schema.pop("$defs", {}).get(event.__name__)
    if inlined is not None:
        schema["properties"]["events"]["items"] = inlined
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# Both bodies are read by assina.usage.wire, not by ninja: the schemas are given to the spec here.
@router.post("", response={200: UsageRecorded}, summary="Record one usage event", operation_id="create_usage_event",
             openapi_extra=inline_body_schema(UsageEventIn, UsageEventIn))
def create_usage_event(request):
    body = request.body or b""
    event = wire.decode_event(body, _validate_event)
    result = _record([event], body)
    return {"id": event.id, "duplicate": bool(result.duplicates)}


@router.post("/batch", response={200: UsageBatchRecorded}, summary="Record up to 1,000 usage events",
             operation_id="create_usage_batch", openapi_extra=inline_body_schema(UsageBatchIn, UsageEventIn))
def create_usage_batch(request):
    body = request.body or b""
    events = wire.decode_batch(body, _validate_batch)
    if len(events) > max_batch():
        raise ApiProblem(413, "batch_too_large", _("a batch holds at most %(max)d events; this one has %(count)d")
                         % {"max": max_batch(), "count": len(events)})
    result = _record(events, body)
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
        events = events.filter(settle.of_customer(object_pk("cus_", query.customer) or 0))
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

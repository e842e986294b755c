"""Reading engagement request bodies fast: msgspec first, the documented pydantic schema as the judge.

As for usage batches (``assina.usage.wire``): the pydantic models in ``assina.engagement.api``
are the contract (OpenAPI schema, error messages); a body is first decoded by msgspec into the
structs below, which accept a subset of what those models accept and give the same values.
Whatever msgspec refuses, and a time with more than 6 fraction digits (msgspec rounds them,
pydantic truncates), goes to the pydantic model, which gives the 4xx or accepts the body.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Callable, TypeVar

import msgspec
from msgspec import Meta

from assina.usage.wire import may_contain_nul  # noqa: F401  (re-exported: the same check for both bodies)

PropertyValue = str | int | float | bool | None
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"
MAX_VALUE = 1e15

# Keep in step with EngagementEventIn in assina.engagement.api (tests/integration/test_engagement_api.py checks).
EventId = Annotated[str, Meta(min_length=1, max_length=128)]
CustomerRef = Annotated[str, Meta(max_length=40)]
Email = Annotated[str, Meta(max_length=254)]
Name = Annotated[str, Meta(min_length=1, max_length=64, pattern=NAME_PATTERN)]
Value = Annotated[float, Meta(ge=-MAX_VALUE, le=MAX_VALUE)]
AwareTime = Annotated[datetime, Meta(tz=True)]
Properties = Annotated[dict[str, PropertyValue], Meta(max_length=50)]


class EngagementEventStruct(msgspec.Struct, forbid_unknown_fields=True):
    id: EventId
    name: Name
    timestamp: AwareTime
    customer: CustomerRef | None = None
    customer_email: Email | None = None
    value: Value | None = None
    properties: Properties = msgspec.field(default_factory=dict)


class EngagementBatchStruct(msgspec.Struct, forbid_unknown_fields=True):
    events: list[EngagementEventStruct]


_batch = msgspec.json.Decoder(EngagementBatchStruct)
_event = msgspec.json.Decoder(EngagementEventStruct)
_SUB_MICROSECOND = re.compile(rb"[0-9]:[0-9]{2}\.[0-9]{7}")

T = TypeVar("T")


def _decode(body: bytes, fast: Callable[[bytes], T], slow: Callable[[bytes], T]) -> T:
    if not _SUB_MICROSECOND.search(body):
        try:
            return fast(body)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
            pass
    return slow(body)


def decode_batch(body: bytes, slow: Callable[[bytes], T]) -> list:
    """The events of a batch body; ``slow`` (the pydantic model's validation) judges what msgspec refuses."""
    return _decode(body, _batch.decode, slow).events


def decode_event(body: bytes, slow: Callable[[bytes], T]):
    return _decode(body, _event.decode, slow)

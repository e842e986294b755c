"""Reading usage request bodies fast: msgspec first, the documented pydantic schema as the judge.

The pydantic models in ``assina.usage.api`` are the contract (the OpenAPI schema, the error
messages). Validating 1,000 events with them costs more than storing the events, so a body is
first decoded by msgspec into the typed structs below, which accept a subset of what those
models accept and give the same values: strict JSON types (no ``"3"`` for 3, no ``true`` for 1,
no 3.0 for 3), the same bounds, unknown fields refused, timestamps with a zone. Whatever msgspec
refuses, and the rare body msgspec would read differently, goes to the pydantic model: it
either gives the same 4xx as before or accepts the body (e.g. a timestamp without seconds,
which RFC 3339 does not allow but ISO 8601 does).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Callable, TypeVar

import msgspec
from msgspec import Meta

PropertyValue = str | int | float | bool | None

# Keep in step with UsageEventIn in assina.usage.api (tests/integration/test_usage_wire.py checks).
EventId = Annotated[str, Meta(min_length=1, max_length=128)]
CustomerRef = Annotated[str, Meta(max_length=40)]
Email = Annotated[str, Meta(max_length=254)]
MetricCode = Annotated[str, Meta(min_length=1, max_length=64)]
Value = Annotated[int, Meta(ge=0, le=10**12)]
AwareTime = Annotated[datetime, Meta(tz=True)]
Properties = Annotated[dict[str, PropertyValue], Meta(max_length=50)]


class UsageEventStruct(msgspec.Struct, forbid_unknown_fields=True):
    id: EventId
    metric: MetricCode
    timestamp: AwareTime
    customer: CustomerRef | None = None
    customer_email: Email | None = None
    value: Value = 1
    properties: Properties = msgspec.field(default_factory=dict)


class UsageBatchStruct(msgspec.Struct, forbid_unknown_fields=True):
    events: list[UsageEventStruct]


_batch = msgspec.json.Decoder(UsageBatchStruct)
_event = msgspec.json.Decoder(UsageEventStruct)

# msgspec rounds fractions of a second past microseconds, pydantic truncates them: a body with a
# time of 7 or more fraction digits ("10:00:00.1234567") is left to pydantic so both read the
# same instant. A digit before the colon: JSON syntax never has one (":12.1234567" is a number).
_SUB_MICROSECOND = re.compile(rb"[0-9]:[0-9]{2}\.[0-9]{7}")
# Searching for that pattern walks a 150 kB body in 1.5 ms (it starts with a digit, and most
# bytes are); its literal part, the dot, is found six times faster. Each dot followed by 7 digits
# (a time's fraction, or a number in the properties) is then checked in place.
_SEVEN_DECIMALS = re.compile(rb"\.[0-9]{7}")


def _sub_microsecond(body: bytes) -> bool:
    for found in _SEVEN_DECIMALS.finditer(body):
        start = found.start() - 4
        if start >= 0 and _SUB_MICROSECOND.match(body, start):
            return True
    return False

T = TypeVar("T")


def _decode(body: bytes, fast: Callable[[bytes], T], slow: Callable[[bytes], T]) -> T:
    if not _sub_microsecond(body):
        try:
            return fast(body)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
            pass
    return slow(body)


def decode_batch(body: bytes, slow: Callable[[bytes], T]) -> list[UsageEventStruct] | T:
    """The events of a batch body; ``slow`` (the pydantic model's validation) judges what msgspec refuses."""
    result = _decode(body, _batch.decode, slow)
    return result.events


def decode_event(body: bytes, slow: Callable[[bytes], T]) -> UsageEventStruct | T:
    return _decode(body, _event.decode, slow)


def may_contain_nul(body: bytes) -> bool:
    """False when no text in the JSON body can hold a NUL character.

    JSON text cannot carry a raw NUL byte (control characters must be escaped; both parsers
    refuse them), so a NUL in a decoded string comes from the escape ``\\u0000``. An escaped
    backslash followed by ``u0000`` also matches: that only costs the exact per-event check.
    """
    return b"\\u0000" in body

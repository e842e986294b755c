"""Types shared by the apps' routes: strict request bodies, UTC timestamps, money, lists and their filters."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Generic, Literal, TypeVar

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

T = TypeVar("T")


def _utc_text(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _iso_only(value):
    """Only ISO 8601 text (or a datetime): pydantic would also take numbers as Unix times."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("a time is ISO 8601 text, e.g. 2027-01-31T10:00:00Z")
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("a time is ISO 8601 text, e.g. 2027-01-31T10:00:00Z") from None


def _require_zone(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a time must include its zone, e.g. 2027-01-31T10:00:00Z")
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC: a 422, not a 500
        raise ValueError("a time must fall between the years 1 and 9999 in UTC") from None


# Out: ISO 8601 in UTC with a Z. In: ISO 8601 with a zone (any zone; converted to UTC).
Timestamp = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_require_zone), PlainSerializer(_utc_text, return_type=str),
                      WithJsonSchema({"type": "string", "format": "date-time", "example": "2027-01-31T10:00:00Z"})]
# Amounts are integers in the currency's minor unit (cents): 4990 BRL is R$ 49,90.
Amount = Annotated[int, Field(description="minor units of the currency (cents): 4990 is 49.90", ge=-(10**15), le=10**15)]
Currency = Annotated[str, Field(description="ISO 4217 code, e.g. BRL", pattern=r"^[A-Za-z]{3}$", examples=["BRL"])]
Metadata = Annotated[dict[str, str], Field(description="your own key/value pairs (strings, up to 50 keys)", max_length=50)]


class Input(Schema):
    """A request body: unknown fields are refused (a typo must not be silently ignored)."""

    # strict: JSON types as declared (no "5" for 5, no 0 for false).
    model_config = ConfigDict(extra="forbid", strict=True)


class Page(Schema, Generic[T]):
    """One page of a list, oldest first; pass ``next_cursor`` as ``starting_after`` for the next."""

    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool
    next_cursor: str | None = Field(None, description="the id to pass as starting_after for the next page")


class ListQuery(Schema):
    limit: int = Field(10, ge=1, le=100, description="how many objects per page (1 to 100)")
    starting_after: str | None = Field(None, max_length=100, description="the id of the last object of the previous page")
    created_gte: Timestamp | None = Field(None, alias="created[gte]", description="created at or after")
    created_gt: Timestamp | None = Field(None, alias="created[gt]", description="created after")
    created_lte: Timestamp | None = Field(None, alias="created[lte]", description="created at or before")
    created_lt: Timestamp | None = Field(None, alias="created[lt]", description="created before")


class Deleted(Schema):
    id: str
    object: str
    deleted: bool = True


def to_dict(obj: Any) -> Any:
    return obj

"""Helpers the resource routers share: ids, lookups, strict input schemas."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import ConfigDict

from ..errors import ApiProblem, not_found
from ..pagination import object_pk


class Input(Schema):
    """A request body: unknown fields are refused (a typo must not be silently ignored)."""

    # strict: JSON types as declared (no "5" for 5, no 0 for false).
    model_config = ConfigDict(extra="forbid", strict=True)


def ident(prefix: str, pk: int | None) -> str | None:
    return f"{prefix}{pk}" if pk is not None else None


def load(queryset, prefix: str, value: str, kind: str):
    """The row behind ``<prefix><pk>`` or a 404 problem."""
    pk = object_pk(prefix, value)
    row = queryset.filter(pk=pk).first() if pk is not None else None
    if row is None:
        raise not_found(kind, value)
    return row


def nothing_to_change() -> ApiProblem:
    return ApiProblem(422, "nothing_to_change", _("say what to change"))

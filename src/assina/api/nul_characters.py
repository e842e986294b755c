"""Refuse the NUL character (U+0000) anywhere in a request: path, query string or JSON body.

No field of Assina (codes, emails, names, metadata...) has a use for it, and PostgreSQL cannot
store it in text or JSONB at all: let through, it failed deep inside a query as a 500 on
PostgreSQL while SQLite stored it. Refused up front, both engines answer the same
``422 validation_error`` with the place it was found, before anything runs.
"""

from __future__ import annotations

import json

from django.http import HttpRequest
from django.utils.translation import gettext as _

from .errors import ApiProblem


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def body_has_nul(body: bytes) -> bool:
    # JSON can only carry a NUL as the escape \u0000 (a raw one is invalid JSON, refused as
    # such): no escape, no NUL -- a byte search, not a parse, for every body.
    if b"\\u0000" not in body:
        return False
    try:
        return _contains_nul(json.loads(body))
    except ValueError:  # not JSON: the operation answers invalid_json
        return False


def where_nul(request: HttpRequest, body: bytes | None) -> str | None:
    """``"path"``, ``"query"`` or ``"body"``: where the request carries a NUL, if it does."""
    if "\x00" in request.path_info:
        return "path"
    # A NUL in a query value can only be sent percent-encoded, and "%00" always decodes to one.
    if "%00" in request.META.get("QUERY_STRING", ""):
        return "query"
    if body and body_has_nul(body):
        return "body"
    return None


def nul_problem(place: str) -> ApiProblem:
    message = _("the NUL character (\\u0000) is not accepted in any value")
    return ApiProblem(422, "validation_error", _("the request does not match the schema: see errors"),
                      errors=[{"loc": [place], "message": message, "type": "nul_character"}])


def refuse_nul(*values: str | None) -> None:
    """PostgreSQL cannot store or compare text with a NUL character: a clear 422, not a 500."""
    if any(value is not None and "\x00" in value for value in values):
        raise ApiProblem(422, "validation_error", _("text cannot contain the NUL character"))

"""Cursor pagination (``limit`` + ``starting_after``) and ``created[...]`` filters for lists.

Pages are in id order, oldest first: a cursor is the id of the last object seen, so new rows
never shift a page the way offsets would.
"""

from __future__ import annotations

from typing import Callable

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .errors import ApiProblem
from .schemas import ListQuery


def object_pk(prefix: str, value: str | None) -> int | None:
    """``cus_12`` → 12; None for anything else."""
    if value is None:
        return None
    text = str(value)
    if not text.startswith(prefix):
        return None
    digits = text[len(prefix):]
    return int(digits) if digits.isdigit() and len(digits) < 19 else None


def created_filter(query: ListQuery, field: str = "created_at") -> dict:
    bounds = {"gte": query.created_gte, "gt": query.created_gt, "lte": query.created_lte, "lt": query.created_lt}
    return {f"{field}__{op}": value for op, value in bounds.items() if value is not None}


def paginate(queryset: QuerySet, query: ListQuery, *, cursor_pk: Callable[[str], int | None],
             serialize: Callable, ident: Callable, created_field: str = "created_at", many: bool = False) -> dict:
    """One page; with ``many`` the whole page goes to ``serialize`` at once (a list in, a list out)."""
    queryset = queryset.filter(**created_filter(query, created_field)).order_by("pk")
    if query.starting_after:
        pk = cursor_pk(query.starting_after)
        if pk is None:
            raise ApiProblem(400, "invalid_cursor", _("starting_after %(cursor)s is not an id of this list")
                             % {"cursor": repr(query.starting_after)})
        queryset = queryset.filter(pk__gt=pk)
    rows = list(queryset[: query.limit + 1])
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    data = serialize(rows) if many else [serialize(r) for r in rows]
    return {"object": "list", "data": data, "has_more": has_more,
            "next_cursor": ident(rows[-1]) if has_more else None}

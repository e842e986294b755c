"""Object ids as the API writes them: a prefix and the row's key (``cus_12``), and the row behind one."""

from __future__ import annotations

from .errors import not_found
from .pagination import object_pk


def ident(prefix: str, pk: int | None) -> str | None:
    return f"{prefix}{pk}" if pk is not None else None


def load(queryset, prefix: str, value: str, kind: str):
    """The row behind ``<prefix><pk>`` or a 404 problem."""
    pk = object_pk(prefix, value)
    row = queryset.filter(pk=pk).first() if pk is not None else None
    if row is None:
        raise not_found(kind, value)
    return row

"""Gapless invoice and credit-note numbers (``2027-000123``), one sequence per year."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction

from .models import NumberSequence
from .queries import advance_sequence


def business_year(at: datetime) -> int:
    return at.astimezone(ZoneInfo(settings.TIME_ZONE)).year


def take_numbers(prefix: str, year: int, count: int) -> list[str]:
    """Reserve ``count`` consecutive numbers inside the caller's transaction.

    The sequence row is locked until that transaction ends, so two workers never get the same
    number, and a rollback returns the numbers: there is never a gap.
    """
    if count <= 0:
        return []
    key = f"{prefix}-{year}"
    first = _advance(key, count)
    if first is None:  # the first number of the year
        try:
            with transaction.atomic():
                NumberSequence.objects.create(key=key)
        except IntegrityError:
            pass  # created by a concurrent transaction; it is taken below
        first = _advance(key, count)
    return [f"{year}-{n:06d}" if prefix == "invoice" else f"CN-{year}-{n:06d}" for n in range(first, first + count)]


def _advance(key: str, count: int) -> int | None:
    """Move the sequence ``key`` past ``count`` numbers; returns the first one taken (None: no
    such sequence yet)."""
    after = advance_sequence(key, count)
    return None if after is None else after - count

"""Gapless invoice and credit-note numbers (``2027-000123``), one sequence per year."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction

from .models import NumberSequence


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
    row = NumberSequence.objects.select_for_update().filter(key=key).first()
    if row is None:  # the first number of the year
        try:
            with transaction.atomic():
                NumberSequence.objects.create(key=key)
        except IntegrityError:
            pass  # created by a concurrent transaction; lock it below
        row = NumberSequence.objects.select_for_update().get(key=key)
    first = row.next_value
    NumberSequence.objects.filter(pk=row.pk).update(next_value=first + count)
    return [f"{year}-{n:06d}" if prefix == "invoice" else f"CN-{year}-{n:06d}" for n in range(first, first + count)]

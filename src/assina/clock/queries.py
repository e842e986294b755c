"""The clock's hand-written SQL, next to its ORM twin (``tests/integration/test_queries.py``
runs both and compares them)."""

from __future__ import annotations

from django.db.models import QuerySet

from assina.time import FROZEN_AT_SQL

from .models import ClockState

FROZEN_AT = FROZEN_AT_SQL


def frozen_at_orm() -> QuerySet:
    return ClockState.objects.filter(pk=1).values_list("frozen_at")

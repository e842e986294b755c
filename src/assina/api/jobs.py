"""The API's job: delete the stored idempotent responses past their replay window
(``ASSINA_API_IDEMPOTENCY_HOURS``). Registered from ``ApiConfig.ready()``.

These records live on the wall clock, not the business clock (``assina.api.models``): the job
ages them by the real time whatever ``until`` a pass runs to, so moving a sandbox's test clock a
month ahead never drops a response a client may still retry. A record not yet purged is
harmless: ``idempotency.begin`` treats an expired one as absent.

Imported at start-up by every process (the CLI too): only models here, not the request
machinery of ``idempotency`` (django-ninja and pydantic cost a quarter of a second to import).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from assina.jobs import register_job

from .keys import wall_clock
from .models import IdempotencyRecord, replay_window


def _expired() -> QuerySet:
    return IdempotencyRecord.objects.filter(created_at__lt=wall_clock() - replay_window())


def purge(until: datetime, *, at_due_time: bool) -> dict:
    deleted, _detail = _expired().delete()
    return {"idempotency_records_purged": deleted} if deleted else {}


def has_work(until: datetime) -> bool:
    """Any record past the window: one lookup on the ``created_at`` index."""
    return _expired().exists()


def register() -> None:
    # Housekeeping, after the business jobs at each stop.
    register_job("api_idempotency_purge", purge, has_work=has_work, order=950)

"""The stored idempotent responses are purged by a registered job once past their replay window.

The window is measured on the wall clock, like the records' own times: the purge runs at the
clock's stops (and the worker's passes), but moving a sandbox's test clock ahead does not age a
response a client may still retry.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from factories import start_clock, utc

from assina.api import jobs
from assina.api.keys import create_key, wall_clock
from assina.api.models import IdempotencyRecord
from assina.jobs import registered_jobs
from assina.scheduler import advance_clock, run_jobs
from assina.time import now

pytestmark = pytest.mark.django_db


def _record(key_id: int, key: str, age: timedelta, *, done: bool = True) -> None:
    IdempotencyRecord.objects.create(api_key_id=key_id, key=key, fingerprint="f", method="POST", path="/api/v1/customers",
                                     created_at=wall_clock() - age, response_status=201 if done else None,
                                     response_body=b"{}" if done else None)


def _keys() -> set[str]:
    return set(IdempotencyRecord.objects.values_list("key", flat=True))


def test_advancing_the_clock_purges_the_expired_records_and_keeps_the_fresh_ones(settings):
    settings.ASSINA_API_IDEMPOTENCY_HOURS = 24
    start_clock(utc(2027, 1, 31, 10))
    key_id = create_key(scope="write").key.pk
    _record(key_id, "expired", timedelta(hours=25))
    _record(key_id, "expired-in-flight", timedelta(hours=30), done=False)
    _record(key_id, "fresh", timedelta(hours=23))
    _record(key_id, "just-sent", timedelta(0), done=False)
    assert jobs.has_work(now())

    # Two days on the test clock: past the window of every record by the business time, but
    # the fresh ones are still within 24 real hours and a client may retry them.
    summary = advance_clock(now() + timedelta(days=2))

    assert summary["idempotency_records_purged"] == 2
    assert _keys() == {"fresh", "just-sent"}
    assert not jobs.has_work(now())
    assert "idempotency_records_purged" not in advance_clock(now() + timedelta(days=1))


def test_the_worker_purges_them_and_the_window_follows_the_setting(settings):
    key_id = create_key(scope="write").key.pk
    _record(key_id, "two-hours-old", timedelta(hours=2))
    _record(key_id, "new", timedelta(minutes=1))
    assert not jobs.has_work(now())
    assert "idempotency_records_purged" not in run_jobs(now(), at_due_time=False)

    settings.ASSINA_API_IDEMPOTENCY_HOURS = 1
    assert jobs.has_work(now())
    assert run_jobs(now(), at_due_time=False)["idempotency_records_purged"] == 1
    assert _keys() == {"new"}


def test_the_job_is_registered_with_a_check_of_one_statement():
    [job] = [job for job in registered_jobs() if job.name == "api_idempotency_purge"]
    assert job.has_work is jobs.has_work and job.run is jobs.purge
    until = now()
    with CaptureQueriesContext(connection) as queries:
        assert not job.has_work(until)
    assert len(queries) == 1

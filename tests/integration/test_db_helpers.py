"""The billing run's bulk helpers must store and read exactly what the ORM would."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from assina.db import _sqlite_datetime, fetch_values, insert_rows, update_rows
from assina.events.models import Event


@pytest.mark.sqlite_only
@pytest.mark.parametrize("value", [
    datetime(2027, 3, 1, 12, 0, 5, 123, tzinfo=UTC),
    datetime(2027, 3, 1, 12, 0, tzinfo=UTC),
    datetime(2027, 3, 1, 9, 0, tzinfo=ZoneInfo("America/Sao_Paulo")),
    datetime(2027, 3, 1, 12, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2))),
])
def test_sqlite_datetime_text_is_what_django_stores(value):
    from django.db.backends.sqlite3.operations import DatabaseOperations

    assert _sqlite_datetime(value) == DatabaseOperations(connection).adapt_datetimefield_value(value)


def test_sqlite_datetime_refuses_naive_times():
    with pytest.raises(ValueError, match="naive"):
        _sqlite_datetime(datetime(2027, 3, 1, 12, 0))


@pytest.mark.django_db
def test_rows_written_by_the_helpers_read_back_like_orm_rows():
    at = datetime(2027, 1, 31, 10, 0, 0, 250000, tzinfo=UTC)
    insert_rows(Event, ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data"), [
        ("invoice.created", at, 7, "invoice", 1, {"total": 4990, "currency": "BRL"}),
        ("invoice.paid", at + timedelta(seconds=1), None, "invoice", 1, {}),
    ])
    created, paid = Event.objects.order_by("id")
    assert (created.type, created.occurred_at, created.customer_id, created.data) == ("invoice.created", at, 7, {"total": 4990, "currency": "BRL"})
    assert (paid.occurred_at, paid.customer_id, paid.data) == (at + timedelta(seconds=1), None, {})

    update_rows(Event, ("occurred_at", "data"), [(at + timedelta(days=1), {"moved": True}, paid.pk)])
    paid.refresh_from_db()
    assert paid.occurred_at == at + timedelta(days=1) and paid.data == {"moved": True}

    fields = ("id", "type", "occurred_at", "customer_id")
    fast = fetch_values(Event.objects.order_by("id"), fields)
    assert fast == list(Event.objects.order_by("id").values_list(*fields))
    assert all(row[2].utcoffset() == timedelta(0) for row in fast)


@pytest.mark.django_db
def test_in_list_matches_in_for_ids_and_keys():
    at = datetime(2027, 1, 31, 10, tzinfo=UTC)
    insert_rows(Event, ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data"),
                [(f"type.{n}", at, n, "invoice", n, {}) for n in range(50)])
    ids = list(Event.objects.filter(customer_id__lt=20).values_list("id", flat=True))
    assert sorted(Event.objects.filter(pk__in_list=ids).values_list("id", flat=True)) == sorted(ids)
    types = ["type.3", "type.7", "missing"]
    assert sorted(Event.objects.filter(type__in_list=types).values_list("type", flat=True)) == ["type.3", "type.7"]
    assert not Event.objects.filter(pk__in_list=[]).exists()
    with pytest.raises(TypeError):
        list(Event.objects.filter(occurred_at__in_list=[at]))

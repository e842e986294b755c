"""The billing run's bulk helpers must store and read exactly what the ORM would."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from assina.db import _sqlite_datetime, fetch_values, insert_one, insert_rows, update_rows
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


@pytest.mark.django_db
def test_a_row_inserted_by_insert_one_reads_back_like_the_orms():
    """The same new customer, subscription and checkout session, once through ``insert_one``
    and once through ``save()``: every column equal (ids and unique keys aside), datetimes also
    as stored."""
    from django.db.models import TextField
    from django.db.models.functions import Cast
    from factories import make_plan, start_clock

    from assina.customers.models import Customer
    from assina.selling.models import CheckoutSession
    from assina.subscriptions.models import Subscription

    at = datetime(2027, 1, 31, 10, 0, 0, 250000, tzinfo=ZoneInfo("America/Sao_Paulo"))
    start_clock(at)
    plan = make_plan("pro", 4990)

    def rows(model, ids, unique):
        fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.name not in unique]
        stored = {f"_stored_{f.name}": Cast(f.name, output_field=TextField()) for f in fields
                  if f.get_internal_type() == "DateTimeField"}
        names = [f.attname for f in fields] + list(stored)
        return [model.objects.filter(pk=pk).annotate(**stored).values_list(*names).get() for pk in ids]

    def both(make, unique=()):
        fast, orm = insert_one(make(1)), make(2)
        orm.save()
        assert fast.pk and fast.pk != orm.pk and not fast._state.adding
        first, second = rows(type(fast), [fast.pk, orm.pk], unique)
        assert first == second
        return fast, orm

    customers = both(lambda n: Customer(email=f"c{n}@example.com", name="Ana Souza", locale="pt-BR", currency="BRL",
                                        time_zone="America/Sao_Paulo", tax_id="529.982.247-25",
                                        metadata={"checkout_session": "cs_1", "n": [1, 2]},
                                        shipping_address={"city": "Recife"}, created_at=at), unique=("email",))
    both(lambda n: Subscription(customer=customers[n - 1], plan=plan, status="incomplete", currency="BRL",
                                interval="month", interval_count=1, billing_anchor=at, billing_starts_at=at,
                                started_at=at, current_period_start=at, current_period_end=at + timedelta(days=28),
                                metadata={"checkout_session": "cs_1"}, created_at=at, next_action_at=at),
         unique=("customer",))
    both(lambda n: CheckoutSession(key=f"cs_{n}", plan=plan, created_at=at, expires_at=at + timedelta(days=1),
                                   addons=["seats"]), unique=("key",))
    with pytest.raises(TypeError, match="auto_now"):
        from assina.clock.models import ClockState
        insert_one(ClockState(frozen_at=at))


_AT = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
_PRODUCT = ["code", "name", "description", "active", "created_at"]


@pytest.mark.django_db(transaction=True)
def test_the_helpers_statements_in_a_transaction_raise_djangos_errors_and_refuse_a_broken_one():
    """On SQLite these statements skip Django's cursor inside a transaction; its errors and its
    refusal to go on in a transaction that failed must stay as they are on every engine."""
    from django.db import IntegrityError, transaction
    from django.db.transaction import TransactionManagementError

    from assina.catalog.models import Product
    from assina.db import select_row

    with transaction.atomic():
        insert_rows(Product, _PRODUCT, [("p1", "One", "", True, _AT)])
        with pytest.raises(IntegrityError):
            with transaction.atomic():
                insert_rows(Product, _PRODUCT, [("p1", "Again", "", True, _AT)])
        assert select_row("SELECT count(*) FROM catalog_product WHERE code = %s", ["p1"]) == (1,)
    with pytest.raises(TransactionManagementError):
        with transaction.atomic():
            try:
                with transaction.atomic(savepoint=False):
                    insert_rows(Product, _PRODUCT, [("p1", "Again", "", True, _AT)])
            except IntegrityError:
                pass
            select_row("SELECT count(*) FROM catalog_product")
    assert select_row("SELECT count(*) FROM catalog_product") == (1,)


@pytest.mark.django_db(transaction=True)
def test_the_helpers_statements_are_recorded_when_queries_are_captured_and_keep_a_literal_percent():
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from assina.catalog.models import Product
    from assina.db import execute, select_row, select_rows

    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        insert_rows(Product, _PRODUCT, [("p1", "One", "", True, _AT), ("p2", "Two", "", True, _AT)])
        assert execute("UPDATE catalog_product SET name = %s WHERE code = %s", ["Uno", "p1"]) == 1
        assert select_rows("SELECT code FROM catalog_product WHERE name LIKE 'T%%' ORDER BY code") == [("p2",)]
        assert select_row("SELECT '100%%' || %s", [" sure"]) == ("100% sure",)
    statements = [q["sql"] for q in captured.captured_queries]
    if connection.vendor == "sqlite":  # PostgreSQL's rows travel by COPY on psycopg's own cursor
        assert any("INSERT INTO" in s and "catalog_product" in s for s in statements)
    assert any(s.startswith("UPDATE") for s in statements)
    assert sum("SELECT" in s for s in statements) == 2
    # Outside any capture, on the fast path, the same text means the same thing.
    with transaction.atomic():
        assert select_rows("SELECT code FROM catalog_product WHERE name LIKE 'T%%' ORDER BY code") == [("p2",)]
        assert select_row("SELECT '100%%' || %s", [" sure"]) == ("100% sure",)

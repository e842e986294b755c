"""Who a price migration takes (issue 19): the customers of a saved segment, or those who
subscribed before a date; each only when live on the plan and not already cancelling."""

from __future__ import annotations

import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.notifications.models import Message, Segment
from assina.repricing import services
from assina.subscriptions.services import cancel_at_period_end
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)


def _members(migration) -> set[int]:
    return set(migration.members.values_list("subscription_id", flat=True))


def _notified(migration) -> set[int]:
    customers = set(migration.members.values_list("customer_id", flat=True))
    assert set(Message.objects.filter(template="price_migration_notice").values_list("customer_id", flat=True)) == customers
    return customers


@pytest.mark.parametrize("by", ["name", "id"])
def test_a_saved_segment_takes_exactly_its_customers_on_the_plan(by):
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    make_plan("basic", 3500, name="Basic")
    inside = [subscribe(make_customer(locale="pt-BR"), "pro") for _ in range(2)]
    outside = [subscribe(make_customer(locale="en"), "pro") for _ in range(2)]
    other_plan = subscribe(make_customer(locale="pt-BR"), "basic")
    leaving = subscribe(make_customer(locale="pt-BR"), "pro")
    cancel_at_period_end(leaving.pk)
    segment = Segment.objects.create(name="Brasil", locales=["pt-BR"], created_at=now())

    migration = services.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 3, 1),
                                          audience="segment", segment=segment.name if by == "name" else str(segment.pk))

    assert _members(migration) == {s.pk for s in inside}
    assert _notified(migration) == {s.customer_id for s in inside}
    assert not _members(migration) & {s.pk for s in [*outside, other_plan, leaving]}
    assert (migration.audience, migration.segment_id, migration.members_count) == ("segment", segment.pk, 2)


def test_subscribed_before_a_date_takes_only_those_created_strictly_before_it():
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    early = [subscribe(make_customer(), "pro") for _ in range(2)]
    advance(utc(2027, 1, 5))
    on_the_day = subscribe(make_customer(), "pro")  # created at the date itself: not before it
    advance(utc(2027, 1, 10))
    late = subscribe(make_customer(), "pro")

    migration = services.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 3, 1),
                                          audience="before", subscribed_before=utc(2027, 1, 5))

    assert _members(migration) == {s.pk for s in early}
    assert _notified(migration) == {s.customer_id for s in early}
    assert not _members(migration) & {on_the_day.pk, late.pk}
    assert migration.subscribed_before == utc(2027, 1, 5)


def test_an_audience_that_matches_nobody_is_refused_with_nothing_written():
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    subscribe(make_customer(locale="en"), "pro")
    Segment.objects.create(name="Brasil", locales=["pt-BR"], created_at=now())
    with pytest.raises(services.MigrationError, match="no subscription matches"):
        services.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 3, 1),
                                  audience="segment", segment="Brasil")
    with pytest.raises(services.MigrationError, match="no subscription matches"):
        services.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 3, 1),
                                  audience="before", subscribed_before=utc(2026, 12, 1))
    from assina.catalog.models import PlanVersion
    from assina.repricing.models import PriceMigration

    assert PriceMigration.objects.count() == 0 and PlanVersion.objects.filter(plan__code="pro").count() == 1
    assert not Message.objects.filter(template="price_migration_notice").exists()

"""A customer's MRR is the same wherever it is read: a campaign segment's "MRR at least / at
most" counts what the dashboard counts (both through ``assina.core.mrr``), discounts included
and trials worth nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import advance, make_addon, make_customer, make_plan, start_clock, subscribe, utc

from assina.analytics import service
from assina.analytics.derive import build_dataset, wall_of
from assina.catalog.services import create_coupon
from assina.customers.models import Customer
from assina.notifications.models import Segment
from assina.notifications.segments import customers_of, mrr_by_customer
from assina.time import now

pytestmark = pytest.mark.django_db

T0 = utc(2027, 1, 5, 10)


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    service.forget()
    yield
    service.forget()


def _dashboard_mrr_by_customer() -> dict[int, int]:
    """Each customer's MRR as the dashboard has it now: the latest level of each of their
    subscriptions in the derived change table (their own currency), summed."""
    table = build_dataset().table
    moment = wall_of(now())
    latest: dict[int, tuple[int, int]] = {}
    for sub, customer, at, level in zip(table.sub.tolist(), table.customer.tolist(), table.at.tolist(),
                                        table.native.tolist()):
        if at <= moment:
            latest[sub] = (customer, level)
    totals: dict[int, int] = {pk: 0 for pk in Customer.objects.values_list("pk", flat=True)}
    for customer, level in latest.values():
        totals[customer] += level
    return totals


def _members(**filters) -> set[str]:
    segment = Segment(name="s", created_at=T0, **filters)
    return {c.email.split("@")[0] for c in customers_of(segment, now())}


def test_a_segments_mrr_is_the_dashboards_with_discounts_add_ons_annual_plans_and_trials():
    start_clock(T0)
    make_plan("basic", 3000)
    make_plan("annual", 120000, interval="year")
    make_plan("seats", 1000, pricing_model="per_unit")
    make_plan("trial-pro", 10000, trial_days=14)
    make_addon("support", 500)
    create_coupon(code="welcome", duration="repeating", duration_periods=2, percent_off="20", at=now())
    create_coupon(code="seats10", duration="forever", amount_off=1000, currency="BRL", plans=["seats"], at=now())
    ana = make_customer(email="ana@example.com")
    bob = make_customer(email="bob@example.com")
    cid = make_customer(email="cid@example.com")
    dan = make_customer(email="dan@example.com")
    subscribe(ana, "basic", coupon_code="welcome")  # 3000 less 20 %: 2400
    subscribe(bob, "annual", coupon_code="welcome")  # 120000 less 20 % a year: 8000 a month
    subscribe(cid, "seats", quantity=4, coupon_code="seats10", addons=[("support", 1)])  # 4000 - 1000 + 500
    subscribe(cid, "trial-pro")  # a trial is worth nothing yet
    subscribe(dan, "trial-pro")
    advance(T0 + timedelta(days=3))

    segments = mrr_by_customer(Customer.objects.all(), now())
    assert segments == _dashboard_mrr_by_customer()
    assert {c.email.split("@")[0]: v for c, v in ((Customer.objects.get(pk=pk), v) for pk, v in segments.items())} == {
        "ana": 2400, "bob": 8000, "cid": 3500, "dan": 0}
    assert _members(min_mrr=2400) == {"ana", "bob", "cid"}
    assert _members(min_mrr=2401) == {"bob", "cid"}  # the discounted 3000 counts as 2400, as on the dashboard
    assert _members(max_mrr=0) == {"dan"}

    # Two months on: Ana's discount has ended, Dan's trial converted; still the same figures.
    advance(T0 + timedelta(days=70))
    segments = mrr_by_customer(Customer.objects.all(), now())
    assert segments == _dashboard_mrr_by_customer()
    assert segments[ana.pk] == 3000 and segments[dan.pk] == 10000 and segments[cid.pk] == 3500 + 10000

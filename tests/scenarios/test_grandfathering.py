"""A price change adds a plan version: existing subscribers keep theirs (for years), new ones
pay the new price; a quantity change keeps the version, a plan switch takes the newest."""

import pytest
from factories import (
    advance,
    assert_all_invoices_sum,
    fraction_9,
    invoices_of,
    lines_of,
    make_customer,
    make_plan,
    real_transactions,
    reload,
    round_half_up,
    start_clock,
    subscribe,
    utc,
)

from assina.catalog import services as catalog
from assina.catalog.models import PlanVersion
from assina.time import now
from assina.events.models import Event
from assina.subscriptions.changes import change_subscription
from assina.subscriptions.models import SubscriptionItem

pytestmark = real_transactions


def _base_version(sub) -> tuple[str, int, int]:
    item = SubscriptionItem.objects.select_related("plan_version__plan").get(subscription=sub)
    return item.plan_version.plan.code, item.plan_version.version, item.quantity


@pytest.mark.slow
def test_grandfathered_price_holds_for_three_years_until_the_plan_is_switched():
    start_clock(utc(2027, 1, 1))
    make_plan("team", 1000, pricing_model="per_unit")
    make_plan("team-plus", 2000, pricing_model="per_unit")
    old = subscribe(make_customer(), "team", quantity=3)

    advance(utc(2027, 2, 10))
    v2 = catalog.change_plan_price("team", amount=1500, at=now())
    catalog.change_plan_price("team-plus", amount=2500, at=now())
    assert (v2.version, v2.unit_amount) == (2, 1500)
    assert Event.objects.filter(type="plan.price_changed").count() == 2
    assert list(PlanVersion.objects.filter(plan__code="team").values_list("version", "unit_amount")) == [(1, 1000), (2, 1500)]
    new = subscribe(make_customer(), "team", quantity=3)

    advance(utc(2030, 1, 1))

    old_invoices, new_invoices = invoices_of(old), invoices_of(new)
    assert len(old_invoices) == 37 and old_invoices[-1].period_start == utc(2030, 1, 1)
    assert all(lines_of(i) == [("subscription", 3000)] for i in old_invoices)  # 3 x 10.00, three years on
    assert len(new_invoices) == 35 and new_invoices[0].period_start == utc(2027, 2, 10)
    assert all(lines_of(i) == [("subscription", 4500)] for i in new_invoices)  # 3 x 15.00
    assert _base_version(old) == ("team", 1, 3) and _base_version(new) == ("team", 2, 3)

    # More seats on the same plan: still version 1 (the proration is priced at 10.00 a seat too).
    advance(utc(2030, 1, 16))
    change_subscription(old.pk, quantity=5, invoice_now=True)
    assert _base_version(old) == ("team", 1, 5)
    fraction = fraction_9(16 * 86400, 31 * 86400)  # Jan 16 -> Feb 1 of a 31-day period
    seats = invoices_of(old)[-1]
    assert lines_of(seats) == [("proration", -round_half_up(3000 * fraction)), ("proration", round_half_up(5000 * fraction))]
    assert lines_of(seats) == [("proration", -1548), ("proration", 2581)]
    advance(utc(2030, 2, 1))
    assert lines_of(invoices_of(old)[-1]) == [("subscription", 5000)]

    # Switching plan takes that plan's newest version.
    advance(utc(2030, 2, 16))
    change_subscription(old.pk, plan_code="team-plus", invoice_now=True)
    assert _base_version(old) == ("team-plus", 2, 5)
    fraction = fraction_9(13 * 86400, 28 * 86400)  # Feb 16 -> Mar 1 of a 28-day period
    assert lines_of(invoices_of(old)[-1]) == [("proration", -round_half_up(5000 * fraction)),
                                               ("proration", round_half_up(12500 * fraction))]
    advance(utc(2030, 3, 1))
    assert lines_of(invoices_of(old)[-1]) == [("subscription", 12500)]

    # ... and coming back to the first plan does not bring the grandfathered price back.
    advance(utc(2030, 3, 5))
    change_subscription(old.pk, plan_code="team", invoice_now=True)
    assert _base_version(old) == ("team", 2, 5)
    advance(utc(2030, 4, 1))
    assert lines_of(invoices_of(old)[-1]) == [("subscription", 7500)]
    assert reload(new).status == "active" and _base_version(new) == ("team", 2, 3)
    assert_all_invoices_sum()

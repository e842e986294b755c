"""A skipped delivery is only a reason not to bill when the renewing terms still ship goods
(issue 19): a scheduled switch to a service plan, or the owner turning shipping off, bills the
period in full. Catalog (BRL, monthly): Beans 49.90 (ships goods: 15.00 a delivery, free from
50.00), App 99.00 (a service: ships nothing).
"""

from __future__ import annotations

import pytest
from factories import advance, make_customer, make_plan, reload, start_clock, subscribe, utc

from assina.catalog.services import set_shipping
from assina.checks import run_checks
from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.subscriptions import changes, deliveries
from assina.subscriptions.models import SkippedDelivery
from assina.time import now

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    start_clock(utc(2027, 1, 1))
    make_plan("beans", 4990, name="Beans")
    set_shipping("beans", ships_goods=True, fee=1500, free_from=5000, max_skips_per_year=2, at=now())
    make_plan("app", 9900, name="App")


def _february(sub) -> Invoice:
    return Invoice.objects.get(subscription=sub, period_start=utc(2027, 2, 1))


def _lines(invoice: Invoice) -> list[tuple[str, str, int]]:
    return list(invoice.lines.order_by("pk").values_list("kind", "description", "amount"))


def test_a_skip_before_a_switch_to_a_service_plan_bills_the_service_plan(catalog):
    sub = subscribe(make_customer(email="ana@example.com", locale="en"), "beans")
    deliveries.skip_next_delivery(sub.pk)
    changes.change_subscription(sub.pk, plan_code="app", at_period_end=True)
    advance(utc(2027, 2, 1))
    february = _february(sub)
    assert (february.total, february.status) == (9900, "paid")
    assert [(kind, amount) for kind, _text, amount in _lines(february)] == [("subscription", 9900)]
    assert "skipped" not in _lines(february)[0][1]
    assert reload(sub).plan.code == "app"
    # The skip is withdrawn (it no longer counts against the year's skips), with its event.
    assert not SkippedDelivery.objects.filter(subscription=sub).exists()
    assert Event.objects.filter(type="subscription.delivery_unskipped", subject_id=sub.pk).count() == 1
    assert run_checks()["ok"]


def test_a_skip_is_not_applied_once_the_owner_stops_shipping(catalog):
    sub = subscribe(make_customer(email="ana@example.com", locale="en"), "beans")
    deliveries.skip_next_delivery(sub.pk)
    set_shipping("beans", ships_goods=False, at=now())
    advance(utc(2027, 2, 1))
    february = _february(sub)
    assert (february.total, [l[2] for l in _lines(february)]) == (4990, [4990])
    assert "skipped" not in _lines(february)[0][1]
    assert not SkippedDelivery.objects.filter(subscription=sub).exists()
    assert run_checks()["ok"]


def test_a_skip_still_applies_while_the_plan_ships(catalog):
    sub = subscribe(make_customer(email="ana@example.com", locale="en"), "beans")
    deliveries.skip_next_delivery(sub.pk)
    set_shipping("beans", ships_goods=True, fee=2000, free_from=None, max_skips_per_year=2, at=now())
    advance(utc(2027, 2, 1))
    assert _february(sub).total == 0
    assert SkippedDelivery.objects.filter(subscription=sub).count() == 1

"""The portal's "Next charge" and "What your next invoice will show" are what the renewal then
bills (``portal.upcoming``, drafted by the billing run's own pieces in
``subscriptions.due_work``): a skipped delivery is billed in full when the renewing plan ships
nothing (a switch to a service plan scheduled for it, or the owner turning shipping off), and a
price migration's pinned plan version (the new price, or another plan's) is priced in. Each test
then advances the clock to the renewal and compares the invoice it issued with the preview.

Catalog (BRL, monthly): Beans 49.90, ships goods at 15.00 a delivery, never free; App 99.00 (a
service); Pro 50.00 and Basic 35.00 for the migrations; Pro Annual 500.00 a year.
"""

from __future__ import annotations

import re

import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import signed_in

from assina.catalog.services import change_plan_price, set_shipping
from assina.invoices.models import Invoice
from assina.subscriptions import changes, deliveries
from assina.time import now

pytestmark = pytest.mark.django_db

TO_BE_CHARGED = ("To be charged", "A ser cobrado")


def _page(customer) -> str:
    return signed_in(customer).get("/portal/").content.decode().replace("\xa0", " ")


def _home(customer) -> tuple[str, list[tuple[str, str]]]:
    """The home's "Next charge" and the preview's lines (the last one the amount to be charged)."""
    html = _page(customer)
    charge = re.search(r'<dd class="next-charge">([^<]*)</dd>', html).group(1)
    block = re.search(r'<details class="upcoming">(.*?)</details>', html, re.S).group(1)
    return charge, re.findall(r'<tr(?: class="[a-z]+")?><td>([^<]*)</td><td class="amount">([^<]*)</td></tr>', block)


def _issued_as_previewed(sub, preview: list[tuple[str, str]], start) -> Invoice:
    """Advance to the renewal at ``start``: its invoice has the preview's lines and amount due."""
    advance(start)
    invoice = Invoice.objects.get(subscription=sub, period_start=start)
    issued = [line.description.replace("\xa0", " ") for line in invoice.lines.order_by("pk")]
    assert issued == [d for d, _a in preview if d not in TO_BE_CHARGED]
    return invoice


@pytest.fixture
def beans():
    start_clock(utc(2027, 1, 1))
    make_plan("beans", 4990, name="Beans")
    set_shipping("beans", ships_goods=True, fee=1500, free_from=None, max_skips_per_year=2, at=now())
    make_plan("app", 9900, name="App")


def test_a_skipped_delivery_of_a_plan_that_ships_is_not_billed(beans):
    customer = make_customer(email="ana@example.com", locale="en")
    sub = subscribe(customer, "beans")
    deliveries.skip_next_delivery(sub.pk)
    charge, preview = _home(customer)
    assert charge == "R$0.00 on February 1, 2027"
    assert preview[-1] == ("To be charged", "R$0.00")
    assert _issued_as_previewed(sub, preview, utc(2027, 2, 1)).amount_due == 0


@pytest.mark.parametrize("locale, charge, lines", [
    ("en", "R$99.00 on February 1, 2027", [("App", "R$99.00"), ("To be charged", "R$99.00")]),
    ("pt-BR", "R$ 99,00 em 1 de fevereiro de 2027", [("App", "R$ 99,00"), ("A ser cobrado", "R$ 99,00")]),
])
def test_a_skip_then_a_switch_to_a_service_plan_previews_the_service_plan_in_full(beans, locale, charge, lines):
    customer = make_customer(email="ana@example.com", locale=locale)
    sub = subscribe(customer, "beans")
    deliveries.skip_next_delivery(sub.pk)
    changes.change_subscription(sub.pk, plan_code="app", at_period_end=True)
    shown, preview = _home(customer)
    assert (shown, preview) == (charge, lines)
    assert _issued_as_previewed(sub, preview, utc(2027, 2, 1)).amount_due == 9900


def test_a_skip_after_the_owner_turns_shipping_off_previews_the_period_in_full(beans):
    customer = make_customer(email="ana@example.com", locale="en")
    sub = subscribe(customer, "beans")
    deliveries.skip_next_delivery(sub.pk)
    set_shipping("beans", ships_goods=False, at=now())
    charge, preview = _home(customer)
    assert (charge, preview) == ("R$49.90 on February 1, 2027", [("Beans", "R$49.90"), ("To be charged", "R$49.90")])
    assert _issued_as_previewed(sub, preview, utc(2027, 2, 1)).amount_due == 4990


def test_a_pinned_new_price_of_the_same_plan_is_previewed(beans):
    customer = make_customer(email="ana@example.com", locale="en")
    sub = subscribe(customer, "beans")
    version = change_plan_price("beans", amount=5990, at=now())
    changes.schedule_version_change(sub.pk, version_id=version.pk)  # what a price migration arms
    charge, preview = _home(customer)
    assert "the amount above is at the new price." in _page(customer)
    assert charge == "R$74.90 on February 1, 2027"
    assert preview == [("Beans", "R$59.90"), ("Shipping", "R$15.00"), ("To be charged", "R$74.90")]
    assert _issued_as_previewed(sub, preview, utc(2027, 2, 1)).amount_due == 7490


def test_a_pinned_version_of_an_annual_plan_previews_the_year(beans):
    """The annual plan's kept price (a price migration's "annual" choice): a new interval starts
    its own cycle at the renewal, billed a year at once."""
    make_plan("pro", 5000, name="Pro")
    annual = make_plan("pro-annual", 50000, name="Pro Annual", interval="year")
    customer = make_customer(email="ana@example.com", locale="en")
    sub = subscribe(customer, "pro")
    changes.schedule_version_change(sub.pk, version_id=annual.current_version().pk)
    change_plan_price("pro-annual", amount=60000, at=now())  # the pinned version keeps 500.00
    charge, preview = _home(customer)
    assert (charge, preview) == ("R$500.00 on February 1, 2027",
                                 [("Pro Annual", "R$500.00"), ("To be charged", "R$500.00")])
    invoice = _issued_as_previewed(sub, preview, utc(2027, 2, 1))
    assert (invoice.amount_due, invoice.period_end) == (50000, utc(2028, 2, 1))


@pytest.mark.parametrize("default, locale, charge, lines, billed", [
    ("accept", "en", "R$60.00 on March 1, 2027", [("Pro", "R$60.00"), ("To be charged", "R$60.00")], 6000),
    ("accept", "pt-BR", "R$ 60,00 em 1 de março de 2027", [("Pro", "R$ 60,00"), ("A ser cobrado", "R$ 60,00")], 6000),
    ("switch", "en", "R$35.00 on March 1, 2027", [("Basic", "R$35.00"), ("To be charged", "R$35.00")], 3500),
])
def test_during_a_price_migration_the_home_previews_the_new_price_or_plan(default, locale, charge, lines, billed):
    """A real migration (``assina.repricing``): Pro 50.00 → 60.00 from March 1, or the cheaper
    Basic 35.00; the choice (here the owner's default) is armed at the February renewal."""
    from assina.repricing import services

    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    make_plan("basic", 3500, name="Basic")
    customer = make_customer(email="ana@example.com", locale=locale)
    sub = subscribe(customer, "pro")
    advance(utc(2027, 1, 20))
    services.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 3, 1),
                              switch_plan_code="basic", default_choice=default)
    advance(utc(2027, 2, 10))
    shown, preview = _home(customer)
    assert (shown, preview) == (charge, lines)
    assert _issued_as_previewed(sub, preview, utc(2027, 3, 1)).amount_due == billed

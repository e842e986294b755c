"""Bundles and physical goods (issue 19), under the test clock, amounts computed by hand.

Catalog (BRL, monthly): Beans 49.90 (ships goods: 15.00 a delivery, free from 50.00 per period,
one skip a year), the add-on Mug 29.90, and the bundle Duo = Beans + Mug at 15 % off:
7,980 - round_half_up(7,980 × 0.15 = 1,197) = 6,783. January has 31 days, February 28.
"""

from __future__ import annotations

import csv
import io

import pytest
from factories import advance, make_addon, make_customer, make_plan, reload, start_clock, subscribe, utc

from assina.analytics import service
from assina.catalog.services import CatalogError, create_bundle, set_shipping
from assina.checks import run_checks
from assina.cli import main
from assina.customers.services import set_shipping_address
from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.subscriptions import addons, changes, deliveries
from assina.subscriptions.services import SubscriptionError
from assina.subscriptions.shipments import shipments_csv
from assina.time import now

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "Rua Augusta 100", "line2": "apto 5", "city": "São Paulo", "state": "sp",
           "postal_code": "01305000", "country": "br"}


@pytest.fixture
def catalog():
    start_clock(utc(2027, 1, 1))
    make_plan("beans", 4990, name="Beans")
    set_shipping("beans", ships_goods=True, fee=1500, free_from=5000, max_skips_per_year=1, at=now())
    make_addon("mug", 2990, name="Mug")
    return create_bundle(code="duo", name="Duo", parts=[("beans", 1), ("mug", 1)], percent_off="15", at=now())


def _lines(invoice: Invoice) -> list[tuple[str, str, int, int]]:
    return list(invoice.lines.order_by("pk").values_list("kind", "description", "quantity", "amount"))


def test_a_bundle_invoice_shows_its_parts_and_the_mrr_breakdown_attributes_it(catalog):
    assert catalog.current_version().unit_amount == 6783 and catalog.ships_goods
    ana = make_customer(email="ana@example.com", name="Ana", locale="en")
    bia = make_customer(email="bia@example.com", name="Bia", locale="pt-BR")
    subscribe(ana, "duo")
    subscribe(bia, "duo")
    subscribe(make_customer(email="caio@example.com"), "beans")
    first = Invoice.objects.get(customer=ana)
    assert _lines(first) == [
        ("subscription", "Duo", 1, 6783),
        ("bundle_part", "Included: Beans (worth R$49.90)", 1, 0),
        ("bundle_part", "Included: Mug (worth R$29.90)", 1, 0),
        ("shipping", "Shipping: free from R$50.00", 1, 0),  # 67.83 ≥ 50.00
    ]
    assert first.total == 6783
    # In the customer's language, money per locale.
    assert [d for _k, d, _q, _a in _lines(Invoice.objects.get(customer=bia))][1:] == [
        "Incluído: Beans (vale R$\xa049,90)", "Incluído: Mug (vale R$\xa029,90)", "Frete: grátis a partir de R$\xa050,00"]
    # The MRR by plan attributes the bundle's revenue to the bundle, not to its parts.
    service.forget()
    plans = {p["plan"]: p["mrr"] for p in service.report(months=1)["plans"]}
    service.forget()
    assert plans == {"duo": 2 * 6783, "beans": 4990}
    # Renewal: the same lines again.
    advance(utc(2027, 2, 1))
    assert [l[3] for l in _lines(Invoice.objects.filter(customer=ana).latest("pk"))] == [6783, 0, 0, 0]


def test_bundle_price_or_percent_refused_when_not_below_the_parts(catalog):
    with pytest.raises(CatalogError, match="cost less than its parts"):
        create_bundle(code="dear", name="Dear", parts=[("beans", 1), ("mug", 1)], price=7980, at=now())
    with pytest.raises(CatalogError, match="at least two parts"):
        create_bundle(code="one", name="One", parts=[("beans", 1)], percent_off="10", at=now())


def test_changing_into_and_out_of_a_bundle_prorates_without_the_shipping(catalog):
    sub = subscribe(make_customer(email="ana@example.com"), "beans")
    # Beans alone (49.90 < 50.00) pays shipping.
    assert Invoice.objects.get(subscription=sub).total == 4990 + 1500
    advance(utc(2027, 1, 16))  # 16 of January's 31 days left
    preview = changes.preview_change(sub.pk, plan_code="duo")
    # credit 4990 × 16/31 = 2575.48 → -2575; charge 6783 × 16/31 = 3500.90 → 3501 (shipping not prorated).
    assert [l.amount for l in preview.lines] == [-2575, 3501]
    changes.change_subscription(sub.pk, plan_code="duo")
    advance(utc(2027, 2, 1))
    february = Invoice.objects.filter(subscription=sub).latest("pk")
    assert february.total == 6783 + 0 - 2575 + 3501
    advance(utc(2027, 2, 16))  # 13 of February's 28 days left
    changes.change_subscription(sub.pk, plan_code="beans", invoice_now=True)
    out = Invoice.objects.filter(subscription=sub).latest("pk")
    # credit 6783 × 13/28 = 3149.25 → -3149; charge 4990 × 13/28 = 2316.79 → 2317.
    assert [l[3] for l in _lines(out)] == [-3149, 2317]
    assert run_checks()["ok"]


def test_a_shipped_plan_bills_shipping_until_the_threshold_and_skips_a_delivery(catalog):
    ana = make_customer(email="ana@example.com", name="Ana", locale="en")
    set_shipping_address(ana.pk, ADDRESS, now())
    sub = subscribe(ana, "beans")
    assert [l[3] for l in _lines(Invoice.objects.get(subscription=sub))] == [4990, 1500]
    outlook = deliveries.outlook(reload(sub))
    assert (outlook.fee, outlook.left_for_free, outlook.skips_left) == (1500, 10, 1)
    advance(utc(2027, 1, 16))
    addons.add_addon(sub.pk, "mug", 1)  # 49.90 + 29.90 = 79.80 per period ≥ 50.00
    # credit 4990 × 16/31 = 2575.48 → -2575; charge 7980 × 16/31 = 4118.71 → 4119: no shipping in it.
    advance(utc(2027, 2, 1))
    february = Invoice.objects.filter(subscription=sub).latest("pk")
    assert [l[3] for l in _lines(february)] == [4990, 2990, 0, -2575, 4119]
    assert deliveries.outlook(reload(sub)).left_for_free == 0

    since = Event.objects.latest("pk").pk
    skip, new = deliveries.skip_next_delivery(sub.pk)
    assert new and skip.period_start == utc(2027, 3, 1)
    assert deliveries.skip_next_delivery(sub.pk)[1] is False  # the same skip: nothing new
    assert list(Event.objects.filter(pk__gt=since).values_list("type", flat=True)) == ["subscription.delivery_skipped"]
    advance(utc(2027, 3, 1))
    march = Invoice.objects.filter(subscription=sub).latest("pk")
    assert (march.period_start, march.total, march.status) == (utc(2027, 3, 1), 0, "paid")
    assert _lines(march) == [("subscription", "Delivery skipped: Beans (not billed)", 1, 0)]
    assert reload(sub).current_period_start == utc(2027, 3, 1)  # the period advanced
    # One skip a year: the April delivery cannot be skipped.
    with pytest.raises(SubscriptionError, match="already skipped 1"):
        deliveries.skip_next_delivery(sub.pk)
    advance(utc(2027, 4, 1))
    assert Invoice.objects.filter(subscription=sub).latest("pk").total == 7980
    assert run_checks()["ok"]

    # The shipment lists: February ships (beans and mug to Ana), March is skipped.
    rows = list(csv.DictReader(io.StringIO(shipments_csv("2027-02"))))
    assert [(r["email"], r["items"], r["line1"], r["city"], r["state"], r["postal_code"], r["country"])
            for r in rows] == [("ana@example.com", "Beans × 1; Mug × 1", "Rua Augusta 100", "São Paulo", "SP",
                                "01305-000", "BR")]
    assert list(csv.DictReader(io.StringIO(shipments_csv("2027-03")))) == []


def test_shipment_csv_lists_a_bundles_parts_and_the_cli_prints_it(catalog, capsys):
    bia = make_customer(email="=bia@example.com", name="=HYPERLINK(1)", locale="pt-BR")
    subscribe(bia, "duo")
    assert main(["shipments", "--period", "2027-01", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["name"], r["email"], r["items"], r["line1"]) for r in rows] == [
        ("'=HYPERLINK(1)", "'=bia@example.com", "Beans × 1; Mug × 1", "")]
    assert main(["shipments", "--period", "2027-13"]) != 0
    capsys.readouterr()
    # The owner's other commands: a bundle at a set price, a plan's shipping, a skipped delivery.
    assert main(["plan", "bundle", "--code", "pair", "--part", "beans:2", "--part", "mug", "--amount", "99.90", "--json"]) == 0
    assert '"amount": 9990' in capsys.readouterr().out
    make_plan("tea", 2990, name="Tea")
    assert main(["plan", "shipping", "tea", "--fee", "5.00", "--max-skips", "0", "--json"]) == 0
    assert main(["plan", "shipping", "mug", "--fee", "5.00"]) != 0  # an add-on ships with its plan
    capsys.readouterr()
    sub = Invoice.objects.get(customer=bia).subscription
    assert main(["subscription", "skip-delivery", f"sub_{sub.pk}", "--json"]) == 0
    assert '"period_start": "2027-02-01T00:00:00Z"' in capsys.readouterr().out
    assert main(["subscription", "skip-delivery", f"sub_{sub.pk}", "--undo", "--json"]) == 0
    assert not sub.skipped_deliveries.exists()


def test_the_shipping_address_is_validated_and_saved_once(catalog):
    ana = make_customer(email="ana@example.com")
    since = Event.objects.latest("pk").pk
    for bad, text in (({**ADDRESS, "postal_code": "123"}, "CEP"), ({**ADDRESS, "city": " "}, "city"),
                      ({**ADDRESS, "country": "B1"}, "country code")):
        with pytest.raises(Exception, match=text):
            set_shipping_address(ana.pk, bad, now())
    assert reload(ana).shipping_address == {} and Event.objects.filter(pk__gt=since).count() == 0
    set_shipping_address(ana.pk, ADDRESS, now())
    set_shipping_address(ana.pk, ADDRESS, now())
    assert reload(ana).shipping_address["postal_code"] == "01305-000"
    assert list(Event.objects.filter(pk__gt=since).values_list("type", flat=True)) == ["customer.shipping_address_updated"]


def test_the_owner_manages_bundles_shipping_and_addresses_in_the_admin(catalog, admin_client, client, django_user_model):
    from assina.catalog.models import Plan

    page = admin_client.post("/admin/catalog/bundle/add/", {
        "code": "trio", "name": "Trio", "parts": "beans 2\nmug 1", "price": "", "percent_off": "10", "trial_days": "0"})
    assert page.status_code == 302, page.content[:2000]
    # (2 × 49.90 + 29.90) = 129.70; 10 % = 12.97 → 116.73.
    assert Plan.objects.get(code="trio").current_version().unit_amount == 11673
    assert "Shipments of a month" in admin_client.get("/admin/subscriptions/skippeddelivery/").content.decode()
    listing = admin_client.get("/admin/catalog/bundle/").content.decode()
    assert "Trio" in listing and "Duo" in listing and "Beans × 2" in listing and ">Beans<" not in listing
    tea = make_plan("tea", 2990, name="Tea")
    page = admin_client.post(f"/admin/catalog/plan/{tea.pk}/change/", {
        "name": "Tea", "active": "on", "ships": "on", "shipping_fee": "9.90", "free_shipping": "", "max_skips": "3",
        "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0"})
    assert page.status_code == 302, page.content.decode()[:3000]
    tea.refresh_from_db()
    assert (tea.ships_goods, tea.shipping_amount, tea.free_shipping_from, tea.max_skips_per_year) == (True, 990, None, 3)
    mug = Plan.objects.get(code="mug")
    page = admin_client.post(f"/admin/catalog/plan/{mug.pk}/change/", {
        "name": "Mug", "active": "on", "ships": "on", "shipping_fee": "9.90", "free_shipping": "", "max_skips": "3",
        "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0"})
    assert page.status_code == 200 and "an add-on ships with its plan" in page.content.decode()
    assert not Plan.objects.get(code="mug").ships_goods

    ana = make_customer(email="ana@example.com", name="Ana")
    form = admin_client.get(f"/admin/customers/customer/{ana.pk}/change/")
    assert form.status_code == 200 and "ship_line1" in form.content.decode()
    subscribe(ana, "duo")
    shipments = admin_client.get("/admin/subscriptions/skippeddelivery/shipments/?period=2027-01")
    assert shipments.status_code == 200 and "Beans × 1; Mug × 1" in shipments.content.decode()
    download = admin_client.get("/admin/subscriptions/skippeddelivery/shipments/?period=2027-01&format=csv")
    assert download["Content-Type"].startswith("text/csv") and b"ana@example.com" in download.content
    assert admin_client.get("/admin/subscriptions/skippeddelivery/shipments/?period=27-1").status_code == 400
    # Staff without the permission to view customers never get their addresses.
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)
    assert client.get("/admin/subscriptions/skippeddelivery/shipments/?period=2027-01").status_code == 403


def test_the_dashboards_plan_breakdown_names_bundles(catalog):
    from django.utils import translation

    from assina.analytics.presentation import plans_table

    subscribe(make_customer(email="ana@example.com"), "duo")
    subscribe(make_customer(email="bia@example.com"), "beans")
    service.forget()
    report = service.report(months=1)
    service.forget()
    with translation.override("pt-br"):
        _head, rows = plans_table(report)
    assert sorted((r[0], r[1]) for r in rows[:2]) == [("Beans", "R$\xa049,90"), ("Duo (pacote)", "R$\xa067,83")]


def test_the_receipt_and_the_pdf_show_a_bundles_parts(catalog):
    from assina.invoices.pdf import render_invoice_pdf
    from assina.notifications.context import invoice_vars

    bia = make_customer(email="bia@example.com", name="Bia", locale="pt-BR")
    subscribe(bia, "duo")
    invoice = Invoice.objects.get(customer=bia)
    lines = [(l["description"], l["amount"]) for l in invoice_vars(invoice, bia)["lines"]]
    assert lines == [("Duo", "R$\xa067,83"), ("Incluído: Beans (vale R$\xa049,90)", ""),
                     ("Incluído: Mug (vale R$\xa029,90)", ""), ("Frete: grátis a partir de R$\xa050,00", "R$\xa00,00")]
    assert render_invoice_pdf(invoice).startswith(b"%PDF")


def test_the_portals_next_invoice_counts_the_shipping_and_a_skipped_delivery(catalog):
    from assina.portal.upcoming import upcoming_for, with_flags
    from assina.subscriptions.models import Subscription

    sub = subscribe(make_customer(email="ana@example.com"), "beans")

    def upcoming():
        subs = list(with_flags(Subscription.objects.filter(pk=sub.pk)).prefetch_related("items__plan_version__plan"))
        return upcoming_for(subs, 0, "en")[sub.pk]

    assert upcoming().total == 4990 + 1500
    deliveries.skip_next_delivery(sub.pk)
    assert upcoming().total == 0


@pytest.mark.parametrize("locale, message", [("en", "an add-on ships with its plan"),
                                             ("pt-br", "um adicional é enviado com o seu plano")])
def test_an_add_on_cannot_ship_goods_of_its_own(catalog, locale, message):
    """Shipping, the address and skipping go with the plan: an add-on shipping on its own would
    bill shipping to a customer nobody asked for an address and who could not skip."""
    from django.utils import translation

    from assina.i18n import localized_message

    with translation.override(locale), pytest.raises(CatalogError) as refused:
        set_shipping("mug", ships_goods=True, fee=1000, at=now())
    with translation.override(locale):
        assert message in localized_message(refused.value)
    assert not reload_plan("mug").ships_goods
    set_shipping("mug", ships_goods=False, at=now())  # saying it ships nothing is fine


def reload_plan(code):
    from assina.catalog.models import Plan

    return Plan.objects.get(code=code)

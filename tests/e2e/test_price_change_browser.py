"""A price migration's choice in headless Chromium (issue 19), in English and in Portuguese, at
390 px, with no Content-Security-Policy violation: a customer of Pro (R$50.00, going up to
R$60.00 on March 1, 2027, Basic R$35.00 offered) opens the price-change page from their portal,
reads the change in their language, keeps the owner's default (accept) checked, chooses to switch
to Basic instead and saves; the March renewal then bills Basic at R$35.00.
Screenshots go to /tmp/shots/price-change/."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import portal_page

from assina.invoices.models import Invoice
from assina.repricing import services
from assina.repricing.models import PriceMigrationMember

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/price-change")
MARCH = utc(2027, 3, 1)
WORDS = {
    "en": {"heading": "The price of Pro changes on March 1, 2027", "save": "Save my choice",
           "saved": "Thank you: your choice is saved. You can change it until the date of the change."},
    "pt-BR": {"heading": "O preço do Pro muda em 1 de março de 2027", "save": "Salvar minha escolha",
              "saved": "Obrigado: sua escolha foi salva. Você pode mudá-la até a data da mudança."},
}


def _shot(page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name  # no sideways scrolling
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_a_customer_chooses_the_cheaper_plan_and_the_renewal_bills_it(live_server, browser_context, locale):
    words = WORDS[locale]
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    make_plan("basic", 3500, name="Basic")
    customer = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    sub = subscribe(customer, "pro")
    advance(utc(2027, 1, 20))
    services.create_migration(plan_code="pro", new_amount=6000, effective_at=MARCH, switch_plan_code="basic",
                              default_choice="accept")

    page = portal_page(browser_context, live_server, customer)
    page.goto(f"{live_server.url}/portal/price-change/")
    assert page.inner_text("h1").replace("\xa0", " ") == words["heading"]
    assert page.is_checked("input[value=accept]")  # the owner's default, until the customer chooses
    _shot(page, f"choice-{locale}")
    page.check("input[value=switch]")
    page.click(f"text={words['save']}")
    page.wait_for_selector("p.success")
    assert page.inner_text("p.success") == words["saved"]
    assert page.is_checked("input[value=switch]")
    assert PriceMigrationMember.objects.get(subscription=sub).choice == "switch"
    _shot(page, f"chosen-{locale}")
    assert page.evaluate("window.__violations") == []

    advance(MARCH)
    march = Invoice.objects.get(subscription=sub, period_start=MARCH)
    assert [(line.description, line.amount) for line in march.lines.order_by("pk")] == [("Basic", 3500)]

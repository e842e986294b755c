"""The portal's delivery page in headless Chromium (issue 19), in English and in Portuguese, at
390 px, with no Content-Security-Policy violation: the customer gives a shipping address (a bad
postal code is refused with its reason), sees how far free shipping is, and skips the next
delivery. Screenshots go to /tmp/shots/delivery/."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.services import set_shipping
from assina.customers.models import Customer
from assina.portal import services
from assina.subscriptions.models import SkippedDelivery
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/delivery")
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
WORDS = {
    "en": {"save": "Save the address", "bad": "a Brazilian CEP has 8 digits", "saved": "Done: your deliveries go to the new address.",
           "far": "Add R$0.10 more per delivery and shipping is free (from R$50.00).", "skip": "Skip the next delivery",
           "skipped": "Done: the delivery of February 1, 2027 is skipped and will not be charged."},
    "pt-BR": {"save": "Salvar o endereço", "bad": "o CEP tem 8 dígitos", "saved": "Pronto: suas entregas vão para o novo endereço.",
              "far": "Adicione mais R$ 0,10 por entrega e o frete fica grátis (a partir de R$ 50,00).",
              "skip": "Pular a próxima entrega",
              "skipped": "Pronto: a entrega de 1 de fevereiro de 2027 foi pulada e não será cobrada."},
}


def _shot(page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name  # no sideways scrolling
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_the_customer_gives_an_address_and_skips_the_next_delivery(live_server, browser_context, locale):
    words = WORDS[locale]
    start_clock(utc(2027, 1, 1))
    make_plan("beans", 4990, name="Beans")
    set_shipping("beans", ships_goods=True, fee=1500, free_from=5000, max_skips_per_year=2, at=now())
    customer = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    sub = subscribe(customer, "beans")
    _link, url = services.create_link(customer)

    browser_context.add_init_script(WATCH)
    page = browser_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url.replace("http://127.0.0.1:8000", live_server.url))
    page.click("button.primary")
    page.wait_for_selector("header")
    page.goto(f"{live_server.url}/portal/delivery/")
    assert words["far"] in page.inner_text("p.note").replace("\xa0", " ")
    page.fill("#line1", "Rua Augusta 100")
    page.fill("#city", "São Paulo")
    page.fill("#state", "SP")
    page.fill("#postal_code", "0130")
    page.fill("#country", "BR")
    page.click(f"text={words['save']}")
    assert words["bad"] in page.inner_text("p.error")
    assert page.input_value("#line1") == "Rua Augusta 100"  # what was typed stays
    page.fill("#postal_code", "01305000")
    page.click(f"text={words['save']}")
    page.wait_for_selector("p.success")
    assert page.inner_text("p.success") == words["saved"]
    assert Customer.objects.get(pk=customer.pk).shipping_address["postal_code"] == "01305-000"
    _shot(page, f"delivery-{locale}")
    page.click(f"text={words['skip']}")
    page.wait_for_selector("p.success")
    assert page.inner_text("p.success") == words["skipped"]
    assert SkippedDelivery.objects.filter(subscription=sub, period_start=utc(2027, 2, 1)).count() == 1
    _shot(page, f"delivery-skipped-{locale}")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"delivery-skipped-{locale}-1280.png"), full_page=True)
    assert page.evaluate("window.__violations") == []

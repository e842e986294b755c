"""The portal's delivery page in headless Chromium (issue 19), in English and in Portuguese, at
390 px, with no Content-Security-Policy violation: the customer gives a shipping address (a bad
postal code is refused with its reason), sees how far free shipping is, and skips the next
delivery. Then the test clock runs (``advance``: the clock moved and the due work done, as
``assina clock advance`` does) and the customer reads the bills in the portal's invoice list and
their PDFs: shipping charged while the spend is under the free-shipping threshold, the skipped
delivery's period at 0, and shipping free once an add-on takes the spend over the threshold.
Screenshots go to /tmp/shots/delivery/.

Amounts by hand: Beans R$ 49,90 + shipping R$ 15,00 = R$ 64,90 in January (49,90 < 50,00);
February skipped: R$ 0,00. A Mug (R$ 29,90) added on February 15: 2990 x 14/28 = 1495 for the
rest of February, then March: 4990 + 2990 = 7980 >= 5000, shipping free: 7980 + 1495 = 9475."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
from factories import advance, make_addon, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import portal_page

from assina.catalog.services import set_shipping
from assina.core.money import Money
from assina.i18n import format_money
from assina.customers.models import Customer
from assina.subscriptions.models import SkippedDelivery
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/delivery")
WORDS = {
    "en": {"save": "Save the address", "bad": "a Brazilian CEP has 8 digits", "saved": "Done: your deliveries go to the new address.",
           "far": "Add R$0.10 more per delivery and shipping is free (from R$50.00).", "skip": "Skip the next delivery",
           "skipped": "Done: the delivery of February 1, 2027 is skipped and will not be charged."},
    "pt-BR": {"save": "Salvar o endereço", "bad": "o CEP tem 8 dígitos", "saved": "Pronto: suas entregas vão para o novo endereço.",
              "far": "Adicione mais R$ 0,10 por entrega e o frete fica grátis (a partir de R$ 50,00).",
              "skip": "Pular a próxima entrega",
              "skipped": "Pronto: a entrega de 1 de fevereiro de 2027 foi pulada e não será cobrada."},
}
# The invoice lines' texts (core.invoicing, translated in src/assina/locale); amounts in them are
# formatted with format_money for the customer's locale.
LINES = {
    "en": {"shipping": "Shipping", "free": "Shipping: free from {}", "skipped": "Delivery skipped: Beans (not billed)",
           "free_note": "Shipping is free: your deliveries reach {}.", "add": "Add to my subscription"},
    "pt-BR": {"shipping": "Frete", "free": "Frete: grátis a partir de {}",
              "skipped": "Entrega pulada: Beans (não cobrada)", "free_note": "O frete é grátis: suas entregas chegam a {}.",
              "add": "Incluir na minha assinatura"},
}


def _shot(page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name  # no sideways scrolling
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)


def _money(amount: int, locale: str) -> str:
    return format_money(Money(amount, "BRL"), locale).replace("\xa0", " ")


def _invoices(page, live_server) -> tuple[list[str], list[str]]:
    """The portal's invoice list, newest first: the rows' totals, and the texts of the newest
    one's PDF (fetched with the customer's own session, its compressed page streams read)."""
    page.goto(f"{live_server.url}/portal/")
    rows = page.eval_on_selector_all("#invoices tbody tr", "rows => rows.map(r => [r.cells[3].innerText, r.querySelector('a').href])")
    pdf = page.request.get(rows[0][1]).body()
    texts = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        texts += [re.sub(rb"\\(.)", rb"\1", m).decode("cp1252") for m in re.findall(rb"\((.*?)\) Tj", content)]
    return [total.replace("\xa0", " ") for total, _href in rows], [t.replace("\xa0", " ") for t in texts]


def _line(texts: list[str], description: str) -> str:
    """The amount the PDF writes on the line of ``description`` (the amount comes first)."""
    assert description in texts, texts
    return texts[texts.index(description) - 1]


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_the_customer_gives_an_address_skips_a_delivery_and_reads_the_shipping_on_the_invoices(live_server,
                                                                                             browser_context, locale):
    words, lines = WORDS[locale], LINES[locale]
    start_clock(utc(2027, 1, 1))
    make_plan("beans", 4990, name="Beans")
    make_addon("mug", 2990, name="Mug")
    set_shipping("beans", ships_goods=True, fee=1500, free_from=5000, max_skips_per_year=2, at=now())
    customer = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    sub = subscribe(customer, "beans")

    page = portal_page(browser_context, live_server, customer)
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
    page.set_viewport_size({"width": 390, "height": 844})

    # January, under the threshold: Beans and the shipping fee.
    totals, texts = _invoices(page, live_server)
    assert totals == [_money(6490, locale)]
    assert _line(texts, "Beans") == _money(4990, locale) and _line(texts, lines["shipping"]) == _money(1500, locale)
    page.click("details.upcoming summary")  # what the next invoice will show: the skip, at 0
    assert lines["skipped"] in page.inner_text("details.upcoming")

    # February, skipped: its invoice is at 0 with the one "Delivery skipped" line, no shipping.
    advance(utc(2027, 2, 1))
    totals, texts = _invoices(page, live_server)
    assert totals == [_money(0, locale), _money(6490, locale)] and _line(texts, lines["skipped"]) == _money(0, locale)
    assert lines["shipping"] not in texts and "Beans" not in texts

    # A Mug added in the portal takes the spend over R$ 50,00: March ships free.
    advance(utc(2027, 2, 15))
    page.goto(f"{live_server.url}/portal/subscriptions/{sub.pk}/addons/")
    page.check("input[name=addon][value=mug]")
    page.click(f"text={lines['add']}")
    page.wait_for_selector("p.success")
    page.goto(f"{live_server.url}/portal/delivery/")
    assert page.inner_text("p.note").replace("\xa0", " ") == lines["free_note"].format(_money(5000, locale))
    advance(utc(2027, 3, 1))
    totals, texts = _invoices(page, live_server)
    assert totals == [_money(9475, locale), _money(0, locale), _money(6490, locale)]
    assert _line(texts, "Beans") == _money(4990, locale) and _line(texts, "Mug") == _money(2990, locale)
    assert _line(texts, lines["free"].format(_money(5000, locale))) == _money(0, locale)
    _shot(page, f"invoices-{locale}")
    assert page.evaluate("window.__violations") == []

"""A customer on a bundle in headless Chromium (issue 19), in English and in Portuguese, at 390 px,
with no Content-Security-Policy violation: the portal's home shows the bundle with its parts and
the saving, "What your next invoice will show" has the parts' lines, and the invoice opened from
the invoice list (its PDF) lists the parts. A metered customer sees the plan their last billed
usage calls for, with the reason, first among the suggestions. Screenshots go to /tmp/shots/bundle/."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
from factories import advance, make_addon, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import portal_page
from usage_support import send, usage

from assina.catalog.services import create_bundle
from assina.portal.views import cards
from assina.time import now
from assina.usage.services import add_metered_price, create_metric

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/bundle")
WORDS = {
    "en": {"parts": ["Pro × 1 (worth R$49.90)", "Storage × 1 (worth R$19.90)"],
           "saving": "You save R$9.90 every month against buying them apart (R$69.80).",
           "open": "What your next invoice will show",
           "lines": ["Included: Pro (worth R$49.90)", "Included: Storage (worth R$19.90)"]},
    "pt-BR": {"parts": ["Pro × 1 (vale R$ 49,90)", "Storage × 1 (vale R$ 19,90)"],
              "saving": "Você economiza R$ 9,90 a cada mês em relação a comprá-los separados (R$ 69,80).",
              "open": "O que a sua próxima fatura vai mostrar",
              "lines": ["Incluído: Pro (vale R$ 49,90)", "Incluído: Storage (vale R$ 19,90)"]},
}


def _pdf_texts(pdf: bytes) -> list[str]:
    """The strings the PDF writes in its (deflated) page streams (core fonts: Windows-1252)."""
    content = b"".join(zlib.decompress(stream) for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
                       if stream[:1] == b"x")
    return [re.sub(rb"\\(.)", rb"\1", m).decode("cp1252").replace("\xa0", " ").strip()
            for m in re.findall(rb"\((.*?)\) Tj", content)]


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_a_customer_on_a_bundle_sees_its_parts_in_the_portal_and_on_the_invoice(live_server, browser_context, locale):
    words = WORDS[locale]
    start_clock(utc(2027, 1, 10, 12))
    make_plan("pro", 4990, name="Pro")
    make_addon("storage", 1990, name="Storage")
    create_bundle(code="duo", name="Duo", parts=[("pro", 1), ("storage", 1)], price=5990, at=now())
    customer = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    subscribe(customer, "duo")

    page = portal_page(browser_context, live_server, customer)
    page.wait_for_selector("#subscription")

    parts = [text.replace("\xa0", " ") for text in page.locator("dd.bundle-parts li").all_inner_texts()]
    assert parts == words["parts"]
    assert page.inner_text("dd.bundle-parts .muted").replace("\xa0", " ") == words["saving"]
    page.click(f"summary:has-text('{words['open']}')")
    shown = page.inner_text("details.upcoming").replace("\xa0", " ")
    assert all(line in shown for line in words["lines"]), shown
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    assert page.evaluate("window.__violations") == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"home-{locale}-390.png"), full_page=True)

    # The invoice the customer opens from the list: its PDF lists the parts under the bundle.
    href = page.get_attribute("#invoices a[href$='/pdf']", "href")
    response = page.request.get(f"{live_server.url}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    texts = _pdf_texts(response.body())
    assert all(line in texts for line in words["lines"]), texts

    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"home-{locale}-1280.png"), full_page=True)


UPSELL = {
    "en": ("With your usage last period (1,700 API calls), Team would have cost R$150.00 instead of R$170.00.", "See the plan"),
    "pt-BR": ("Com o seu uso no último período (1.700 API calls), o Team teria custado R$ 150,00 em vez de R$ 170,00.",
              "Ver o plano"),
}


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_a_metered_customer_is_shown_the_plan_their_usage_calls_for(live_server, browser_context, locale):
    reason, button = UPSELL[locale]
    cards.forget()
    start_clock(utc(2027, 1, 1))
    create_metric(code="calls", name="API calls", aggregation="sum")
    make_plan("pro", 10000, name="Pro")
    add_metered_price(plan_code="pro", metric_code="calls", pricing_model="graduated",
                      tiers=[{"up_to": 1000, "unit_amount": 0}, {"up_to": None, "unit_amount": 10}])
    make_plan("team", 15000, name="Team")
    add_metered_price(plan_code="team", metric_code="calls", pricing_model="graduated",
                      tiers=[{"up_to": 10000, "unit_amount": 0}, {"up_to": None, "unit_amount": 5}])
    customer = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    subscribe(customer, "pro")
    advance(utc(2027, 1, 10))
    send(usage("a1", customer, "calls", 1700, utc(2027, 1, 10)))
    advance(utc(2027, 2, 1, 1))

    page = portal_page(browser_context, live_server, customer)
    page.wait_for_selector("section.suggestions")
    assert reason in page.inner_text("section.suggestions").replace("\xa0", " ")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("section.suggestions").screenshot(path=str(SHOTS / f"upsell-{locale}-390.png"))
    page.click(f"section.suggestions a:has-text('{button}')")
    page.wait_for_selector("input[name=plan][value=team]:checked")
    assert page.evaluate("window.__violations") == []
    page.screenshot(path=str(SHOTS / f"upsell-change-{locale}-390.png"), full_page=True)
    cards.forget()

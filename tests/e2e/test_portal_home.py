"""The portal's home in headless Chromium (issue 16): in English and in Portuguese, at 390 px,
with no Content-Security-Policy violation; screenshots go to /tmp/shots/portal/."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import make_addon, make_customer, make_plan, start_clock, subscribe, utc

from assina.portal import services

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/portal")
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.mark.parametrize(("locale", "heading", "terms"), [
    ("en", "Your subscription", "You can cancel at any time"),
    ("pt-BR", "Sua assinatura", "Você pode cancelar a qualquer momento"),
])
def test_the_portal_home_reads_on_a_phone_in_the_customers_language(live_server, browser_context, locale, heading, terms):
    start_clock(utc(2027, 3, 1, 12))
    make_plan("pro", 4990, name="Pro")
    make_addon("seats", 1000, name="Extra seats")
    customer = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    subscribe(customer, "pro", addons=[("seats", 2)])
    _link, url = services.create_link(customer, flow="update_payment_method")

    browser_context.add_init_script(WATCH)
    problems: list[str] = []
    page = browser_context.new_page()
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url.replace("http://127.0.0.1:8000", live_server.url))
    page.click("button.primary")
    page.wait_for_selector("#subscription h2")
    assert page.inner_text("#subscription h2") == heading
    assert terms in page.inner_text("#subscription")
    assert "4242" in page.inner_text("#card") and page.get_attribute("#card", "class") == "focus"
    assert page.locator("#invoices a[href$='/pdf']").count() == 1
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"home-{locale}-390.png"), full_page=True)
    problems.extend(page.evaluate("window.__violations"))
    assert problems == []

    pdf = page.request.get(live_server.url + page.get_attribute("#invoices a[href$='/pdf']", "href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"

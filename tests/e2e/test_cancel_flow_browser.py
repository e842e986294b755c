"""The cancel flow in headless Chromium (issue 16), in English and in Portuguese at 390 px: one
customer takes the pause offered for "not using it" and is paused; another gives a reason with
no offer and cancels, keeping access until the period ends. No Content-Security-Policy
violation; screenshots of each step go to /tmp/shots/cancel/."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import make_customer, make_plan, reload, start_clock, subscribe, utc

from assina.portal import services

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/cancel")
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
WORDS = {
    "en": {"paused": "Your subscription is paused until April 1, 2027", "canceled": "You keep access until April 1, 2027"},
    "pt-BR": {"paused": "Sua assinatura está pausada até 1 de abril de 2027",
              "canceled": "Você mantém o acesso até 1 de abril de 2027"},
}


def _open(browser_context, live_server, customer, problems: list[str]):
    page = browser_context.new_page()
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_viewport_size({"width": 390, "height": 844})
    _link, url = services.create_link(customer, flow="cancel")
    page.goto(url.replace("http://127.0.0.1:8000", live_server.url))
    page.click("button.primary")
    page.wait_for_selector("#subscription")
    return page


def _shot(page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_a_customer_pauses_instead_and_another_cancels_at_period_end(live_server, browser_context, locale):
    start_clock(utc(2027, 3, 1, 12))
    make_plan("pro", 4990, name="Pro")
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser_context.add_init_script(WATCH)
    problems: list[str] = []

    ana = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    asub = subscribe(ana, "pro")
    page = _open(browser_context, live_server, ana, problems)
    page.goto(f"{live_server.url}/portal/cancel/{asub.pk}/")
    _shot(page, f"1-reason-{locale}")
    page.check("input[value='unused']")
    page.fill("#reason_text", "Busy month")
    page.click("button[type=submit].primary")
    page.wait_for_selector(".offer")
    _shot(page, f"2-offer-pause-{locale}")
    page.click("form[action$='/accept'] button")
    page.wait_for_selector(".success")
    assert WORDS[locale]["paused"] in page.inner_text(".success")
    _shot(page, f"3-saved-{locale}")
    problems.extend(page.evaluate("window.__violations"))
    assert reload(asub).status == "paused"

    bia = make_customer(name="Bia Lima", email=f"bia-{locale.lower()}@example.com", locale=locale)
    bsub = subscribe(bia, "pro")
    page = _open(browser_context, live_server, bia, problems)
    page.goto(f"{live_server.url}/portal/cancel/{bsub.pk}/")
    page.check("input[value='switched_service']")
    page.click("button[type=submit].primary")
    page.wait_for_selector("button.danger")
    _shot(page, f"4-confirm-{locale}")
    page.click("button.danger")
    page.wait_for_selector(".success")
    assert WORDS[locale]["canceled"] in page.inner_text(".success")
    _shot(page, f"5-canceled-{locale}")
    problems.extend(page.evaluate("window.__violations"))
    sub = reload(bsub)
    assert sub.cancel_at_period_end and sub.status == "active" and sub.current_period_end == utc(2027, 4, 1, 12)
    assert problems == []

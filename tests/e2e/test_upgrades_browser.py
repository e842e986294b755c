"""Switching to annual and a temporary upgrade in headless Chromium (issue 16): in English and in
Portuguese, at 390 px, with no Content-Security-Policy violation. Screenshots go to
/tmp/shots/upgrades/."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import advance, invoices_of, make_customer, make_plan, start_clock, subscribe, utc

from assina.portal import services as portal
from assina.time import now
from assina.upgrades import services
from assina.upgrades.models import AnnualOffer, TrialPlan

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/upgrades")
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
WORDS = {
    "en": {"due": "R$285.68", "done": "You are on annual billing", "try": "Start my free trial of Premium",
           "trying": "You are trying Premium", "keep": "Keep Premium", "kept": "You now have Premium"},
    "pt-BR": {"due": "R$ 285,68", "done": "Você está na cobrança anual", "try": "Começar meu teste grátis do Premium",
              "trying": "Você está testando o plano Premium", "keep": "Ficar com o Premium",
              "kept": "Agora você tem o plano Premium"},
}


def _main(page) -> str:
    return page.inner_text("main").replace("\xa0", " ")


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_a_customer_switches_to_annual_and_tries_then_keeps_a_higher_plan(live_server, browser_context, locale):
    words = WORDS[locale]
    start_clock(utc(2027, 3, 1))
    basic = make_plan("basic", 3000, name="Basic")
    AnnualOffer.objects.create(monthly_plan=basic, annual_plan=make_plan("basic-annual", 36000, name="Basic Annual", interval="year"),
                               incentive="percent", percent_off="15", created_at=now())
    TrialPlan.objects.create(plan=make_plan("premium", 6000, name="Premium"), days=14, created_at=now())
    customer = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    yearly, trying = subscribe(customer, "basic"), subscribe(customer, "basic")
    advance(utc(2027, 3, 11))
    _link, url = portal.create_link(customer)

    browser_context.add_init_script(WATCH)
    problems: list[str] = []
    page = browser_context.new_page()
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url.replace("http://127.0.0.1:8000", live_server.url))
    page.click("button.primary")
    page.wait_for_selector("#subscription")
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/portal/annual/{yearly.pk}/")
    assert words["due"] in _main(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / f"annual-{locale}-390.png"), full_page=True)
    page.click("button.primary")
    page.wait_for_selector("a.button")
    assert words["done"] in _main(page) and words["due"] in _main(page)
    assert invoices_of(yearly)[-1].total == 28568

    page.goto(f"{live_server.url}/portal/upgrade/{trying.pk}/")
    page.screenshot(path=str(SHOTS / f"upgrade-{locale}-390.png"), full_page=True)
    page.click(f"button:has-text('{words['try']}')")
    page.wait_for_selector("input[value=confirm]", state="attached")
    assert words["trying"] in _main(page)
    assert services.access_plan(trying).code == "premium" and len(invoices_of(trying)) == 1
    page.screenshot(path=str(SHOTS / f"trial-{locale}-390.png"), full_page=True)
    page.click(f"button:has-text('{words['keep']}')")
    page.wait_for_selector("a.button")
    assert words["kept"] in _main(page)
    trying.refresh_from_db()
    assert trying.plan.code == "premium" and len(invoices_of(trying)) == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    problems.extend(page.evaluate("window.__violations"))
    assert problems == []

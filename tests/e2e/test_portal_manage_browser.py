"""The portal's self-service in headless Chromium (issue 16), in English and in Portuguese, at
390 px, with no Content-Security-Policy violation: a plan change shown with its proration before
it is confirmed, then a pause and a resume. Screenshots of each page go to /tmp/shots/portal/."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import advance, make_addon, make_customer, make_plan, start_clock, subscribe, utc

from assina.portal import services
from assina.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/portal")
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
WORDS = {
    "en": {"change": "Change plan or quantity", "see": "See what it costs", "confirm": "Confirm the change",
           "preview": "R$30.97 is added to your next invoice", "changed": "Done: your plan is now Pro × 2.",
           "next": "R$150.97 on February 1, 2027", "pause": "Pause", "pause_it": "Pause my subscription",
           "paused": "paused until", "resume": "Resume", "resumed": "Done: your subscription is active again."},
    "pt-BR": {"change": "Alterar plano ou quantidade", "see": "Ver quanto custa", "confirm": "Confirmar a mudança",
              "preview": "R$ 30,97 é somado à sua próxima fatura", "changed": "Pronto: o seu plano agora é Pro × 2.",
              "next": "R$ 150,97 em 1 de fevereiro de 2027", "pause": "Pausar", "pause_it": "Pausar a minha assinatura",
              "paused": "pausada até", "resume": "Retomar", "resumed": "Pronto: a sua assinatura está ativa de novo."},
}


def _shot(page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name  # no sideways scrolling
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_a_plan_change_is_previewed_then_confirmed_and_a_pause_is_resumed(live_server, browser_context, locale):
    words = WORDS[locale]
    start_clock(utc(2027, 1, 1))
    make_plan("basic", 3000, name="Basic", pricing_model="per_unit")
    make_plan("pro", 6000, name="Pro", pricing_model="per_unit")
    make_addon("seats", 1000, name="Extra seats")
    customer = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    sub = subscribe(customer, "pro")
    advance(utc(2027, 1, 16))
    _link, url = services.create_link(customer)

    browser_context.add_init_script(WATCH)
    problems: list[str] = []
    page = browser_context.new_page()
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url.replace("http://127.0.0.1:8000", live_server.url))
    page.click("button.primary")
    page.wait_for_selector("#subscription h2")

    page.click(f"text={words['change']}")
    page.wait_for_selector("input[name=quantity]")
    _shot(page, f"change-{locale}")
    page.check("input[value=pro]")
    page.fill("input[name=quantity]", "2")
    page.click(f"text={words['see']}")
    page.wait_for_selector("#preview")
    assert words["preview"] in page.inner_text("#preview").replace("\xa0", " ")
    _shot(page, f"change-preview-{locale}")
    page.click(f"text={words['confirm']}")
    page.wait_for_selector("p.success")
    assert page.inner_text("p.success") == words["changed"]
    assert words["next"] in page.inner_text("#subscription").replace("\xa0", " ")
    page.click("details.upcoming summary")
    _shot(page, f"home-after-change-{locale}")

    page.click(f"#subscription a.button:text-is('{words['pause']}')")
    page.wait_for_selector("input[name=periods]")
    _shot(page, f"pause-{locale}")
    page.check("input[name=periods][value='2']")
    page.click(f"text={words['pause_it']}")
    page.wait_for_selector("p.success")
    assert words["paused"] in page.inner_text("#subscription")
    assert Subscription.objects.get(pk=sub.pk).resumes_at == utc(2027, 3, 16)
    _shot(page, f"home-paused-{locale}")
    page.click(f"#subscription button:text-is('{words['resume']}')")
    page.wait_for_selector("p.success")
    assert page.inner_text("p.success") == words["resumed"]
    assert Subscription.objects.get(pk=sub.pk).status == "active"

    page.click("#subscription a.button.secondary[href$='/addons/']")
    page.wait_for_selector("input[name=addon]")
    _shot(page, f"addons-{locale}")

    problems.extend(page.evaluate("window.__violations"))
    assert problems == []

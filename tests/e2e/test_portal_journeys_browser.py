"""The portal's journeys in headless Chromium that the other browser tests leave out (issue 16),
in English and in Portuguese:

- every cancel reason shows the offer of its default rule (``retention.rules.DEFAULT_OFFERS``),
  one reason after the other in one visit, going back between them;
- declining an offer cancels at the period end, and the cancellation e-mail's link (received by
  a real SMTP server) undoes it in the browser;
- the switch to annual shows every amount of the documented example and the invoice bills them;
- a temporary upgrade reverts by itself once the test clock passes its end; a kept one stays;
- tampered, expired and used sign-in links get their page; another customer's ids get a 404;
- a POST without its CSRF token is refused (403) for each kind of portal form.

Each journey is one browser and as few page loads as the checks need.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from email_support import links, parts, smtp_server
from factories import advance, invoices_of, lines_of, make_customer, make_plan, reload, start_clock, subscribe, utc

from assina.payments.services import attach_card
from assina.portal import services as portal
from assina.retention.models import CancelSession, OfferKind
from assina.retention.rules import DEFAULT_OFFERS
from assina.scheduler import run_jobs
from assina.time import now
from assina.upgrades import services as upgrades
from assina.upgrades.models import AnnualOffer, TemporaryUpgrade, TrialPlan

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "http://127.0.0.1:8000"
# Each kind of offer as the page words it, for a Basic subscription of R$ 30,00 a month on March 11, 2027
# (the defaults: a pause of one period, 20 % off three payments, "tell us more" with no discount).
OFFERS = {
    "en": {
        OfferKind.PAUSE: ("Would a break help?", "Pause your subscription for 1 month instead of cancelling. "
                                                 "You are not charged until April 11, 2027;"),
        OfferKind.DISCOUNT: ("Stay with a discount?", "20% off your next 3 payments: you pay R$24.00 instead of R$30.00 each time."),
        OfferKind.FEEDBACK: ("Tell us more", "What could we have done better? Your answer goes straight to our team."),
        OfferKind.NONE: ("Cancel your Basic subscription?", "Your subscription ends on April 1, 2027"),
    },
    "pt-BR": {
        OfferKind.PAUSE: ("Uma pausa ajudaria?", "Pause sua assinatura por 1 mês em vez de cancelar. "
                                                 "Você não será cobrado até 11 de abril de 2027;"),
        OfferKind.DISCOUNT: ("Fique com um desconto?", "20% de desconto nos próximos 3 pagamentos: você paga R$ 24,00 "
                                                       "em vez de R$ 30,00 em cada um."),
        OfferKind.FEEDBACK: ("Conte mais", "O que poderíamos ter feito melhor? Sua resposta vai direto para a nossa equipe."),
        OfferKind.NONE: ("Cancelar sua assinatura Basic?", "1 de abril de 2027"),
    },
}
WORDS = {
    "en": {"canceled": "You keep access until April 1, 2027 and you will not be charged again.",
           "mail": "Keep my subscription", "back": "Welcome back!",
           "renews": "Your Basic subscription continues and renews on April 1, 2027",
           # docs/portal.md "Switch to annual": R$ 30,00 a month, R$ 360,00 a year, 15 %, day 11 of 31.
           "annual": [("Twelve monthly payments of R$30.00", "R$360.00"), ("A year of Basic Annual", "R$360.00"),
                      ("Your incentive: 15% off the first year", "-R$54.00"), ("Your first year", "R$306.00"),
                      ("You save against twelve monthly payments", "R$54.00"),
                      ("Credit for the unused part of this month", "-R$20.32"), ("You pay now", "R$285.68")],
           "try": "Start my free trial of {plan}", "trying": "You are trying {plan}", "keep": "Keep {plan}",
           "kept": "You now have {plan}", "offer": "Your free trial of Premium ends on", "higher": "Try a higher plan",
           "invalid": "This link is not valid", "expired": "This link has expired", "used": "This link has already been used", "not_found": "Page not found"},
    "pt-BR": {"canceled": "Você mantém o acesso até 1 de abril de 2027 e não será cobrado novamente.",
              "mail": "Manter minha assinatura", "back": "Que bom ter você de volta!",
              "renews": "Sua assinatura Basic continua e será renovada em 1 de abril de 2027",
              "annual": [("Doze pagamentos mensais de R$ 30,00", "R$ 360,00"), ("Um ano do plano Basic Annual", "R$ 360,00"),
                         ("Seu incentivo: 15% de desconto no primeiro ano", "-R$ 54,00"), ("Seu primeiro ano", "R$ 306,00"),
                         ("Você economiza em relação a doze pagamentos mensais", "R$ 54,00"),
                         ("Crédito pela parte não usada deste mês", "-R$ 20,32"), ("Você paga agora", "R$ 285,68")],
              "try": "Começar meu teste grátis do {plan}", "trying": "Você está testando o plano {plan}",
              "keep": "Ficar com o {plan}", "kept": "Agora você tem o plano {plan}",
              "offer": "Seu teste grátis do plano Premium termina em", "higher": "Teste um plano superior",
              "invalid": "Este link não é válido", "expired": "Este link expirou", "used": "Este link já foi usado", "not_found": "Página não encontrada"},
}


def _text(page, selector: str = "main") -> str:
    return re.sub(r"\s+", " ", page.inner_text(selector).replace("\xa0", " ")).strip()


def _local(url: str, live_server) -> str:
    return url.replace(BASE, live_server.url)


def _sign_in(page, live_server, customer) -> None:
    _link, url = portal.create_link(customer)
    page.goto(_local(url, live_server))
    page.click("button.primary")
    page.wait_for_selector("#subscription")


@pytest.fixture
def inbox(settings):
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


@pytest.fixture
def shop():
    """Basic (R$ 30,00 a month) with an annual offer (15 %) and two plans to try."""
    start_clock(utc(2027, 3, 1, 12))
    basic = make_plan("basic", 3000, name="Basic")
    AnnualOffer.objects.create(monthly_plan=basic, annual_plan=make_plan("basic-annual", 36000, name="Basic Annual", interval="year"),
                               incentive="percent", percent_off="15", created_at=now())
    TrialPlan.objects.create(plan=make_plan("premium", 6000, name="Premium"), days=14, created_at=now())
    TrialPlan.objects.create(plan=make_plan("max", 9000, name="Max"), days=7, created_at=now())


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_cancel_offers_reactivation_annual_and_temporary_upgrades(live_server, browser_context, inbox, shop, locale):
    words, offers = WORDS[locale], OFFERS[locale]
    ana = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    leaving, yearly, trying, keeping = (subscribe(ana, "basic") for _ in range(4))
    advance(utc(2027, 3, 11, 12))
    page = browser_context.new_page()
    _sign_in(page, live_server, ana)

    # Every reason, one after the other, shows the offer of its default rule.
    page.goto(f"{live_server.url}/portal/cancel/{leaving.pk}/")
    for reason, (kind, *_terms) in DEFAULT_OFFERS.items():
        page.check(f"input[name=reason][value='{reason}']")
        page.click("button[type=submit].primary")
        page.wait_for_url(re.compile(rf"/portal/cancel/{leaving.pk}/\d+/$"))
        title, line = offers[kind]
        assert _text(page, "h1") == title, reason
        assert line in _text(page, ".offer" if kind != OfferKind.NONE else "section"), reason
        assert page.locator(".offer").count() == (0 if kind == OfferKind.NONE else 1), reason
        page.go_back()
        page.wait_for_selector("input[name=reason]")
    assert reload(leaving).status == "active" and not reload(leaving).cancel_at_period_end
    assert CancelSession.objects.filter(subscription=leaving).count() == len(DEFAULT_OFFERS)

    # Declining the discount leads to the confirmation; confirming cancels at the period end.
    page.check("input[name=reason][value='too_expensive']")
    page.click("button[type=submit].primary")
    page.click("form[action$='/decline'] button")
    page.click("button.danger")
    page.wait_for_selector(".success")
    assert words["canceled"] in _text(page, ".success")
    sub = reload(leaving)
    assert sub.cancel_at_period_end and sub.status == "active" and sub.current_period_end == utc(2027, 4, 1, 12)
    # The cancellation e-mail's link undoes it.
    run_jobs(now(), at_due_time=False)
    [reactivate] = [url for m in inbox.to(ana.email) for url in links(parts(m)[1]) if "/c/reactivate/" in url]
    page.goto(_local(reactivate, live_server))
    page.click(f"button:has-text('{words['mail']}')")
    page.wait_for_selector(f"text={words['back']}")
    assert words["renews"] in _text(page, "body")
    assert not reload(leaving).cancel_at_period_end

    # The switch to annual shows the documented amounts, and its invoice bills them.
    page.goto(f"{live_server.url}/portal/annual/{yearly.pk}/")
    rows = page.eval_on_selector_all("main table tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    assert [tuple(re.sub(r"\s+", " ", cell.replace("\xa0", " ")).strip() for cell in row) for row in rows] == words["annual"]
    page.click("button.primary")
    page.wait_for_selector("a.button")
    [*_earlier, invoice] = invoices_of(yearly)
    assert lines_of(invoice) == [("subscription", 36000), ("discount", -5400), ("proration", -2032)]
    assert invoice.total == 28568 and invoice.amount_paid == 28568
    assert reload(yearly).plan.code == "basic-annual"

    # Two free trials started in the browser: Premium (14 days) is left to run out, Max (7 days) is kept.
    page.goto(f"{live_server.url}/portal/upgrade/{trying.pk}/")
    page.click(f"button:has-text('{words['try'].format(plan='Premium')}')")
    page.wait_for_selector(f"text={words['trying'].format(plan='Premium')}")
    page.goto(f"{live_server.url}/portal/upgrade/{keeping.pk}/")
    page.click(f"button:has-text('{words['try'].format(plan='Max')}')")
    page.click(f"button:has-text('{words['keep'].format(plan='Max')}')")
    page.wait_for_selector(f"text={words['kept'].format(plan='Max')}")
    page.goto(f"{live_server.url}/portal/")
    assert words["offer"] in _text(page, f"#sub-{trying.pk}")
    assert upgrades.access_plan(reload(trying)).code == "premium" and reload(trying).plan.code == "basic"

    advance(utc(2027, 3, 26, 12))  # Premium's trial ended on March 25 at noon
    page.reload()
    assert page.locator(f"#sub-{trying.pk} dd").first.inner_text() == "Basic"
    assert words["offer"] not in _text(page, f"#sub-{trying.pk}")
    assert page.locator(f"#sub-{keeping.pk} dd").first.inner_text() == "Max"
    page.goto(f"{live_server.url}/portal/upgrade/{trying.pk}/")
    assert _text(page, "h1") == words["higher"]
    assert upgrades.access_plan(reload(trying)).code == "basic"
    kept = reload(keeping)
    assert kept.plan.code == "max" and upgrades.access_plan(kept).code == "max"
    assert TemporaryUpgrade.objects.get(subscription=trying).reverted_at == utc(2027, 3, 25, 12)
    assert TemporaryUpgrade.objects.get(subscription=keeping).reverted_at is None


def _refused_without_token(page, button: str) -> int:
    """Submit the form of ``button`` with its CSRF token taken out; the response's status."""
    page.evaluate("document.querySelectorAll('input[name=csrfmiddlewaretoken]').forEach(i => i.remove())")
    with page.expect_navigation() as navigation:
        page.click(button)
    return navigation.value.status


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_links_other_customers_ids_and_csrf_are_refused(live_server, browser_context, shop, monkeypatch, locale):
    words = WORDS[locale]
    ana = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale)
    sub = subscribe(ana, "basic")
    other_card = attach_card(ana, "5555555555554444", now(), make_default=False)
    bia = make_customer(name="Bia Lima", email=f"bia-{locale.lower()}@example.com", locale=locale)
    bsub = subscribe(bia, "basic")
    [bia_invoice] = invoices_of(bsub)
    _link, url = portal.create_link(ana)
    advance(utc(2027, 3, 11, 12))  # ten days of test clock: the link, on the wall clock, still opens below
    page = browser_context.new_page()
    # The refusal pages speak the browser's language (before sign-in there is no customer): the
    # language cookie Django's set_language view leaves (this profile's Accept-Language is en-US).
    browser_context.add_cookies([{"name": "django_language", "value": locale.lower(), "url": live_server.url}])

    # Tampered: one character of the signed token changed.
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged = url.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert page.goto(_local(forged, live_server)).status == 404
    assert _text(page, "h1") == words["invalid"]
    # Expired: links live on the wall clock (docs/portal.md), 24 hours for one handed over.
    with monkeypatch.context() as later:
        later.setattr(portal, "wall", lambda: timezone.now() + timedelta(hours=24, minutes=1))
        assert page.goto(_local(url, live_server)).status == 410
        assert _text(page, "h1") == words["expired"]
    # Used: it opens once, then says so.
    page.goto(_local(url, live_server))
    page.click("button.primary")
    page.wait_for_selector("#subscription")
    assert page.goto(_local(url, live_server)).status == 410
    assert _text(page, "h1") == words["used"]

    # Another customer's subscription and invoice: the 404 page, for every page that takes an id.
    for path in (f"/portal/subscriptions/{bsub.pk}/change/", f"/portal/subscriptions/{bsub.pk}/pause/",
                 f"/portal/subscriptions/{bsub.pk}/addons/", f"/portal/cancel/{bsub.pk}/", f"/portal/annual/{bsub.pk}/",
                 f"/portal/upgrade/{bsub.pk}/", f"/portal/invoices/{bia_invoice.pk}/pdf"):
        assert page.goto(live_server.url + path).status == 404, path
        assert _text(page, "h1") == words["not_found"], path

    # Every kind of portal form, its CSRF token taken out: 403, and nothing changed.
    page.goto(f"{live_server.url}/portal/cancel/{sub.pk}/")
    page.check("input[name=reason][value='too_expensive']")
    assert _refused_without_token(page, "button[type=submit].primary") == 403
    page.goto(f"{live_server.url}/portal/subscriptions/{sub.pk}/pause/")
    page.locator("input[name=periods]").first.check()
    assert _refused_without_token(page, "form[action$='/pause/'] button[type=submit]") == 403
    page.goto(f"{live_server.url}/portal/subscriptions/{sub.pk}/change/?plan=premium&quantity=1")
    assert _refused_without_token(page, "#preview button[type=submit]") == 403
    page.goto(f"{live_server.url}/portal/annual/{sub.pk}/")
    assert _refused_without_token(page, "button.primary") == 403
    page.goto(f"{live_server.url}/portal/upgrade/{sub.pk}/")
    assert _refused_without_token(page, "form:has(input[value=start]) button") == 403
    page.goto(f"{live_server.url}/portal/")
    assert _refused_without_token(page, f"form[action$='/cards/{other_card.pk}/default/'] button") == 403
    assert _text(page, "h1") in ("Forbidden (403)", "Proibido (403)")
    sub = reload(sub)
    assert (sub.status, sub.plan.code, sub.cancel_at_period_end, sub.resumes_at) == ("active", "basic", False, None)
    assert not CancelSession.objects.exists() and not TemporaryUpgrade.objects.exists()
    assert len(invoices_of(sub)) == 1 and reload(ana).default_payment_method_id != other_card.pk

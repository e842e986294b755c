"""A visitor buys a plan through the hosted pricing page and checkout in headless Chromium (issue
19): in English and in Portuguese, at 390 px, with the sandbox gateway's test form: the yearly
toggle, an add-on and a promotion code; the form submitted twice (a double click, then the same
POST sent again) makes one customer, one subscription and one charge. Then the same purchase,
in both languages and submitted twice the same way, with Stripe.js's own fields against
localstripe: the card number never reaches Assina, and localstripe holds one account (the card
setup's, with the card on it) and one charge.
Screenshots go to /tmp/shots/selling/.

Amounts by hand: Pro R$ 49,90 + Extra seats R$ 10,00, 20 % off once: 5990 × 0.8 = 4792."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import GOOD_CARD, make_addon, make_plan, start_clock, utc
from localstripe_support import listed, localstripe_server, stripe_settings

from assina.catalog.models import Plan
from assina.catalog.services import create_coupon, create_promotion_code
from assina.customers.models import Customer
from assina.invoices.models import Invoice
from assina.payments.gateways import get_gateway
from assina.payments.models import GatewayCustomer, PaymentAttempt
from assina.selling.models import CheckoutSession
from assina.subscriptions.models import Subscription
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/selling")
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.effectiveDirective + ' ' + (e.blockedURI || 'inline')));
"""
WORDS = {
    "en": {"lang": "en", "yearly": "Yearly", "save": "Save R$99.80 a year (16%)", "choose": "Choose Pro",
           "total": "R$49.90", "thanks": "Thank you!", "bad_code": "The promotion code NOPE does not exist."},
    "pt-BR": {"lang": "pt-br", "yearly": "Anual", "save": "Economize R$ 99,80 por ano (16%)", "choose": "Escolher Pro",
              "total": "R$ 49,90", "thanks": "Obrigado!", "bad_code": "O código promocional NOPE não existe."},
}


def _shop():
    start_clock(utc(2027, 1, 1))
    pro = make_plan("pro", 4990, name="Pro")
    year = make_plan("pro-year", 49900, name="Pro yearly", interval="year", product_code="pro")
    make_addon("seats", 1000, name="Extra seats")
    Plan.objects.filter(pk__in=[pro.pk, year.pk]).update(public=True)
    coupon = create_coupon(code="welcome20", duration="once", percent_off="20", at=now())
    create_promotion_code(code="WELCOME", coupon_code=coupon.code, at=now())


def _main(page) -> str:
    return page.inner_text("main").replace("\xa0", " ")


def _fill(page, email: str, card: bool = True) -> None:
    page.fill("#email", email)
    page.fill("#name", "Ana Souza")
    page.fill("#tax_id", "529.982.247-25")
    page.check("input[name=addons][value=seats]")
    if card:
        page.fill("#number", GOOD_CARD)
        page.fill("#exp_month", "12")
        page.fill("#exp_year", "2031")


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_a_visitor_buys_a_plan_with_an_add_on_and_a_promotion_code_once(live_server, browser_context, locale):
    words = WORDS[locale]
    _shop()
    browser_context.add_init_script(WATCH)
    page = browser_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/pricing/?lang={words['lang']}")
    page.screenshot(path=str(SHOTS / f"pricing-{locale}-390.png"), full_page=True)
    assert not page.is_visible(f"text={words['save']}")
    page.click(f"label:has-text('{words['yearly']}')")
    assert page.is_visible(f"text={words['save']}")
    page.click(f"label:has-text('{words['yearly']}')")
    page.click(f"label[for=billing-monthly]")
    page.click(f"a:has-text('{words['choose']}')")
    page.wait_for_selector("#checkout-form")
    assert words["total"] in _main(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    _fill(page, f"ana-{locale.lower()}@example.com")
    page.fill("#promotion_code", "NOPE")
    page.click("#checkout-submit")
    page.wait_for_selector("#checkout-error:not([hidden])")
    assert words["bad_code"] in page.inner_text("#checkout-error") and Customer.objects.count() == 0
    page.screenshot(path=str(SHOTS / f"checkout-error-{locale}-390.png"), full_page=True)

    _fill(page, f"ana-{locale.lower()}@example.com")
    page.fill("#promotion_code", "WELCOME")
    form = page.evaluate("() => [document.getElementById('checkout-form').action, "
                         "new URLSearchParams(new FormData(document.getElementById('checkout-form'))).toString()]")
    page.dblclick("#checkout-submit")
    page.wait_for_selector(f"text={words['thanks']}")
    # The same POST again, as a browser retrying it would send it: the same answer, nothing more.
    again = page.evaluate("""([action, body]) => fetch(action, {method: 'POST', body: body, credentials: 'same-origin',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'}}).then(r => [r.status, r.url])""", form)
    assert again[0] == 200 and "/checkout/s/cs_" in again[1]
    page.screenshot(path=str(SHOTS / f"thanks-{locale}-390.png"), full_page=True)

    assert Customer.objects.count() == 1 and Subscription.objects.count() == 1 and PaymentAttempt.objects.count() == 1
    sub = Subscription.objects.get()
    assert sub.customer.locale == locale and sub.customer.tax_id == "529.982.247-25"
    assert sorted(sub.items.values_list("plan_version__plan__code", flat=True)) == ["pro", "seats"]
    assert list(Invoice.objects.values_list("total", "status")) == [(4792, "paid")]
    assert page.evaluate("window.__violations") == []


def _type_card(page, number: str) -> None:
    """localstripe's fake Card Element: plain inputs named by their placeholders (year in 2 digits)."""
    for field, value in (("number", number), ("exp_month", "12"), ("exp_year", "30"), ("cvc", "123"),
                         ("postal_code", "12345")):
        page.fill(f"#card-element input[placeholder={field}]", value)


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_with_stripe_the_card_goes_to_the_gateway_only_and_a_double_submit_buys_once(live_server, browser_context,
                                                                                     settings, locale):
    words = WORDS[locale]
    _shop()
    with localstripe_server() as url:
        for name, value in stripe_settings(url).items():
            setattr(settings, name, value)
        browser_context.add_init_script(WATCH)
        page = browser_context.new_page()
        page.set_viewport_size({"width": 390, "height": 844})
        to_assina: list = []
        page.on("request", lambda r: to_assina.append(r) if r.url.startswith(live_server.url) else None)
        page.goto(f"{live_server.url}/checkout/pro/?lang={words['lang']}")
        page.wait_for_selector("#card-element input[placeholder=number]")
        assert page.locator("input[name=number]").count() == 0  # no card field of Assina's own
        email = f"rui-{locale.lower()}@example.com"
        _fill(page, email, card=False)
        page.fill("#promotion_code", "WELCOME")
        _type_card(page, GOOD_CARD)
        page.dblclick("#checkout-submit")
        page.wait_for_selector(f"text={words['thanks']}")
        assert page.evaluate("document.documentElement.lang").lower() == words["lang"]
        page.screenshot(path=str(SHOTS / f"thanks-stripe-{locale}-390.png"), full_page=True)
        # The form's last POST (the confirmed SetupIntent's id in it) again, as a browser retrying
        # it would send it: the same thank-you page, nothing bought twice.
        final = [r for r in to_assina if r.method == "POST" and "seti_" in (r.post_data or "")]
        assert len(final) == 1, [r.post_data for r in to_assina if r.method == "POST"]
        again = page.evaluate("""([action, body]) => fetch(action, {method: 'POST', body: body, credentials: 'same-origin',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'}}).then(r => r.text().then(t => [r.status, r.url, t]))""",
                              [final[0].url, final[0].post_data])
        assert again[0] == 200 and "/checkout/s/cs_" in again[1] and words["thanks"] in again[2]

        assert Customer.objects.count() == 1 and Subscription.objects.count() == 1 and PaymentAttempt.objects.count() == 1
        sub = Subscription.objects.get()
        assert sub.customer.locale == locale and sub.customer.email == email
        method = sub.customer.default_payment_method
        assert (method.gateway, method.last4) == ("stripe", "4242") and method.token.startswith("pm_")
        invoice = Invoice.objects.get()
        assert (invoice.total, invoice.status) == (4792, "paid")
        # Pro, the add-on, then the promotion code's 20 % off both: (4990 + 1000) × 0.2 = 1198.
        assert list(invoice.lines.order_by("pk").values_list("kind", "item_code", "amount")) == [
            ("subscription", "pro", 4990), ("addon", "seats", 1000), ("discount", "welcome20", -1198)]
        # At the gateway: one account, the one the card setup was made on (localstripe leaves the
        # confirmed card unattached where Stripe attaches it: Assina attaches it there), with the
        # card on it and one charge of the invoice's total.
        remote = GatewayCustomer.objects.get(customer=sub.customer).remote_id
        session = CheckoutSession.objects.get()
        assert [(c["id"], c["email"], c["metadata"]["assina_customer"]) for c in listed(url, "customers")] == [
            (remote, email, f"checkout_{session.key}")]
        assert get_gateway().retrieve_card(method.token).customer_ref == remote
        assert [(i["amount"], i["currency"], i["customer"], i["status"]) for i in listed(url, "payment_intents")] == [
            (4792, "brl", remote, "succeeded")]
        assert [(c["amount"], c["paid"]) for c in listed(url, "charges")] == [(4792, True)]

        for request in to_assina:
            assert GOOD_CARD not in (request.url + (request.post_data or "")).replace(" ", "")
        assert page.evaluate("window.__violations") == []

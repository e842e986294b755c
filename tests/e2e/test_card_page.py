"""The customer's card page on the Stripe gateway, in a real headless Chromium against localstripe
(which serves its own fake Stripe.js at <its address>/js.stripe.com/v3/): the card is typed into
Stripe.js's fields and confirmed as a SetupIntent in the browser; Assina receives only the
SetupIntent's id, never the number. A declined card shows the gateway's message; the good card
then pays the open invoice; the link is spent; the page's Content-Security-Policy lets in
Stripe.js and nothing else."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from factories import GOOD_CARD, invoices_of, make_customer, make_plan, reload, start_clock, subscribe, utc
from localstripe_support import free_port, localstripe_server, stripe_settings

from assina.notifications import card_links
from assina.payments.models import PaymentMethod

pytestmark = pytest.mark.django_db(transaction=True)

DECLINED = "4000000000000002"  # localstripe declines it when a SetupIntent is confirmed
# Collects what the browser refused, from the page's first script on.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.effectiveDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.fixture
def localstripe(settings):
    """An installation on the Stripe gateway, pointed at a fresh localstripe."""
    with localstripe_server() as url:
        for name, value in stripe_settings(url).items():
            setattr(settings, name, value)
        yield url


def _directives(policy: str) -> dict[str, set[str]]:
    return {name: set(sources) for name, *sources in (part.split() for part in policy.split(";") if part.strip())}


def _type_card(page, number: str) -> None:
    """localstripe's fake Card Element: plain inputs named by their placeholders (year in 2 digits)."""
    for field, value in (("number", number), ("exp_month", "12"), ("exp_year", "30"), ("cvc", "123"),
                         ("postal_code", "12345")):
        page.fill(f"#card-element input[placeholder={field}]", value)


def test_a_card_typed_into_stripe_js_pays_the_open_invoice_and_never_reaches_assina(live_server, browser_context,
                                                                                   localstripe):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990, name="Pro")
    customer = make_customer(card=None, name="Rui", email="rui@example.com")
    sub = subscribe(customer, "pro")
    [invoice] = invoices_of(sub)
    assert (invoice.status, reload(sub).status) == ("open", "incomplete")

    browser_context.add_init_script(WATCH)
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    to_assina: list = []  # every request the browser sent to Assina's server
    page.on("request", lambda r: to_assina.append(r) if r.url.startswith(live_server.url) else None)

    url = live_server.url + urlsplit(card_links.update_card_url(customer.pk)).path
    response = page.goto(url)
    page.wait_for_selector("#card-element input[placeholder=number]")
    assert response.status == 200 and page.inner_text("h1") == "Update your card"
    assert page.locator("input[name=number]").count() == 0  # no card field of Assina's own

    # The policy: this server, and Stripe.js (here localstripe's address) for scripts, frames and
    # its API calls; nothing else.
    policy = _directives(response.headers["content-security-policy"])
    assert {s for s in policy["script-src"] if not s.startswith("'nonce-")} == {"'self'", localstripe}
    assert policy["connect-src"] == {"'self'", localstripe}
    assert policy["frame-src"] == {"'self'", localstripe}
    assert policy["default-src"] == {"'self'"} and policy["object-src"] == {"'none'"}
    assert page.evaluate("window.__violations") == []
    elsewhere = f"http://127.0.0.1:{free_port()}/script.js"
    page.evaluate("""(src) => {
        const outside = document.createElement('script'); outside.src = src; document.body.appendChild(outside);
        const inline = document.createElement('script'); inline.textContent = 'window.__ran = 1'; document.body.appendChild(inline);
    }""", elsewhere)
    page.wait_for_function("window.__violations.length >= 2")
    assert sorted(page.evaluate("window.__violations")) == sorted([f"script-src-elem {elsewhere}", "script-src-elem inline"])
    assert page.evaluate("window.__ran") is None

    # A declined card: the gateway's message, nothing kept, the invoice still open.
    _type_card(page, DECLINED)
    page.click("#card-submit")
    page.wait_for_selector("#card-error:not([hidden])")
    assert page.inner_text("#card-error") == "Your card was declined."
    assert not PaymentMethod.objects.filter(customer=customer).exists()
    assert reload(invoice).status == "open"

    # The good card: kept as the default, and the open invoice is paid with it at once.
    _type_card(page, GOOD_CARD)
    page.click("#card-submit")
    page.wait_for_selector("text=Card updated")
    assert "ending in 4242" in page.inner_text("main")
    method = reload(customer).default_payment_method
    assert (method.gateway, method.last4) == ("stripe", "4242") and method.token.startswith("pm_")
    assert (reload(invoice).status, reload(sub).status) == ("paid", "active")

    # The card numbers went to localstripe only: Assina got the SetupIntent's id.
    posts = [r for r in to_assina if r.method == "POST"]
    assert len(posts) == 3  # start (declined), start, and the form with the SetupIntent's id
    for request in to_assina:
        sent = (request.url + (request.post_data or "")).replace(" ", "")
        assert GOOD_CARD not in sent and DECLINED not in sent
    assert "seti_" in posts[-1].post_data
    assert errors == []

    # The link is spent.
    assert page.goto(url).status == 404

"""The hosted pricing page and the checkout form (issue 19): public plans only, monthly and yearly
paired with the annual saving, in the visitor's language; a purchase makes one customer, one
subscription and one charge however often the form is posted; bad input changes nothing and says
why in the visitor's language; a known e-mail learns nothing (the same page) and is mailed a
sign-in link; CSRF and the per-address limit.

Amounts by hand: Pro is R$ 49,90 a month, R$ 499,00 a year (12 × 49,90 = 598,80: 99,80 saved,
16 %); Extra seats R$ 10,00; the promotion code WELCOME is 20 % off: (4990 + 1000) × 0.8 = 4792.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from factories import GOOD_CARD, counts, make_addon, make_customer, make_plan, start_clock, subscribe, utc
from localstripe_support import browser_confirm_setup, listed, localstripe_server, stripe_settings

from assina.catalog.models import Plan
from assina.catalog.services import change_plan_price, create_coupon, create_promotion_code
from assina.customers.models import Customer
from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.notifications.models import Message
from assina.notifications.producing import produce_from_events
from assina.payments.gateways import get_gateway
from assina.payments.models import GatewayCustomer, PaymentAttempt
from assina.selling.models import CheckoutRequest, CheckoutSession, CheckoutSuggestion
from assina.selling import services, views
from assina.selling.services import suggested_addons
from assina.subscriptions.models import Subscription
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (sessions, CSRF)

CPF = "123.456.789-09"


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode().replace("\xa0", " "))


def _main(response) -> str:
    return _text(response).split("<main", 1)[1]


@pytest.fixture
def shop():
    views.forget()  # a process keeps prices, add-ons and bundles (test databases reuse ids)
    start_clock(utc(2027, 1, 1))
    pro = make_plan("pro", 4990, name="Pro")
    year = make_plan("pro-year", 49900, name="Pro yearly", interval="year", product_code="pro")
    make_plan("secret", 1000, name="Hidden")
    make_addon("seats", 1000, name="Extra seats")
    Plan.objects.filter(pk__in=[pro.pk, year.pk]).update(public=True)
    coupon = create_coupon(code="welcome20", duration="once", percent_off="20", at=now())
    create_promotion_code(code="WELCOME", coupon_code=coupon.code, at=now())
    return pro


def _form(client: Client, plan: str = "pro", lang: str = "en") -> dict:
    page = client.get(f"/checkout/{plan}/?lang={lang}")
    assert page.status_code == 200
    html = page.content.decode()
    return {"csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1),
            "token": re.search(r'name="token" value="([^"]+)"', html).group(1), "lang": lang}


def _details(**changes) -> dict:
    return {"email": "ana@example.com", "name": "Ana Souza", "tax_id": CPF, "number": "4242 4242 4242 4242",
            "exp_month": "12", "exp_year": "2031", "addons": ["seats"], "promotion_code": "welcome", **changes}


def test_the_pricing_page_lists_public_plans_paired_with_the_annual_saving_in_the_visitors_language(shop):
    page = _text(Client().get("/pricing/"))
    assert "Pro" in page and "Hidden" not in page
    assert "R$49.90" in page and "R$499.00" in page and "Save R$99.80 a year (16%)" in page
    assert 'href="/checkout/pro/?lang=en"' in page and 'href="/checkout/pro-year/?lang=en"' in page
    portuguese = _text(Client(HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9").get("/pricing/"))
    assert "Planos e preços" in portuguese and "R$ 49,90" in portuguese and "Economize R$ 99,80 por ano (16%)" in portuguese
    assert "Planos e preços" in _text(Client().get("/pricing/?lang=pt-br"))  # the switch


def test_only_the_embed_may_be_framed_and_its_script_points_at_it(shop):
    client = Client()
    assert "frame-ancestors 'none'" in client.get("/pricing/")["Content-Security-Policy"]
    embed = client.get("/pricing/embed/")
    assert "frame-ancestors *" in embed["Content-Security-Policy"] and "X-Frame-Options" not in embed
    assert 'target="_top"' in embed.content.decode()
    script = client.get("/pricing/embed.js")
    assert script["Content-Type"].startswith("text/javascript") and "/pricing/embed/" in script.content.decode()
    assert client.get("/checkout/secret/").status_code == 404  # not public: not sold here


def test_a_visitor_buys_with_an_add_on_and_a_promotion_code_once_however_often_the_form_is_posted(shop):
    client = Client(enforce_csrf_checks=True)
    form = {**_form(client), **_details()}
    first = client.post("/checkout/pro/", form)
    assert first.status_code == 303
    again = client.post("/checkout/pro/", form)  # the retried POST (a double click, a reload)
    assert again.status_code == 303 and again["Location"] == first["Location"]
    customer = Customer.objects.get()
    assert (customer.email, customer.name, customer.tax_id, customer.locale) == ("ana@example.com", "Ana Souza", CPF, "en")
    sub = Subscription.objects.get()
    assert sub.status == "active" and sub.coupon.code == "welcome20"
    [invoice] = Invoice.objects.all()
    assert (invoice.total, invoice.status) == (4792, "paid")
    assert PaymentAttempt.objects.count() == 1
    session = CheckoutSession.objects.get()
    assert (session.status, session.outcome, session.subscription_id) == ("complete", "subscribed", sub.pk)
    thanks = _text(client.get(first["Location"]))
    assert "Thank you!" in thanks and "ana@example.com" in thanks
    produce_from_events(now(), at_due_time=True)
    assert set(Message.objects.values_list("template", flat=True)) == {"welcome", "receipt"}


def test_a_checkout_taken_over_after_a_crash_keeps_the_customer_it_made(shop):
    session = services.session_for_token(services.new_key(), shop)
    ana = make_customer(email="ana@example.com")  # made by the request that died before subscribing
    CheckoutSession.objects.filter(pk=session.pk).update(status="processing", customer=ana,
                                                         claimed_at=timezone.now() - timedelta(minutes=6))
    form = services.CheckoutForm(email="ana@example.com", name="Ana Souza", tax_id=CPF, card_number="4242424242424242",
                                 exp_month="12", exp_year="2031", addons=["seats"], promotion_code="WELCOME")
    done = services.complete(session.key, form, session=session)  # as read before the takeover
    sub = Subscription.objects.get()
    assert (done.outcome, done.customer_id, sub.customer_id, Customer.objects.count()) == ("subscribed", ana.pk, ana.pk, 1)
    assert Invoice.objects.get().total == 4792


def test_bad_input_is_refused_in_the_visitors_language_and_changes_nothing(shop):
    client = Client(enforce_csrf_checks=True)
    form = _form(client, lang="pt-br")
    before = counts()
    refusals = {
        "Informe um CPF ou CNPJ válido": _details(tax_id="123.456.789-00"),
        "O código promocional NOPE não existe.": _details(promotion_code="NOPE"),
        "Informe um e-mail válido.": _details(email="ana@"),
        "recusado": _details(number="4000000000000002"),
    }
    for words, details in refusals.items():
        response = client.post("/checkout/pro/", {**form, **details})
        assert response.status_code == 400 and words in _text(response), _text(response)[-1500:]
    assert counts() == before and Customer.objects.count() == 0
    assert CheckoutSession.objects.get().status == "open"  # the visitor can fix it and go on
    assert client.post("/checkout/pro/", {**form, **_details()}).status_code == 303


def test_a_known_email_gets_the_same_page_nothing_charged_and_a_sign_in_link(shop):
    known = make_customer(email="ana@example.com", name="Ana")
    client = Client(enforce_csrf_checks=True)
    new_visitor = client.post("/checkout/pro/", {**_form(client), **_details(email="bia@example.com")})
    before = counts()
    response = client.post("/checkout/pro/", {**_form(client), **_details(email="ANA@example.com")})
    assert response.status_code == 303
    assert _main(client.get(response["Location"])).replace("ANA@example.com", "X") == \
        _main(client.get(new_visitor["Location"])).replace("bia@example.com", "X")
    assert Subscription.objects.filter(customer=known).count() == 0 and Customer.objects.count() == 2
    assert counts()["invoices"] == before["invoices"] and counts()["attempts"] == before["attempts"]
    assert Message.objects.get(template="portal_link").to_email == "ana@example.com"
    session = CheckoutSession.objects.get(customer_email="ANA@example.com")
    assert (session.outcome, session.customer_id) == ("existing_customer", None)


def test_a_new_price_shows_on_the_next_view_of_the_checkout_page(shop):
    assert "R$ 49,90" in _main(Client().get("/checkout/pro/?lang=pt-br"))  # the price is now kept by the process
    change_plan_price("pro", amount=5990, at=now())
    page = _main(Client().get("/checkout/pro/?lang=pt-br"))
    assert "R$ 59,90" in page and "R$ 49,90" not in page


def test_the_pages_add_ons_are_kept_by_the_process_and_follow_the_catalog_on_the_next_view(shop):
    def addons(queries: int | None = None) -> str:
        with CaptureQueriesContext(connection) as done:
            page = _main(Client().get("/checkout/pro/?lang=en"))
        assert queries is None or len(done) == queries, [q["sql"] for q in done]
        return " ".join(re.findall(r'<label class="choice">.*?</label>', page))

    assert "Extra seats<span class=\"price\">+ R$10.00 / month" in addons()
    assert "Extra seats" in addons(queries=3)  # kept: the clock's mode, the plan, the catalog's stamp
    change_plan_price("seats", amount=1200, at=now())
    assert "+ R$12.00 / month" in addons()
    Plan.objects.filter(code="seats").update(active=False)  # switched off
    assert "Extra seats" not in addons()
    Plan.objects.filter(code="seats").update(active=True)
    assert "Extra seats" in addons()
    CheckoutSuggestion.objects.create(plan=shop, addon=make_addon("backup", 500, name="Backup"))  # the owner's choice
    assert "Backup" in addons() and "Extra seats" not in addons()


@pytest.mark.parametrize("lang", ["en", "pt-br"])
def test_the_kept_checkout_page_is_byte_for_byte_what_the_template_gives(shop, lang, monkeypatch):
    Plan.objects.filter(pk=shop.pk).update(trial_days=7, name='Pro <"& plus>')

    def same(response) -> tuple:
        body = re.sub(rb'(name="csrfmiddlewaretoken" value="|name="token" value="|nonce=")[^"]+"', rb'\1-"',
                      response.content)
        assert body.count(b'"-"') == 4  # the CSRF token, the form's token, the two styles' nonces
        return (response.status_code, body, response["Content-Type"], response["Cache-Control"],
                response["Content-Language"], re.sub(r"'nonce-[^']+'", "", response["Content-Security-Policy"]))

    client = Client()
    kept = [same(client.get(f"/checkout/pro/?lang={lang}")) for _ in range(2)]  # made, then from the kept frame
    monkeypatch.setattr(views, "_plain_page", lambda request, language, key, context:
                        views._page(request, "checkout.html", language, context))
    fresh = same(client.get(f"/checkout/pro/?lang={lang}"))
    assert kept[0] == kept[1] == fresh
    assert "Extra seats" in fresh[1].decode() and "Pro &lt;&quot;&amp; plus&gt;" in fresh[1].decode()


def test_every_post_needs_the_csrf_token_and_an_address_is_limited(shop):
    client = Client(enforce_csrf_checks=True)
    form = _form(client)
    assert client.post("/checkout/pro/", {k: v for k, v in form.items() if k != "csrfmiddlewaretoken"}).status_code == 403
    for _ in range(20):
        assert client.post("/checkout/pro/", {**form, **_details(tax_id="1")}).status_code == 400
    limited = client.post("/checkout/pro/", {**form, **_details()})
    assert limited.status_code == 429 and "Too many attempts" in _text(limited)
    assert Customer.objects.count() == 0
    CheckoutRequest.objects.update(at=timezone.now() - timedelta(hours=1, seconds=1))  # an hour later
    assert client.post("/checkout/pro/", {**form, **_details()}).status_code == 303
    assert CheckoutRequest.objects.count() == 1  # the old ones are forgotten


def test_a_plan_that_ships_goods_asks_for_the_address_and_keeps_it(shop):
    box = make_plan("box", 9900, name="Box")
    Plan.objects.filter(pk=box.pk).update(public=True, ships_goods=True)
    client = Client(enforce_csrf_checks=True)
    form = {**_form(client, "box"), **_details(addons=[], promotion_code="")}
    missing = client.post("/checkout/box/", form)
    assert missing.status_code == 400 and "Enter the shipping address" in _text(missing)
    address = {"shipping_line1": "Rua A, 10", "shipping_city": "São Paulo", "shipping_state": "SP",
               "shipping_postal_code": "01000-000", "shipping_country": "br"}
    assert client.post("/checkout/box/", {**form, **address}).status_code == 303
    assert Customer.objects.get().shipping_address == {"line1": "Rua A, 10", "line2": "", "city": "São Paulo",
                                                       "state": "SP", "postal_code": "01000-000", "country": "BR"}


def test_a_shipping_address_the_portal_would_refuse_is_refused_in_the_visitors_language_and_nothing_is_made(shop):
    box = make_plan("box", 9900, name="Box")
    Plan.objects.filter(pk=box.pk).update(public=True, ships_goods=True)
    client = Client(enforce_csrf_checks=True)
    form = {**_form(client, "box", lang="pt-br"), **_details(addons=[], promotion_code="")}
    before = counts()
    short_cep = {"shipping_line1": "Av. Paulista, 1000", "shipping_city": "São Paulo", "shipping_postal_code": "0130",
                 "shipping_country": "BR"}
    refused = client.post("/checkout/box/", {**form, **short_cep})
    assert refused.status_code == 400 and "o CEP tem 8 dígitos, como 01310-100" in _text(refused)
    assert '<fieldset aria-invalid="true" aria-describedby="checkout-error"><legend>Endereço de entrega' in \
        refused.content.decode() and 'value="0130"' in refused.content.decode()  # marked, and kept as typed
    no_state = client.post("/checkout/box/", {**form, **short_cep, "shipping_postal_code": "01310100"})
    assert no_state.status_code == 400 and "o estado é obrigatório neste país" in _text(no_state)
    assert counts() == before and Customer.objects.count() == 0
    done = client.post("/checkout/box/", {**form, **short_cep, "shipping_postal_code": "01310100", "shipping_state": "sp"})
    assert done.status_code == 303
    customer = Customer.objects.get()
    assert customer.shipping_address == {"line1": "Av. Paulista, 1000", "line2": "", "city": "São Paulo", "state": "SP",
                                         "postal_code": "01310-100", "country": "BR"}  # as the portal writes it
    [event] = Event.objects.filter(type="customer.shipping_address_updated")
    assert (event.customer_id, event.data) == (customer.pk, {"country": "BR", "first": True})


def test_at_most_three_add_ons_are_suggested_the_owners_choice_first(shop):
    for code in ("a1", "a2", "a3", "a4"):
        make_addon(code, 500, name=code.upper())
    make_addon("yearly-addon", 500, interval="year")
    customers = [make_customer() for _ in range(3)]
    subscribe(customers[0], "pro", addons=[("a4", 1), ("a3", 1)])
    subscribe(customers[1], "pro", addons=[("a4", 1), ("a2", 1)])
    subscribe(customers[2], "pro", addons=[("a4", 1), ("a3", 1), ("a1", 1), ("seats", 1)])
    assert [p.code for p in suggested_addons(shop)] == ["a4", "a3", "seats"]  # the most held; ties: the older add-on
    for position, code in enumerate(["seats", "a2"]):
        CheckoutSuggestion.objects.create(plan=shop, addon=Plan.objects.get(code=code), position=position)
    assert [p.code for p in suggested_addons(shop)] == ["seats", "a2"]
    page = _text(Client().get("/checkout/pro/"))
    # The offered add-ons' boxes and names (the page's random tokens may hold any two letters).
    offered = re.findall(r'name="addons" value="([^"]+)">([^<]+)<', page)
    assert offered == [("seats", "Extra seats"), ("a2", "A2")]


@pytest.mark.parametrize("attached_by_gateway", [False, True], ids=["card-left-unattached", "card-attached-by-setup"])
def test_a_stripe_checkout_opens_one_account_at_the_gateway_whether_or_not_it_attached_the_card(
        shop, settings, attached_by_gateway):
    """localstripe leaves a confirmed card unattached; Stripe attaches it to the SetupIntent's
    customer. Either way the buyer's account there is the one the card setup was made on."""
    with localstripe_server() as url:
        for name, value in stripe_settings(url).items():
            setattr(settings, name, value)
        session = services.session_for_token(services.new_key(), shop)
        form = services.CheckoutForm(email="rui@example.com", name="Rui Lima", tax_id=CPF, locale="pt-BR")
        setup = services.start_card_setup(session.key, form)
        status, body = browser_confirm_setup(url, setup.client_secret, GOOD_CARD)
        assert status == 200 and body["status"] == "succeeded"
        account = CheckoutSession.objects.get().gateway_customer
        if attached_by_gateway:  # what Stripe itself does on confirming the setup
            get_gateway().attach_to_customer(body["payment_method"], account)
        form.setup_intent = setup.id
        done = services.complete(session.key, form)
        assert services.complete(session.key, form).customer_id == done.customer_id  # the form posted again

        customer = Customer.objects.get()
        assert GatewayCustomer.objects.get(customer=customer).remote_id == account
        assert [(c["id"], c["email"]) for c in listed(url, "customers")] == [(account, "rui@example.com")]
        method = customer.default_payment_method
        assert get_gateway().retrieve_card(method.token).customer_ref == account
        assert [(i["amount"], i["customer"], i["status"]) for i in listed(url, "payment_intents")] == [
            (4990, account, "succeeded")]

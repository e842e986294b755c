"""The customer portal's way in and its home (issue 16, first part).

- The API and the CLI make a signed, single-use link; opening it (a POST from the page the link
  shows) starts a portal session; the link then refuses a second use. Tampered, expired, revoked
  and future-dated links are refused with a page that offers a new link by e-mail.
- /portal/login answers the same for a known and an unknown address, mails a 15-minute link
  through the outbox, and refuses (429, translated) past its limits per address and per IP.
- A session sees only its customer's invoices (another's id is a 404); every POST needs the CSRF
  token; the owner's revoke ends sessions and links; a session idle for an hour is over.
- The home shows the plan, price, next charge, terms, invoices and card in the customer's
  language, with a bounded number of queries (none per invoice).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from api_support import api, problem  # noqa: F401 (the api fixture)
from django.core import signing
from django.test import Client
from factories import advance, invoices_of, make_addon, make_customer, make_plan, start_clock, subscribe, utc

from assina.invoices.models import Invoice
from assina.notifications.models import Message
from assina.portal import home, services
from assina.portal.views import cards
from test_portal_queries import MADE_QUERIES
from assina.portal.models import PortalLink, PortalSession

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (auth, sessions)


def _path(url: str) -> str:
    return urlsplit(url).path


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def _without_nonce(response) -> str:
    return re.sub(r'nonce="[^"]+"', "", _text(response))


@pytest.fixture
def customers():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990, name="Pro")
    make_addon("seats", 1000, name="Extra seats")
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    bia = make_customer(email="bia@example.com", name="Bia Lima", locale="pt-BR")
    return ana, subscribe(ana, "pro"), bia, subscribe(bia, "pro", quantity=2, addons=[("seats", 1)])


def _enter(client: Client, url: str):
    """Open a link as a customer does: the page, then its button (a POST with the CSRF token)."""
    page = client.get(_path(url))
    if page.status_code != 200:
        return page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(_path(url), {"csrfmiddlewaretoken": token})


def _signed_in(customer, flow: str = "") -> Client:
    client = Client(enforce_csrf_checks=True)
    _link, url = services.create_link(customer, flow=flow)
    response = _enter(client, url)
    assert response.status_code == 302, response
    return client


def test_the_api_makes_a_single_use_link_that_opens_the_customers_portal(customers, api):
    ana, _sub, _bia, _bsub = customers
    body = api.ok("POST", "/portal_sessions", {"customer": "ana@example.com", "flow": "cancel",
                                               "return_url": "https://shop.example.com/account"}, status=201)
    assert body["url"].startswith("http") and "/portal/enter/" in body["url"] and body["expires_at"].endswith("Z")
    by_id = api.ok("POST", "/portal_sessions", {"customer": f"cus_{ana.pk}"}, status=201)
    assert by_id["url"] != body["url"]

    client = Client(enforce_csrf_checks=True)
    page = client.get(_path(body["url"]))
    assert page.status_code == 200 and "Continue to my account" in _text(page)
    assert PortalLink.objects.get(flow="cancel").used_at is None  # a GET (a mail scanner) spends nothing
    entered = _enter(client, body["url"])
    assert entered.status_code == 302 and entered["Location"] == "/portal/?flow=cancel#subscription"
    home = client.get(entered["Location"])
    assert home.status_code == 200
    text = _text(home)
    assert "Ana Souza" in text and 'id="subscription" class="focus"' in text and "https://shop.example.com/account" in text

    again = _enter(Client(enforce_csrf_checks=True), body["url"])
    assert again.status_code == 410 and "already been used" in _text(again)
    assert "E-mail me a new link" in _text(again)


def test_the_api_refuses_an_unknown_customer_and_a_bad_flow_or_return_url(customers, api):
    problem(api.post("/portal_sessions", {"customer": "nobody@example.com"}), 404, "resource_missing")
    assert api.post("/portal_sessions", {"customer": "ana@example.com", "flow": "dance"}).status_code == 422
    problem(api.post("/portal_sessions", {"customer": "ana@example.com", "return_url": "javascript:alert(1)"}),
            422, "portal_error")
    assert PortalLink.objects.count() == 0


def test_tampered_expired_revoked_and_future_dated_links_are_refused(customers, monkeypatch):
    ana, *_ = customers
    _link, url = services.create_link(ana)
    token = _path(url).split("/")[-2]
    tampered = url.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert _enter(Client(), tampered).status_code == 404

    expired, expired_url = services.create_link(ana)
    PortalLink.objects.filter(pk=expired.pk).update(expires_at=services.wall() - timedelta(seconds=1))
    page = _enter(Client(), expired_url)
    assert page.status_code == 410 and "expired" in _text(page)

    revoked, revoked_url = services.create_link(ana)
    services.revoke(ana)
    assert _enter(Client(), revoked_url).status_code == 410

    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + 3600))
    _future, future_url = services.create_link(ana)
    monkeypatch.undo()
    assert _enter(Client(), future_url).status_code == 404
    assert PortalSession.objects.count() == 0


def test_login_answers_the_same_for_any_address_and_mails_a_15_minute_link(customers):
    client = Client(enforce_csrf_checks=True)
    form = client.get("/portal/login")
    assert form.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode()).group(1)
    known = client.post("/portal/login", {"email": "ANA@example.com", "csrfmiddlewaretoken": token})
    unknown = client.post("/portal/login", {"email": "nobody@example.com", "csrfmiddlewaretoken": token})
    assert known.status_code == unknown.status_code == 200
    assert _without_nonce(known) == _without_nonce(unknown) and "Check your e-mail" in _text(known)

    message = Message.objects.get(template="portal_link")
    assert message.to_email == "ana@example.com" and Message.objects.count() == 1
    link = PortalLink.objects.get(origin="login")
    assert link.expires_at - link.created_at == timedelta(minutes=15)
    url = re.search(r'https?://[^"\s]+/portal/enter/[^"\s]+/', message.html).group(0)
    assert _enter(Client(), url).status_code == 302


def test_login_is_rate_limited_per_address_and_per_ip_with_a_translated_message(customers):
    client = Client()
    for _ in range(services.PER_EMAIL):
        assert client.post("/portal/login", {"email": "ana@example.com"}).status_code == 200
    refused = client.post("/portal/login", {"email": "ana@example.com"}, HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert refused.status_code == 429 and "Muitos pedidos" in _text(refused)
    assert PortalLink.objects.filter(origin="login").count() == services.PER_EMAIL

    for n in range(services.PER_IP - services.PER_EMAIL):
        assert client.post("/portal/login", {"email": f"x{n}@example.com"}).status_code == 200
    assert client.post("/portal/login", {"email": "bia@example.com"}).status_code == 429
    other_ip = Client(REMOTE_ADDR="10.0.0.9")
    assert other_ip.post("/portal/login", {"email": "bia@example.com"}).status_code == 200


def test_a_session_sees_only_its_own_invoices(customers):
    ana, asub, bia, bsub = customers
    own = invoices_of(asub)[0]
    other = invoices_of(bsub)[0]
    client = _signed_in(ana)
    pdf = client.get(f"/portal/invoices/{own.pk}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get(f"/portal/invoices/{other.pk}/pdf").status_code == 404
    assert client.get("/portal/invoices/999999/pdf").status_code == 404
    home = _text(client.get("/portal/"))
    assert f"/portal/invoices/{own.pk}/pdf" in home and f"/portal/invoices/{other.pk}/pdf" not in home
    assert "Bia" not in home
    assert Client().get(f"/portal/invoices/{own.pk}/pdf").status_code == 302  # no session: sign in first


def test_every_post_needs_the_csrf_token(customers):
    ana, *_ = customers
    _link, url = services.create_link(ana)
    client = Client(enforce_csrf_checks=True)
    client.get(_path(url))
    assert client.post(_path(url)).status_code == 403
    assert PortalLink.objects.get().used_at is None
    assert client.post("/portal/login", {"email": "ana@example.com"}).status_code == 403
    assert Message.objects.count() == 0
    signed_in = _signed_in(ana)
    assert signed_in.post("/portal/logout/").status_code == 403
    assert signed_in.get("/portal/").status_code == 200


def test_revoke_ends_sessions_and_unused_links_and_sign_out_ends_one(customers, capsys):
    ana, _asub, bia, _bsub = customers
    first, second, bias = _signed_in(ana), _signed_in(ana), _signed_in(bia)
    _unused, unused_url = services.create_link(ana)
    result = services.revoke(ana)
    assert result == {"customer": "ana@example.com", "sessions_ended": 2, "links_revoked": 1}
    assert first.get("/portal/")["Location"] == "/portal/login"
    assert second.get("/portal/").status_code == 302
    assert bias.get("/portal/").status_code == 200
    assert _enter(Client(), unused_url).status_code == 410

    client = _signed_in(ana)
    home = client.get("/portal/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home.content.decode()).group(1)
    assert client.post("/portal/logout/", {"csrfmiddlewaretoken": token}).status_code == 200
    assert client.get("/portal/").status_code == 302


def test_a_session_idle_for_an_hour_is_over(customers):
    ana, *_ = customers
    client = _signed_in(ana)
    PortalSession.objects.update(last_seen_at=services.wall() - timedelta(minutes=59))
    assert client.get("/portal/").status_code == 200  # and that request counts as activity
    PortalSession.objects.update(last_seen_at=services.wall() - services.IDLE_TIMEOUT - timedelta(seconds=1))
    assert client.get("/portal/").status_code == 302


def test_the_cli_makes_a_link_and_revokes(customers, capsys):
    import json

    from assina.cli import main

    ana, *_ = customers
    assert main(["portal", "link", "--customer", "ana@example.com", "--flow", "update_payment_method", "--json"]) in (0, None)
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {"url", "expires_at"} and "/portal/enter/" in body["url"]
    entered = _enter(Client(), body["url"])
    assert entered["Location"] == "/portal/?flow=update_payment_method#card"
    assert main(["portal", "revoke", "--customer", "ana@example.com", "--json"]) in (0, None)
    assert json.loads(capsys.readouterr().out)["sessions_ended"] == 1


def test_the_home_states_plan_price_terms_card_and_invoices_in_the_customers_language(customers):
    _ana, _asub, bia, bsub = customers
    client = _signed_in(bia)
    text = _text(client.get("/portal/"))
    assert "Sua assinatura" in text and "Pro" in text and "Extra seats" in text
    assert "R$ 59,90 em 10 de fevereiro de 2027" in text  # the next charge: the plan (flat price) and the add-on
    assert re.search(r"<dt>Quantidade</dt><dd>2</dd>", text)
    assert "10 de fevereiro de 2027" in text  # next charge date
    assert "Você pode cancelar a qualquer momento" in text
    assert "Visa" in text and "4242" in text and "/c/card/" in text
    assert invoices_of(bsub)[0].number in text


def test_the_home_makes_a_bounded_number_of_queries(customers, django_assert_max_num_queries):
    ana, asub, *_ = customers
    client = _signed_in(ana)
    client.get("/portal/")
    home.forget()  # the account part and the suggestions card made again: the most a home costs
    cards.forget()
    with django_assert_max_num_queries(MADE_QUERIES) as few:
        client.get("/portal/")
    advance(utc(2027, 12, 10, 12))  # eleven more monthly invoices (new events: made again too)
    assert Invoice.objects.filter(customer=ana).count() >= 12
    with django_assert_max_num_queries(len(few.captured_queries)):
        text = _text(client.get("/portal/"))
    assert text.count("/pdf") == Invoice.objects.filter(customer=ana).exclude(status="draft").count()

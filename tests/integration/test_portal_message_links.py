"""Buttons in messages open the customer's portal (issue 16).

Every message that invites the customer to act carries a signed, single-use button into their
portal (``notifications.links.portal_url``): the home, or the card for "we could not charge" and
"your card expires"; the cancellation keeps its one-click reactivate link and the receipt its PDF
link. The button goes through the portal's enter page: a GET (a mail scanner) spends nothing, the
POST starts the session; a second use, an expired, tampered, future-dated or revoked button is
refused, and a button names one customer only.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import signing
from django.db import transaction
from django.test import Client
from email_support import links, path_of, web_transactions
from factories import FAILING_CARD, advance, make_customer, make_plan, reload, start_clock, subscribe, utc

from assina.events.services import record
from assina.notifications import campaigns
from assina.notifications import links as message_links
from assina.notifications.models import Campaign, Message, Segment
from assina.payments.models import PaymentMethod
from assina.portal import services
from assina.portal.models import PortalLink, PortalSession
from assina.subscriptions.services import cancel_at_period_end, cancel_now, pause

pytestmark = web_transactions()

T0 = utc(2027, 1, 10, 9)
HOME = "/portal/"
CARD = "/portal/?flow=update_payment_method#card"


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.ASSINA_BASE_URL = "https://shop.example"


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def _csrf(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def _enter(client: Client, url: str):
    """As a customer: the page the button opens, then its button (a POST with the CSRF token)."""
    page = client.get(path_of(url))
    if page.status_code != 200:
        return page
    return client.post(path_of(url), {"csrfmiddlewaretoken": _csrf(page)})


def _portal_buttons(message: Message) -> list[str]:
    found = [url for url in links(message.html) if "/portal/enter/" in url]
    assert found and all(url.startswith("https://shop.example/portal/enter/") for url in found), message.html
    assert all(url in message.text for url in found)  # the plain-text part carries it too
    return found


def _opens(message: Message, where: str) -> Client:
    """The message's portal button signs its own customer in at ``where``."""
    client = Client(enforce_csrf_checks=True)
    (url,) = set(_portal_buttons(message))
    entered = _enter(client, url)
    assert entered.status_code == 302 and entered["Location"] == where, (message.template, entered)
    link = PortalLink.objects.get(session__key=client.session[_session_key()])
    assert link.origin == "email" and link.customer_id == message.customer_id and link.used_at is not None
    home = client.get(entered["Location"])
    assert home.status_code == 200 and message.customer.name in _text(home)
    return client


def _session_key() -> str:
    from assina.portal.views import SESSION_KEY

    return SESSION_KEY


def _token(url: str) -> str:
    return path_of(url).rstrip("/").split("/")[-1]


def test_every_message_that_invites_to_act_opens_the_right_place_of_the_customers_portal(client):
    start_clock(T0)
    make_plan("pro", 4990, name="Pro")
    make_plan("pro-trial", 4990, name="Pro", trial_days=14)
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    ana_sub = subscribe(ana, "pro-trial")  # welcome, onboarding, trial ending, receipt, renewal
    carla = make_customer(email="carla@example.com", name="Carla Lima", locale="pt-BR", card=None)
    subscribe(carla, "pro-trial")  # a trial without a card: its reminder opens the card
    bob = make_customer(email="bob@example.com", name="Bob Smith", locale="en", card=FAILING_CARD)
    subscribe(bob, "pro")  # payment failed
    dan = make_customer(email="dan@example.com", name="Dan Brown", locale="pt-BR")
    dan_sub = subscribe(dan, "pro")
    eve = make_customer(email="eve@example.com", name="Eve Costa", locale="pt-BR")
    eve_sub = subscribe(eve, "pro")
    fay = make_customer(email="fay@example.com", name="Fay Reis", locale="en")
    fay_sub = subscribe(fay, "pro")
    gus = make_customer(email="gus@example.com", name="Gus Melo", locale="en")
    subscribe(gus, "pro")
    PaymentMethod.objects.filter(customer=gus).update(exp_month=2, exp_year=2027)  # card expiring

    advance(utc(2027, 1, 11, 9))
    cancel_at_period_end(dan_sub.pk)
    pause(eve_sub.pk)
    cancel_now(fay_sub.pk)  # win-back 30 days later
    with transaction.atomic():
        from assina.catalog.models import Plan

        plan = Plan.objects.get(code="pro")
        record("plan.price_changed", plan, utc(2027, 1, 11, 9),
               {"applies_to_existing": True, "effective_at": utc(2027, 3, 1).isoformat(),
                "previous_amount": 4990, "amount": 5990, "version": 2})
    advance(utc(2027, 1, 12, 9))

    def message(template: str, customer) -> Message:
        return Message.objects.filter(template=template, customer=customer).order_by("pk").first()

    # The cancellation's button is the one-click reactivation, which still works (GET asks, POST does).
    cancellation = message("cancellation", dan)
    reactivate = next(url for url in links(cancellation.html) if "/c/reactivate/" in url)
    assert client.get(path_of(reactivate)).status_code == 200
    assert reload(dan_sub).cancel_at_period_end is True
    assert client.post(path_of(reactivate)).status_code == 200
    assert reload(dan_sub).cancel_at_period_end is False

    advance(utc(2027, 2, 22, 9))

    expected = [("welcome", ana, HOME), ("onboarding_1", ana, HOME), ("onboarding_2", ana, HOME),
                ("trial_ending", ana, HOME), ("trial_ending", carla, CARD), ("receipt", ana, HOME),
                ("renewal_upcoming", ana, HOME), ("payment_failed", bob, CARD), ("card_expiring", gus, CARD),
                ("price_change", eve, HOME), ("paused", eve, HOME), ("winback", fay, HOME),
                ("welcome", carla, HOME)]
    for template, customer, where in expected:
        found = message(template, customer)
        assert found is not None, (template, customer.email)
        _opens(found, where)
    assert PortalSession.objects.count() == len(expected)

    # The card messages keep their one-step card link beside the portal button (docs/portal.md).
    assert any("/c/card/" in url for url in links(message("payment_failed", bob).html))
    assert any("/c/card/" in url for url in links(message("card_expiring", gus).html))
    # The paused message lets the customer resume (the portal's home), in their language.
    paused = message("paused", eve)
    assert "Retomar minha assinatura" in paused.html and "a qualquer momento na sua conta" in paused.html
    # The receipt keeps the invoice's PDF and leads to every invoice in the portal.
    receipt = message("receipt", ana)
    assert any("/c/invoice/" in url for url in links(receipt.html))
    assert "See all your invoices in your account" in receipt.html

    assert reload(ana_sub).status == "active"


@pytest.fixture
def two():
    start_clock(T0)
    make_plan("pro", 4990, name="Pro")
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    bia = make_customer(email="bia@example.com", name="Bia Lima", locale="pt-BR")
    subscribe(ana, "pro")
    subscribe(bia, "pro")
    return ana, bia


def test_a_scanners_get_spends_nothing_and_a_second_use_is_refused_with_the_sign_in_form(two):
    ana, _bia = two
    url = message_links.portal_url(ana.pk)
    for _ in range(3):  # a mail scanner follows the link, more than once
        page = Client().get(path_of(url))
        assert page.status_code == 200 and "Continue to my account" in _text(page)
    assert PortalLink.objects.count() == 0 and PortalSession.objects.count() == 0

    assert _enter(Client(enforce_csrf_checks=True), url)["Location"] == HOME
    link = PortalLink.objects.get()
    assert (link.origin, link.customer_id, link.flow) == ("email", ana.pk, "")
    assert link.expires_at - link.created_at == timedelta(days=30)

    again = _enter(Client(enforce_csrf_checks=True), url)
    assert again.status_code == 410 and "already been used" in _text(again) and "E-mail me a new link" in _text(again)
    assert PortalSession.objects.count() == 1
    # A GET of a spent button says so too (and still spends nothing).
    assert Client().get(path_of(url)).status_code == 410


def test_a_button_opens_only_its_own_customers_portal(two):
    ana, bia = two
    url = message_links.portal_url(ana.pk)
    token = _token(url)
    value, stamp, signature = token.split(":")
    customer, target, nonce = value.split(".")
    as_bia = f"{bia.pk}.{target}.{nonce}:{stamp}:{signature}"  # Ana's signature on Bia's id
    refused = _enter(Client(), url.replace(token, as_bia))
    assert refused.status_code == 404 and PortalSession.objects.count() == 0

    client = Client(enforce_csrf_checks=True)
    assert _enter(client, url)["Location"] == HOME
    home = _text(client.get(HOME))
    assert "Ana Souza" in home and "Bia Lima" not in home
    assert PortalSession.objects.get().customer_id == ana.pk


def test_tampered_future_dated_and_foreign_tokens_are_not_valid(two, monkeypatch):
    ana, _bia = two
    url = message_links.portal_url(ana.pk, "update_payment_method")
    token = _token(url)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert _enter(Client(), url.replace(token, tampered)).status_code == 404
    other_flow = token.replace(".update_payment_method.", ".cancel.")
    assert _enter(Client(), url.replace(token, other_flow)).status_code == 404
    # A reactivate token is not a portal button, even though the same key signed it.
    reactivate = path_of(message_links.reactivate_url(1, 1)).rstrip("/").split("/")[-1]
    assert _enter(Client(), url.replace(token, reactivate)).status_code == 404

    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + 3600))
    future = message_links.portal_url(ana.pk)
    monkeypatch.undo()
    assert _enter(Client(), future).status_code == 404
    assert PortalLink.objects.count() == 0 and PortalSession.objects.count() == 0
    assert _enter(Client(), url)["Location"] == CARD  # the genuine one still works


def test_a_button_older_than_30_days_has_expired(two, monkeypatch):
    ana, _bia = two
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() - 30 * 86400 - 5))
    old = message_links.portal_url(ana.pk)
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() - 30 * 86400 + 60))
    nearly = message_links.portal_url(ana.pk)
    monkeypatch.undo()
    page = _enter(Client(), old)
    assert page.status_code == 410 and "expired" in _text(page) and "E-mail me a new link" in _text(page)
    assert _enter(Client(), nearly)["Location"] == HOME
    assert PortalSession.objects.count() == 1


def test_ending_a_customers_portal_access_refuses_the_buttons_already_mailed(two, monkeypatch):
    ana, bia = two
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() - 5))
    before, bias = message_links.portal_url(ana.pk), message_links.portal_url(bia.pk)
    monkeypatch.undo()
    same_second = message_links.portal_url(ana.pk)  # buttons are dated to the second: the revocation wins a tie
    services.revoke(ana)
    assert _enter(Client(), before).status_code == 410
    assert _enter(Client(), same_second).status_code == 410
    assert _enter(Client(), bias)["Location"] == HOME  # another customer's are untouched
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + 2))
    after = message_links.portal_url(ana.pk)  # a message made after the revocation works
    monkeypatch.undo()
    assert _enter(Client(), after)["Location"] == HOME


def test_a_campaign_gives_each_recipient_their_own_button_and_its_preview_none(two):
    ana, bia = two
    segment = Segment.objects.create(name="Pro", plans=["pro"], created_at=T0)
    campaign = Campaign.objects.create(
        name="News", segment=segment, subject_en="News", subject_pt_br="Novidades", created_at=T0,
        html_en='<p><a href="{{ account_url }}">See what is new</a></p>',
        html_pt_br='<p><a href="{{ account_url }}">Veja as novidades</a></p>')
    preview = campaigns.preview(campaign, ana)
    assert "https://shop.example/portal/login" in preview["html"] and "/portal/enter/" not in preview["html"]
    campaigns.send_now(campaign.pk, T0)
    for customer in (ana, bia):
        row = Message.objects.get(campaign=campaign, customer=customer)
        _opens(row, HOME)


def test_previews_and_test_sends_lead_to_the_sign_in_page():
    from assina.notifications.outbox import test_context

    for key in ("welcome", "paused", "receipt", "portal_link"):
        for locale in ("en", "pt-BR"):
            context = test_context(key, locale)
            assert context["account_url"] == "https://shop.example/portal/login"
    assert test_context("portal_link", "en")["portal_url"] == "https://shop.example/portal/login"

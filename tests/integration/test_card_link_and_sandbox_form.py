"""The customer's card page with the sandbox gateway, and the card link's narrowness: spent once a
card is attached, at most 7 days old, never dated in the future. (The Stripe.js page is tested
in a browser against localstripe: tests/e2e/test_card_page.py.)"""

from __future__ import annotations

import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client, override_settings
from factories import (FAILING_CARD, GOOD_CARD, invoices_of, make_customer, make_plan, reload, start_clock,
                       subscribe, utc)

from assina.notifications import card_links, links
from assina.payments.models import PaymentMethod
from assina.payments.services import attach_card
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (auth, sessions)
DAY = 86400


def _path(url: str) -> str:
    return urlsplit(url).path


def _signed_at(monkeypatch, when: float) -> None:
    """Make the next links signed as at ``when`` (a wall-clock time; links expire in real time)."""
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: when))


@pytest.fixture
def failed():
    """A customer whose first payment failed: an open invoice, an incomplete subscription."""
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990, name="Pro")
    customer = make_customer(card=FAILING_CARD, name="Rui", locale="en")
    sub = subscribe(customer, "pro")
    return customer, sub


def test_the_sandbox_form_adds_a_test_card_that_pays_the_open_invoice_and_the_link_is_then_spent(failed):
    customer, sub = failed
    path = _path(card_links.update_card_url(customer.pk))
    client = Client()
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="sandbox"' in html and "Sandbox mode" in html and "no real card is charged" in html
    assert 'name="number"' in html and "<script" not in html

    done = client.post(path, {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2030"})
    assert done.status_code == 200 and "Card updated" in done.content.decode()
    assert reload(customer).default_payment_method.last4 == "4242"
    assert (invoices_of(sub)[0].status, reload(sub).status) == ("paid", "active")

    # Spent: the same link neither shows the form nor attaches a second card.
    assert client.get(path).status_code == 404
    again = client.post(path, {"number": GOOD_CARD, "exp_month": "12", "exp_year": "2030"})
    assert again.status_code == 404 and "not valid" in again.content.decode()
    assert PaymentMethod.objects.filter(customer=customer).count() == 2


def test_a_card_attached_another_way_spends_the_links_sent_before(failed):
    customer, _sub = failed
    path = _path(card_links.update_card_url(customer.pk))
    other = make_customer(card=None)
    other_path = _path(card_links.update_card_url(other.pk))
    attach_card(customer, GOOD_CARD, now())  # e.g. through the API
    assert Client().get(path).status_code == 404
    assert Client().get(other_path).status_code == 200  # another customer's link is not touched
    fresh = _path(card_links.update_card_url(customer.pk))
    assert Client().get(fresh).status_code == 200


def test_a_card_link_lasts_seven_days_and_one_dated_in_the_future_is_refused(failed, monkeypatch):
    customer, _sub = failed
    real = time.time()
    _signed_at(monkeypatch, real - 6 * DAY)
    six_days = _path(card_links.update_card_url(customer.pk))
    _signed_at(monkeypatch, real - 8 * DAY)
    eight_days = _path(card_links.update_card_url(customer.pk))
    _signed_at(monkeypatch, real + DAY)
    tomorrow = _path(card_links.update_card_url(customer.pk))
    monkeypatch.undo()
    assert Client().get(six_days).status_code == 200
    assert Client().get(eight_days).status_code == 404
    assert Client().get(tomorrow).status_code == 404
    # A link of the old form (the customer id alone, valid 30 days) no longer opens the page.
    old = links.url(f"card/{links._sign(links.CARD_SALT, str(customer.pk))}/")
    assert Client().get(_path(old)).status_code == 404
    forged = six_days.replace("/c/card/", "/c/card/x")
    assert Client().get(forged).status_code == 404


def test_the_sandbox_form_refuses_other_numbers_without_echoing_them_in_the_customers_language():
    start_clock(utc(2027, 1, 10, 9))
    customer = make_customer(card=None, locale="pt-BR")
    path = _path(card_links.update_card_url(customer.pk))
    page = Client().get(path)
    html = page.content.decode()
    assert page.status_code == 200 and 'lang="pt-br"' in html
    assert "Ambiente de testes" in html and "nenhum cartão real é cobrado" in html
    refused = Client().post(path, {"number": "5105 1051 0510 5100", "exp_month": "12", "exp_year": "2030"})
    text = refused.content.decode()
    assert refused.status_code == 400 and "5100" in text and "51051051" not in text.replace(" ", "")
    assert "não é um cartão de teste" in text
    assert not PaymentMethod.objects.filter(customer=customer).exists()


def test_live_mode_never_shows_a_card_number_form():
    start_clock(utc(2027, 1, 10, 9))
    customer = make_customer(card=None)
    with override_settings(ASSINA_MODE="live"):
        # Signed in live mode: a link signed with the sandbox database's key is not valid there.
        path = _path(card_links.update_card_url(customer.pk))
        page = Client().get(path)
        assert page.status_code == 503 and 'name="number"' not in page.content.decode()
        posted = Client().post(path, {"number": GOOD_CARD, "exp_month": "12", "exp_year": "2030"})
        assert posted.status_code == 503
    assert not PaymentMethod.objects.filter(customer=customer).exists()

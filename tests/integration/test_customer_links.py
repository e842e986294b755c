"""Customer links are narrow (issue 14) and a reopened page shows the current state (issue 15).

- A reactivate link undoes only the cancellation it was sent for; reopened after its action, or
  after a later cancellation, it shows where the subscription stands and changes nothing.
- Links dated in the future are refused; a link of the older form naming no cancellation is too.
- The invoice PDF link opens that invoice's PDF only, for a year.
- An unsubscribe link reopened after unsubscribing says "already unsubscribed".
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from factories import advance, invoices_of, make_customer, make_plan, reload, start_clock, subscribe, utc

from assina.invoices.models import Invoice
from assina.invoices.pdf import render_invoice_pdf
from assina.notifications import links
from assina.notifications.consent import unsubscribe
from assina.subscriptions.services import cancel_at_period_end, reactivate

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (auth, sessions)
DAY = 86400


def _path(url: str) -> str:
    return urlsplit(url).path


def _signed_at(monkeypatch, when: float) -> None:
    """Make the next links signed as at ``when`` (a wall-clock time; links expire in real time)."""
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: when))


@pytest.fixture
def ana():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990, name="Pro")
    customer = make_customer(email="ana@example.com", name="Ana", locale="en")
    return customer, subscribe(customer, "pro")


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def test_a_reactivate_link_undoes_only_its_cancellation_and_shows_the_state_when_reopened(ana):
    _customer, sub = ana
    cancel_at_period_end(sub.pk)
    first = _path(links.reactivate_url(sub.pk))
    client = Client()
    page = client.get(first)
    assert page.status_code == 200 and "Keep my subscription" in _text(page)
    assert "set to end on February 10, 2027" in _text(page)
    done = client.post(first)
    assert done.status_code == 200 and "Welcome back!" in _text(done)
    assert reload(sub).cancel_at_period_end is False

    # Reopened after its action: the current state, no button, no error.
    again = client.get(first)
    assert again.status_code == 200
    assert "Your Pro subscription is active and renews on February 10, 2027." in _text(again)
    assert "<form" not in _text(again)
    twice = client.post(first)  # a second press changes nothing and says where things stand
    assert twice.status_code == 409 and "is active and renews on February 10, 2027" in _text(twice)

    # A later cancellation is not undone by the first link: it needs its own (same instant too,
    # as under a frozen test clock).
    cancel_at_period_end(sub.pk)
    stale = client.get(first)
    assert stale.status_code == 200 and "<form" not in _text(stale)
    assert "This link was for an earlier cancellation" in _text(stale)
    assert client.post(first).status_code == 409
    assert reload(sub).cancel_at_period_end is True
    second = _path(links.reactivate_url(sub.pk))
    assert client.post(second).status_code == 200
    assert reload(sub).cancel_at_period_end is False


def test_a_reactivate_link_after_the_subscription_ended_says_so(ana):
    _customer, sub = ana
    cancel_at_period_end(sub.pk)
    path = _path(links.reactivate_url(sub.pk))
    advance(utc(2027, 2, 11, 9))
    assert reload(sub).status == "canceled"
    page = Client().get(path)
    assert page.status_code == 200 and "Your Pro subscription ended on February 10, 2027." in _text(page)
    assert "<form" not in _text(page)


def test_the_state_is_told_in_the_customers_language(ana):
    customer, sub = ana
    customer.locale = "pt-BR"
    customer.save(update_fields=["locale"])
    cancel_at_period_end(sub.pk)
    path = _path(links.reactivate_url(sub.pk))
    reactivate(sub.pk)
    page = Client().get(path)
    assert "Sua assinatura Pro está ativa e será renovada em 10 de fevereiro de 2027." in _text(page)


def test_links_dated_in_the_future_or_naming_no_cancellation_are_refused(ana, monkeypatch):
    customer, sub = ana
    cancel_at_period_end(sub.pk)
    invoice = invoices_of(sub)[0]
    real = time.time()
    _signed_at(monkeypatch, real + DAY)
    tomorrow = [_path(links.reactivate_url(sub.pk)), _path(links.invoice_pdf_url(invoice))]
    _signed_at(monkeypatch, real - DAY)
    yesterday = [_path(links.reactivate_url(sub.pk)), _path(links.invoice_pdf_url(invoice))]
    monkeypatch.undo()
    client = Client()
    for path in tomorrow:
        assert client.get(path).status_code == 404, path
    assert client.post(tomorrow[0]).status_code == 404
    assert reload(sub).cancel_at_period_end is True
    for path in yesterday:
        assert client.get(path).status_code == 200, path
    # The older form (the subscription id alone) cannot tell which cancellation it was for.
    old = _path(links.url(f"reactivate/{links._sign(links.REACTIVATE_SALT, str(sub.pk))}/"))
    assert client.post(old).status_code == 404
    assert reload(sub).cancel_at_period_end is True


def test_the_invoice_link_opens_that_invoices_pdf_only_for_a_year(ana, monkeypatch):
    customer, sub = ana
    advance(utc(2027, 2, 10, 10))
    first, second = invoices_of(sub)[:2]
    path = _path(links.invoice_pdf_url(first))
    assert path.startswith("/c/invoice/") and path.endswith("/pdf")
    response = Client().get(path)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content == render_invoice_pdf(first)
    assert "inline" in response["Content-Disposition"] and "no-store" in response["Cache-Control"]
    assert Client().head(path).status_code == 200
    assert Client().post(path).status_code == 405

    # Narrow: another invoice number in a token signed for one invoice is a forgery.
    token = path.split("/")[3]
    value, stamp, mac = token.split(":")
    forged = f"/c/invoice/{second.pk}.{customer.pk}:{stamp}:{mac}/pdf"
    assert Client().get(forged).status_code == 404
    other = make_customer(email="bob@example.com", name="Bob")
    moved = Invoice(pk=first.pk, customer_id=other.pk)  # a link for the same invoice number, another customer
    assert Client().get(_path(links.invoice_pdf_url(moved))).status_code == 404

    real = time.time()
    _signed_at(monkeypatch, real - 360 * DAY)
    recent = _path(links.invoice_pdf_url(first))
    _signed_at(monkeypatch, real - 370 * DAY)
    expired = _path(links.invoice_pdf_url(first))
    monkeypatch.undo()
    assert Client().get(recent).status_code == 200
    broken = Client().get(expired, HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert broken.status_code == 404 and "Este link não é válido" in _text(broken)


def test_an_unsubscribe_link_reopened_says_already_unsubscribed(ana):
    customer, _sub = ana
    path = _path(links.unsubscribe_url(customer.pk, None))
    client = Client()
    assert "<form" in _text(client.get(path))
    assert client.post(path).status_code == 200
    page = client.get(path)
    assert page.status_code == 200 and "You are already unsubscribed" in _text(page)
    assert "<form" not in _text(page)
    assert client.post(path).status_code == 200  # pressing again is harmless
    unsubscribe(customer.pk, utc(2027, 1, 10, 9), campaign_id=None, source="page")
    assert "already unsubscribed" in _text(client.get(path))


def test_a_sandbox_signs_links_with_its_own_key_not_the_published_one(ana, settings):
    customer, sub = ana
    cancel_at_period_end(sub.pk)
    real = links.reactivate_url(sub.pk)
    assert Client().get(_path(real)).status_code == 200
    # What anyone could sign with the sandbox key printed in the source opens nothing.
    published = settings.SECRET_KEY
    value = real.rstrip("/").rsplit("/", 1)[1].split(":")[0]
    forged = signing.TimestampSigner(key=published, salt=links.REACTIVATE_SALT).sign(value)
    assert Client().post(f"/c/reactivate/{forged}/").status_code == 404
    assert reload(sub).cancel_at_period_end is True
    unsigned = f"{customer.pk}.0"
    import base64, hashlib, hmac
    key = hashlib.sha256(f"{links.UNSUBSCRIBE_SALT}:{published}".encode()).digest()
    mac = base64.urlsafe_b64encode(hmac.new(key, unsigned.encode(), hashlib.sha256).digest()[:18]).decode()
    assert Client().get(f"/c/unsubscribe/{unsigned}.{mac}/").status_code == 404

"""A playbook's coupon is an offer in the portal (issue 20, "offer a coupon through the portal").

A shop with "pro" (R$50.00 a month) and the coupon "stay20" (20% off for 3 invoices); a playbook
for detractors that offers it for 14 days. Ana (en) and Bia (pt-BR) answer NPS 3.

- A run makes one offer per customer (the run again, or its action retried: still one) and
  applies nothing; Ana's home shows the card in English, Bia's in Portuguese.
- Accepting takes a POST with the CSRF token, from the offer's own customer (another's id is a
  404); a double POST applies the coupon once: one redemption, one event, one e-mail, the next
  invoice 20% off; the home confirms it and the card is gone.
- "No thanks" hides it (and it cannot be accepted after); an expired offer, or one whose
  subscription ended, is not shown; the report counts offers made and accepted.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from factories import advance, invoices_of, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import signed_in as _signed_in

from assina.catalog.models import Coupon, PromotionCode
from assina.catalog.services import CatalogError, create_coupon, create_promotion_code
from assina.events.models import Event
from assina.feedback.services import record_response
from assina.notifications.context import local_date
from assina.notifications.models import Message
from assina.playbooks import services
from assina.playbooks.models import PlaybookOffer, PlaybookRun
from assina.playbooks.outcomes import offer_counts
from assina.privacy.export import export_customer
from assina.subscriptions.models import Subscription
from assina.subscriptions.discounts import apply_discount
from assina.subscriptions.services import cancel_at_period_end, cancel_now, reactivate
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (auth, sessions)

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')




def _home(client: Client) -> str:
    response = client.get("/portal/")
    assert response.status_code == 200
    return response.content.decode().replace("\xa0", " ")


def _events(customer, kind: str) -> int:
    return Event.objects.filter(customer_id=customer.pk, type=kind).count()


@pytest.fixture
def offered():
    """Ana's and Bia's offers, made by one run of the playbook."""
    start_clock(utc(2027, 3, 1, 12))
    make_plan("pro", 5000, name="Pro")
    coupon = create_coupon(code="stay20", duration="repeating", duration_periods=3, percent_off="20", at=now())
    playbook = services.create_playbook(name="Detractors", trigger="detractor", at=now(), coupon=coupon, offer_days=14)
    people = []
    for name, locale in (("ana", "en"), ("bia", "pt-BR")):
        customer = make_customer(email=f"{name}@example.com", name=name.title(), locale=locale)
        subscribe(customer, "pro")
        record_response(customer=customer, survey="nps", score=3, comment="", submitted_at=now(), source="api", at=now())
        people.append(customer)
    assert services.run_playbook(playbook.pk, now())["fired"] == 2
    return playbook, *people


def test_the_customer_accepts_the_offered_coupon_once_and_their_next_invoice_is_discounted(offered):
    playbook, ana, bia = offered
    run = PlaybookRun.objects.get(customer=ana)
    offer = PlaybookOffer.objects.get(run=run)
    assert services.make_offer(playbook, run, now()) == offer  # a retried action finds it
    assert services.run_playbook(playbook.pk, now() + timedelta(hours=1))["fired"] == 0
    assert PlaybookOffer.objects.filter(customer=ana).count() == 1 and _events(ana, "playbook.offer_made") == 1
    sub = Subscription.objects.get(customer=ana)
    assert sub.coupon_id is None  # offered, not given

    client = _signed_in(ana)
    page = _home(client)
    until = local_date(offer.expires_at, "en", ana.time_zone)
    starts = local_date(sub.current_period_end, "en", ana.time_zone)
    assert "An offer for you" in page
    assert f"<strong>20% off your next 3 invoices</strong> on your Pro subscription, from your invoice of {starts}." in page
    assert f"The offer is yours until {until}." in page
    assert f'action="/portal/offers/{offer.pk}/accept/"' in page and "No thanks" in page
    pt = _home(_signed_in(bia))
    assert "Uma oferta para você" in pt and "20% de desconto nas próximas 3 faturas" in pt and "Aceitar" in pt

    url = f"/portal/offers/{offer.pk}/accept/"
    assert client.post(url).status_code == 403  # no CSRF token
    token = TOKEN.search(page).group(1)
    bias_offer = PlaybookOffer.objects.get(customer=bia)
    assert client.post(f"/portal/offers/{bias_offer.pk}/accept/", {"csrfmiddlewaretoken": token}).status_code == 404
    assert client.post(f"/portal/offers/{bias_offer.pk}/decline/", {"csrfmiddlewaretoken": token}).status_code == 404
    assert Subscription.objects.get(pk=sub.pk).coupon_id is None
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 302  # a double POST

    sub = Subscription.objects.get(pk=sub.pk)
    assert sub.coupon.code == "stay20" and sub.discount_applies_from == sub.current_period_end
    assert Coupon.objects.get(code="stay20").times_redeemed == 1
    assert _events(ana, "playbook.offer_accepted") == 1 and _events(ana, "subscription.discount_applied") == 1
    mail = Message.objects.get(template="playbook_offer_accepted")
    assert mail.customer_id == ana.pk and mail.kind == "transactional" and mail.subject == "Your discount on Pro is on"
    assert "20% off your next 3 invoices" in mail.text
    done = _home(client)
    assert f"Done: 20% off your next 3 invoices on your Pro subscription, from your invoice of {starts}." in done
    assert 'id="offer"' not in done
    assert offer_counts(playbook, now())["accepted"] == 1

    advance(sub.current_period_end + timedelta(hours=1))
    assert [(i.subtotal, i.discount, i.total) for i in invoices_of(sub)][-1] == (5000, -1000, 4000)


def test_a_declined_expired_or_ended_offer_is_not_shown(offered):
    playbook, ana, bia = offered
    client = _signed_in(bia)
    page = _home(client)
    offer = PlaybookOffer.objects.get(customer=bia)
    token = TOKEN.search(page).group(1)
    assert client.post(f"/portal/offers/{offer.pk}/decline/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert client.post(f"/portal/offers/{offer.pk}/decline/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert 'id="offer"' not in _home(client)
    assert _events(bia, "playbook.offer_declined") == 1  # on her timeline, once
    assert [(x["coupon"], x["declined_at"] is not None) for x in export_customer(bia)["portal_offers"]] == [
        (offer.coupon.code, True)]  # in her data export
    refused = client.post(f"/portal/offers/{offer.pk}/accept/", {"csrfmiddlewaretoken": token})
    assert refused.status_code == 409 and "Esta oferta terminou." in refused.content.decode()
    assert Subscription.objects.get(customer=bia).coupon_id is None

    ana_client = _signed_in(ana)
    ana_offer = PlaybookOffer.objects.get(customer=ana)
    start_clock(ana_offer.expires_at)
    assert 'id="offer"' not in _home(ana_client)
    start_clock(ana_offer.expires_at - timedelta(hours=1))
    assert 'id="offer"' in _home(ana_client)
    cancel_now(Subscription.objects.get(customer=ana).pk)
    assert 'id="offer"' not in _home(ana_client)
    counts = offer_counts(playbook, ana_offer.expires_at)
    assert (counts["made"], counts["accepted"], counts["declined"], counts["expired"]) == (2, 0, 1, 1)


def test_accepting_is_refused_once_the_subscription_cancels_or_has_the_owners_discount(offered):
    """The accept itself judges what the card judges (a stale page cannot take an offer the card
    would no longer show), and never replaces a discount the owner put on."""
    _playbook, ana, bia = offered
    ana_sub = Subscription.objects.get(customer=ana)
    ana_offer = PlaybookOffer.objects.get(customer=ana)
    cancel_at_period_end(ana_sub.pk)
    with pytest.raises(services.OfferError):
        services.accept_offer(ana.pk, ana_offer.pk)
    reactivate(ana_sub.pk)
    assert services.accept_offer(ana.pk, ana_offer.pk).accepted_at is not None  # open again once reactivated

    bia_sub = Subscription.objects.get(customer=bia)
    apply_discount(bia_sub.pk, percent_off="10", periods=1)
    with pytest.raises(services.OfferError):
        services.accept_offer(bia.pk, PlaybookOffer.objects.get(customer=bia).pk)
    bia_sub.refresh_from_db()
    assert bia_sub.coupon.percent_off == 10 and Coupon.objects.get(code="stay20").times_redeemed == 1  # Ana's only


def test_the_offer_applies_its_own_coupon_even_when_a_promotion_code_has_its_letters(offered):
    _playbook, ana, _bia = offered
    half = create_coupon(code="half", duration="forever", percent_off="50", at=now())
    # Made before the catalog refused a promotion code with another coupon's letters (as a
    # database from an earlier version may hold): the offer still gives its own coupon.
    PromotionCode.objects.create(code="STAY20", coupon=half, created_at=now())
    with pytest.raises(CatalogError):
        create_promotion_code(code="Stay20", coupon_code="half", at=now())
    services.accept_offer(ana.pk, PlaybookOffer.objects.get(customer=ana).pk)
    sub = Subscription.objects.get(customer=ana)
    assert sub.coupon.code == "stay20" and sub.coupon.percent_off == 20


@pytest.mark.postgres_only
def test_of_two_offers_accepted_at_once_one_takes_and_the_other_is_refused(offered, monkeypatch):
    playbook, ana, _bia = offered
    other = create_coupon(code="stay30", duration="repeating", duration_periods=3, percent_off="30", at=now())
    second = services.create_playbook(name="Detractors again", trigger="detractor", at=now(), coupon=other, offer_days=14)
    assert services.run_playbook(second.pk, now())["fired"] == 2
    offers = list(PlaybookOffer.objects.filter(customer=ana))
    assert len(offers) == 2
    # Both requests have read their offer before either locks the subscription.
    barrier = threading.Barrier(2, timeout=20)
    found = services.customers_offer

    def read_then_wait(customer_id, offer_id):
        offer = found(customer_id, offer_id)
        barrier.wait()
        return offer

    monkeypatch.setattr(services, "customers_offer", read_then_wait)
    results = []

    def accept(offer):
        try:
            services.accept_offer(ana.pk, offer.pk)
            results.append("accepted")
        except services.OfferError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(offer,)) for offer in offers]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == ["accepted", "refused"]
    taken = PlaybookOffer.objects.get(customer=ana, accepted_at__isnull=False)
    assert Subscription.objects.get(customer=ana).coupon_id == taken.coupon_id
    assert Message.objects.filter(template="playbook_offer_accepted", customer=ana).count() == 1

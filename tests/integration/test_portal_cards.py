"""The portal home's suggestion and price-change cards (issue 19, ``portal.views.cards``).

A shop: "pro" (R$50.00) and "team" (R$80.00), add-ons "storage" and "backup". Four other
customers on pro, three of them with storage: storage is popular on pro (4 of the 6 with Bia), backup on
nobody. Ana (en, pro, no add-on) is suggested storage, Bia (pt-BR, pro with storage) nothing.

- The suggestions card shows Ana's suggestion with its link to the add-ons page
  (``?suggestion=addon:storage``) and records it shown once however many views; Bia has no card.
- Taking the suggested add-on through that page records ``suggestion.accepted``; another
  add-on bought with the same key does not; a plan change carrying ``plan:team`` records it.
- The price-change card appears once a price migration names the customer, with its date and
  the button to ``/portal/price-change/``, in the customer's language; not after its date.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from factories import make_addon, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import signed_in as _signed_in

from assina.events.models import Event
from assina.notifications.context import local_date
from assina.repricing import services as repricing
from assina.repricing.models import PriceMigrationMember
from assina.subscriptions.services import cancel_at_period_end, reactivate
from assina.upgrades.suggestions import Suggestion, record_shown

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (auth, sessions)

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')




def _get(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode().replace("\xa0", " ")


def _events(customer, kind: str) -> list[dict]:
    return list(Event.objects.filter(customer_id=customer.pk, type=kind).order_by("id").values_list("data", flat=True))


@pytest.fixture
def shop():
    start_clock(utc(2027, 3, 1, 12))
    make_plan("pro", 5000, name="Pro")
    make_plan("team", 8000, name="Team")
    make_addon("storage", 2000, name="Storage")
    make_addon("backup", 1500, name="Backup")
    for n in range(4):
        subscribe(make_customer(), "pro", addons=[("storage", 1)] if n < 3 else [])
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    bia = make_customer(email="bia@example.com", name="Bia Lima", locale="pt-BR")
    return ana, subscribe(ana, "pro"), bia, subscribe(bia, "pro", addons=[("storage", 1)])


def test_the_suggestion_card_links_to_the_add_on_and_records_it_shown_then_accepted(shop):
    ana, ana_sub, bia, _bia_sub = shop
    assert 'id="suggestions-title"' not in _get(_signed_in(bia), "/portal/")  # nothing to suggest: no card

    client = _signed_in(ana)
    page = _get(client, "/portal/")
    link = f"/portal/subscriptions/{ana_sub.pk}/addons/?suggestion=addon:storage"
    assert "Suggested for you" in page and "Storage" in page and f'href="{link}"' in page
    assert "Popular on Pro: 67% of its customers have Storage." in page  # 4 of the 6 (Bia too)
    _get(client, "/portal/")
    assert [e["key"] for e in _events(ana, "suggestion.shown")] == ["addon:storage"]  # once, however many views

    addons = _get(client, link)
    assert '<input type="hidden" name="suggestion" value="addon:storage">' in addons
    assert re.search(r'value="storage" checked', addons)  # the suggested add-on is the one chosen
    token = TOKEN.search(addons).group(1)
    url = f"/portal/subscriptions/{ana_sub.pk}/addons/"
    # Another add-on bought with the key: not the suggestion taken.
    assert client.post(url, {"csrfmiddlewaretoken": token, "addon": "backup", "quantity": "1",
                             "suggestion": "addon:storage"}).status_code == 302
    assert _events(ana, "suggestion.accepted") == []
    assert client.post(url, {"csrfmiddlewaretoken": token, "addon": "storage", "quantity": "1",
                             "suggestion": "addon:storage"}).status_code == 302
    accepted = _events(ana, "suggestion.accepted")
    assert [(e["key"], e["surface"], e["monthly_amount"]) for e in accepted] == [("addon:storage", "portal", 2000)]
    # The card is kept between views (portal.views.cards), and made again once she holds it.
    assert 'id="suggestions-title"' not in _get(client, "/portal/")


def test_a_plan_change_carrying_its_suggestion_records_it_accepted(shop):
    ana, ana_sub, _bia, _bia_sub = shop
    record_shown(ana.pk, [Suggestion(key="plan:team", kind="limit_upsell", plan="team", name="Team", price="R$80.00",
                                     amount=8000, monthly_amount=3000, currency="BRL", reason="", subscription=ana_sub.pk)],
                 "portal")
    client = _signed_in(ana)
    preview = _get(client, f"/portal/subscriptions/{ana_sub.pk}/change/?suggestion=plan:team&plan=team&quantity=1")
    assert preview.count('<input type="hidden" name="suggestion" value="plan:team">') == 2  # the confirm and the choose-again forms
    assert client.post(f"/portal/subscriptions/{ana_sub.pk}/change/confirm/", {
        "csrfmiddlewaretoken": TOKEN.search(preview).group(1), "plan": "team", "quantity": "1",
        "suggestion": "plan:team"}).status_code == 302
    assert [e["key"] for e in _events(ana, "suggestion.accepted")] == ["plan:team"]


def test_the_price_change_card_shows_its_date_until_it_takes_effect(shop):
    ana, _ana_sub, bia, _bia_sub = shop
    ana_client, bia_client = _signed_in(ana), _signed_in(bia)
    assert 'id="price-change"' not in _get(ana_client, "/portal/")  # no price change: no card

    repricing.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 4, 15))
    member = PriceMigrationMember.objects.get(customer=ana)
    page = _get(ana_client, "/portal/")
    assert 'id="price-change"' in page and 'href="/portal/price-change/"' in page
    assert f"Your subscription's price changes on {local_date(member.target_at, 'en', ana.time_zone)}." in page
    pt = _get(bia_client, "/portal/")
    assert "O preço da sua assinatura muda em" in pt and 'href="/portal/price-change/"' in pt

    start_clock(member.target_at + timedelta(days=1))  # its date passed (the clock only: nothing processed)
    assert 'id="price-change"' not in _get(ana_client, "/portal/")


def test_a_customer_who_cancelled_since_the_notice_has_no_price_change_to_choose(shop):
    ana, ana_sub, _bia, _bia_sub = shop
    client = _signed_in(ana)
    repricing.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 4, 15))
    assert 'id="price-change"' in _get(client, "/portal/")
    cancel_at_period_end(ana_sub.pk)
    assert 'id="price-change"' not in _get(client, "/portal/")
    assert "The price of Pro changes on" not in _get(client, "/portal/price-change/")
    reactivate(ana_sub.pk)  # the choice is back with the subscription
    assert 'id="price-change"' in _get(client, "/portal/")

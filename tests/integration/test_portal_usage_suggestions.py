"""The portal's suggestions card has the usage upsells (issue 19): a customer whose last billed
usage a higher plan prices better, or who used most of what their plan includes, sees that plan
first with the reason in their language; three suggestions at most in all; shown is recorded
once a day and taking it from the card records it accepted. Only a metered subscription pays
for the usage read: one fixed statement."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from factories import advance, make_addon, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import csrf_token, signed_in
from usage_support import send, usage

from assina.events.models import Event
from assina.portal.views import cards
from assina.subscriptions.models import Subscription
from assina.usage.services import add_metered_price, create_metric

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    cards.forget()
    start_clock(utc(2027, 1, 1))
    create_metric(code="calls", name="API calls", aggregation="sum")
    make_plan("pro", 10000, name="Pro")
    add_metered_price(plan_code="pro", metric_code="calls", pricing_model="graduated",
                      tiers=[{"up_to": 1000, "unit_amount": 0}, {"up_to": None, "unit_amount": 10}])
    make_plan("team", 15000, name="Team")
    add_metered_price(plan_code="team", metric_code="calls", pricing_model="graduated",
                      tiers=[{"up_to": 10000, "unit_amount": 0}, {"up_to": None, "unit_amount": 5}])
    make_plan("basic", 5000, name="Basic")
    for code, name in (("storage", "Storage"), ("support", "Support"), ("backup", "Backup")):
        make_addon(code, 1000, name=name)
    for _n in range(3):  # three add-ons popular on pro: with the upsell, four candidates
        subscribe(make_customer(), "pro", addons=[("storage", 1), ("support", 1), ("backup", 1)])
    ana = make_customer(name="Ana Souza", email="ana@example.com", locale="en")
    ana_sub = subscribe(ana, "pro")
    bia = make_customer(name="Bia Lima", email="bia@example.com", locale="pt-BR")
    bia_sub = subscribe(bia, "pro")
    advance(utc(2027, 1, 10))
    send(usage("a1", ana, "calls", 1700, utc(2027, 1, 10)), usage("b1", bia, "calls", 900, utc(2027, 1, 10)))
    advance(utc(2027, 2, 1, 1))  # January closes: its usage is billed
    yield ana, ana_sub, bia, bia_sub
    cards.forget()


def _card(html: str) -> str:
    found = re.search(r'<section class="suggestions".*?</section>', html, re.S)
    return found.group(0).replace("\xa0", " ") if found else ""


def test_the_card_puts_the_usage_upsell_first_with_its_reason_and_three_at_most(shop):
    ana, ana_sub, _bia, _bia_sub = shop
    card = _card(signed_in(ana).get("/portal/").content.decode())
    assert ("With your usage last period (1,700 API calls), Team would have cost R$150.00 instead of R$170.00."
            in card)
    link = f"/portal/subscriptions/{ana_sub.pk}/change/?suggestion=plan:team"
    assert card.index(f'href="{link}"') < card.index("/addons/?suggestion=")
    assert card.count('class="row"') == 3  # the upsell and two of the three popular add-ons
    shown = Event.objects.filter(customer_id=ana.pk, type="suggestion.shown").order_by("pk")
    assert [e.data["kind"] for e in shown] == ["usage_upsell", "popular", "popular"]


def test_near_the_limit_in_portuguese(shop):
    _ana, _ana_sub, bia, _bia_sub = shop
    card = _card(signed_in(bia).get("/portal/").content.decode())
    assert "Você usou 900 de 1.000 API calls incluídos no Pro; o Team inclui 10.000." in card


def test_shown_once_a_day_and_taking_it_records_it_accepted(shop):
    ana, ana_sub, _bia, _bia_sub = shop
    client = signed_in(ana)
    client.get("/portal/")
    cards.forget()  # made again: nothing more recorded within the day
    client.get("/portal/")
    assert Event.objects.filter(customer_id=ana.pk, type="suggestion.shown", data__key="plan:team").count() == 1

    page = client.get(f"/portal/subscriptions/{ana_sub.pk}/change/?suggestion=plan:team").content.decode()
    assert re.search(r'value="team" checked', page)  # the suggested plan comes chosen
    preview = client.get(f"/portal/subscriptions/{ana_sub.pk}/change/?plan=team&quantity=1&suggestion=plan:team").content.decode()
    assert "Before you confirm" in preview
    assert '<input type="hidden" name="suggestion" value="plan:team">' in preview
    assert client.post(f"/portal/subscriptions/{ana_sub.pk}/change/confirm/", {
        "csrfmiddlewaretoken": csrf_token(preview), "plan": "team", "quantity": "1",
        "suggestion": "plan:team"}).status_code == 302
    assert Subscription.objects.get(pk=ana_sub.pk).plan.code == "team"
    accepted = Event.objects.get(customer_id=ana.pk, type="suggestion.accepted").data
    assert (accepted["key"], accepted["kind"], accepted["monthly_amount"]) == ("plan:team", "usage_upsell", 5000)


def _usage_reads(client) -> tuple[int, int]:
    """(statements, usage reads) of a home whose suggestions card is made."""
    client.get("/portal/")
    cards.forget()
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/portal/").status_code == 200
    return len(captured), sum("SELECT 'usage'" in q["sql"] for q in captured.captured_queries)


def test_only_a_metered_subscription_pays_for_the_usage_read_one_statement(shop):
    ana, _ana_sub, _bia, _bia_sub = shop
    carl = make_customer(name="Carl", email="carl@example.com", locale="en")
    subscribe(carl, "basic")
    assert _usage_reads(signed_in(ana))[1] == 1
    assert _usage_reads(signed_in(carl))[1] == 0  # and the unmetered home's budget: test_portal_queries.py

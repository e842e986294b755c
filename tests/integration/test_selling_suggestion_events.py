"""Checkout records its suggestions for the new customer (issue 19): ``suggestion.shown`` for each
add-on and bundle the page suggested, ``suggestion.accepted`` for each one taken, as the portal
records them (``upgrades.suggestions``), so the suggestions report counts checkout; each add-on
says why it is suggested, in the visitor's language; the events cost the purchase one statement.

A shop: "pro" (R$49.90), add-ons "storage" (R$19.90), "backup" (R$15.00), and "duo", a public
bundle of pro and storage at R$59.90 (apart R$69.80). Pro's page offers storage and backup
(the oldest add-ons: no history) and the bundle: three suggestions.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from factories import make_addon, make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.models import Plan
from assina.catalog.services import create_bundle
from assina.customers.models import Customer
from assina.events.models import Event
from assina.selling import checkout_events
from assina.selling import views as selling_views
from assina.selling.models import CheckoutSuggestion
from assina.time import now
from assina.upgrades import suggestions

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (sessions, CSRF)

CPF = "529.982.247-25"


@pytest.fixture
def shop():
    selling_views.forget()  # a process keeps a plan's add-ons and bundles (test databases reuse ids)
    start_clock(utc(2027, 3, 1, 12))
    make_plan("pro", 4990, name="Pro")
    make_addon("storage", 1990, name="Storage")
    make_addon("backup", 1500, name="Backup")
    create_bundle(code="duo", name="Duo", parts=[("pro", 1), ("storage", 1)], price=5990, at=now())
    Plan.objects.filter(code__in=["pro", "duo"]).update(public=True)
    yield Plan.objects.get(code="pro")
    suggestions.forget_bundles()


def _page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def _buy(client: Client, path: str, page: str, **changes):
    form = {name: value for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)}
    form["csrfmiddlewaretoken"] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form.update({"email": "ana@example.com", "name": "Ana", "tax_id": CPF, "number": "4242424242424242",
                 "exp_month": "12", "exp_year": "2031", **changes})
    response = client.post(path, form)
    assert response.status_code == 303, re.sub(r"\s+", " ", response.content.decode())[-800:]
    return response


def _events(kind: str) -> list[Event]:
    return list(Event.objects.filter(type=kind).order_by("pk"))


def test_a_purchase_records_the_suggestions_its_page_showed_and_the_add_on_taken_and_the_report_counts_them(shop):
    client = Client(enforce_csrf_checks=True)
    page = _page(client, "/checkout/pro/?lang=en")
    _buy(client, "/checkout/pro/?lang=en", page, addons=["storage"])
    _buy(client, "/checkout/pro/?lang=en", page, addons=["storage"])  # posted again: nothing more
    ana = Customer.objects.get()
    shown = _events("suggestion.shown")
    assert [(e.customer_id, e.subject_type, e.subject_id) for e in shown] == [(ana.pk, "customer", ana.pk)] * 3
    sub = f"sub_{ana.subscriptions.get().pk}"
    assert [e.data for e in shown] == [
        {"key": "addon:storage", "kind": "available", "plan": "storage", "surface": "checkout", "monthly_amount": 1990,
         "currency": "BRL", "subscription": sub},
        {"key": "addon:backup", "kind": "available", "plan": "backup", "surface": "checkout", "monthly_amount": 1500,
         "currency": "BRL", "subscription": sub},
        {"key": "plan:duo", "kind": "bundle", "plan": "duo", "surface": "checkout", "monthly_amount": 5990,
         "currency": "BRL", "subscription": sub}]
    [accepted] = _events("suggestion.accepted")
    assert accepted.data == {"key": "addon:storage", "kind": "available", "plan": "storage", "surface": "checkout",
                             "shown": shown[0].pk, "monthly_amount": 1990, "currency": "BRL"}
    assert accepted.customer_id == ana.pk and accepted.occurred_at == shown[0].occurred_at == now()
    report = suggestions.report()
    assert (report["shown"], report["accepted"], report["acceptance_rate"], report["added_mrr"]) == (3, 1, 0.3333,
                                                                                                    {"BRL": 1990})
    # The portal's own rule sees them: a second accept of the same suggestion is refused.
    assert suggestions.record_accepted(ana.pk, "addon:storage", "portal") is False


def test_taking_the_bundle_from_the_plans_page_is_accepting_it(shop):
    client = Client(enforce_csrf_checks=True)
    pro = _page(client, "/checkout/pro/?lang=pt-br")
    link = re.search(r'href="(/checkout/duo/[^"]+)"', pro).group(1).replace("&amp;", "&")
    assert link == "/checkout/duo/?lang=pt-br&suggestion=plan%3Aduo&from=pro"  # which suggestion it was
    duo = _page(client, link)
    assert '<input type="hidden" name="suggestion" value="plan:duo">' in duo
    _buy(client, "/checkout/duo/?lang=pt-br", duo)
    shown = {e.data["key"]: e for e in _events("suggestion.shown")}
    assert set(shown) == {"plan:duo", "addon:backup"}  # duo's own page offers backup (never storage, its part)
    [accepted] = _events("suggestion.accepted")
    assert (accepted.data["key"], accepted.data["kind"], accepted.data["shown"], accepted.data["monthly_amount"]) == \
        ("plan:duo", "bundle", shown["plan:duo"].pk, 5990)
    assert suggestions.report()["by_kind"][3] == {"kind": "bundle", "shown": 1, "accepted": 1, "acceptance_rate": 1.0,
                                                  "added_mrr": {"BRL": 5990}}


def test_a_link_that_names_a_bundle_no_page_suggested_records_no_acceptance(shop):
    client = Client(enforce_csrf_checks=True)
    forged = _page(client, "/checkout/duo/?lang=en&suggestion=plan:duo&from=duo")  # duo's page suggests no duo
    assert 'name="suggestion"' not in forged
    _buy(client, "/checkout/duo/?lang=en", forged, suggestion="plan:duo", **{"from": "duo"})
    assert _events("suggestion.accepted") == [] and [e.data["key"] for e in _events("suggestion.shown")] == ["addon:backup"]


def test_each_add_on_says_why_in_the_visitors_language(shop):
    customers = [make_customer() for _ in range(3)]
    subscribe(customers[0], "pro", addons=[("backup", 1)])
    subscribe(customers[1], "pro", addons=[("backup", 1)])
    subscribe(customers[2], "pro")

    def reasons(lang: str) -> list[tuple[str, str]]:
        page = _page(Client(), f"/checkout/pro/?lang={lang}")
        return re.findall(r'value="(\w+)">[^<]+<span class="price">[^<]+</span><span class="reason">([^<]+)<', page)

    assert reasons("en") == [("backup", "66% of customers on Pro have it."), ("storage", "Made to go with Pro.")]
    assert reasons("pt-br") == [("backup", "66% dos clientes do plano Pro têm este adicional."),
                                ("storage", "Feito para acompanhar o plano Pro.")]
    CheckoutSuggestion.objects.create(plan=shop, addon=Plan.objects.get(code="storage"))  # the owner's choice
    assert reasons("en") == [("storage", "Recommended with Pro.")]
    assert reasons("pt-br") == [("storage", "Recomendado com o plano Pro.")]


def test_a_known_email_records_no_suggestion(shop):
    make_customer(email="ana@example.com")
    client = Client(enforce_csrf_checks=True)
    _buy(client, "/checkout/pro/?lang=en", _page(client, "/checkout/pro/?lang=en"), addons=["storage"])
    assert _events("suggestion.shown") == [] and _events("suggestion.accepted") == []


def test_the_suggestion_events_cost_the_purchase_one_statement(shop, monkeypatch):
    """SQLite: one INSERT (the ids follow the purchase's last event under its write lock);
    PostgreSQL: the ids from the sequence, then one COPY."""
    def purchase(email: str) -> list[str]:
        client = Client(enforce_csrf_checks=True)
        page = _page(client, "/checkout/pro/?lang=en")
        with CaptureQueriesContext(connection) as done:
            _buy(client, "/checkout/pro/?lang=en", page, email=email, addons=["storage"])
        return [q["sql"] for q in done]

    purchase("first@example.com")  # the year's first invoice starts its number sequence
    with_events = purchase("ana@example.com")
    assert len(_events("suggestion.shown")) == 6 and len(_events("suggestion.accepted")) == 2
    monkeypatch.setattr(checkout_events, "write", lambda *args: 0)
    without = purchase("bia@example.com")
    assert len(_events("suggestion.shown")) == 6  # none for Bia
    assert len(with_events) - len(without) == 1, [q[:90] for q in with_events]
    if connection.vendor == "sqlite":
        assert sum(q.startswith('4 times: INSERT INTO "events_event" ("id", ') for q in with_events) == 1
    else:  # the ids; the COPY that writes the rows runs on psycopg's own cursor, which Django does not count
        assert sum("nextval" in q and "events_event" in q for q in with_events) == 1

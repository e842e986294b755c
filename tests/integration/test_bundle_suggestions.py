"""Bundles among the suggestions (issue 19, ``upgrades.suggestions``, checkout and portal).

A shop: "pro" (R$49.90), add-ons "storage" (R$19.90), "backup" (R$15.00) and "sms" (R$5.00), and
"duo", a public bundle of pro and storage at R$59.90 (apart: R$69.80).

- Checkout of pro: the bundle is a link to its own checkout in the page's language, with the
  saving in words; with the add-ons (checkboxes) never more than three. Duo's checkout does not
  offer storage, which it includes.
- Portal: Ana (pro, no add-on) is suggested duo; its link previews the plan change and taking it
  records ``suggestion.accepted`` of kind "bundle" (the report counts it). Bia (pro with
  storage) is not: the change would keep her storage add-on and she would pay it twice.
- Not suggested when the bundle is no longer cheaper than its parts, inactive, or bills in
  another currency or interval.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from factories import make_addon, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import signed_in as _signed_in

from assina.catalog.models import Plan
from assina.catalog.services import change_plan_price, create_bundle
from assina.events.models import Event
from assina.portal.views import cards
from assina.selling import views as selling_views
from assina.subscriptions.models import Subscription
from assina.time import now
from assina.upgrades import suggestions

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (sessions, CSRF)

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _text(response) -> str:
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode().replace("\xa0", " "))




@pytest.fixture
def shop():
    selling_views.forget()  # processes keep a plan's add-ons and bundles (test databases reuse ids)
    cards.forget()
    start_clock(utc(2027, 3, 1, 12))
    make_plan("pro", 4990, name="Pro")
    for code, amount, name in (("storage", 1990, "Storage"), ("backup", 1500, "Backup"), ("sms", 500, "SMS")):
        make_addon(code, amount, name=name)
    create_bundle(code="duo", name="Duo", parts=[("pro", 1), ("storage", 1)], price=5990, at=now())
    Plan.objects.filter(code__in=["pro", "duo"]).update(public=True)
    yield Plan.objects.get(code="pro")
    suggestions.forget_bundles()


def test_checkout_offers_the_bundle_with_its_saving_and_three_suggestions_at_most(shop):
    page = _text(Client().get("/checkout/pro/?lang=en"))
    assert "Pro and Storage together as Duo: R$59.90 per month instead of R$69.80." in page
    assert 'href="/checkout/duo/?lang=en&amp;suggestion=plan%3Aduo&amp;from=pro"' in page and "Buy the bundle instead" in page
    addons = re.findall(r'name="addons" value="(\w+)"', page)
    assert addons == ["storage", "backup"]  # the oldest add-ons fill what the bundle leaves: three in all

    pt = _text(Client().get("/checkout/pro/?lang=pt-br"))
    assert "Pro e Storage juntos como Duo: R$ 59,90 por mês em vez de R$ 69,80." in pt
    assert 'href="/checkout/duo/?lang=pt-br&amp;suggestion=plan%3Aduo&amp;from=pro"' in pt and "Assinar o pacote" in pt

    duo = _text(Client().get("/checkout/duo/?lang=en"))
    assert re.findall(r'name="addons" value="(\w+)"', duo) == ["backup", "sms"]  # never its own part
    assert "Buy the bundle instead" not in duo


def test_a_bundle_switched_off_or_dearer_is_gone_from_the_next_checkout_page(shop):
    assert "Buy the bundle instead" in _text(Client().get("/checkout/pro/?lang=en"))  # now kept by the process
    Plan.objects.filter(code="duo").update(active=False)
    assert "Buy the bundle instead" not in _text(Client().get("/checkout/pro/?lang=en"))
    Plan.objects.filter(code="duo").update(active=True)
    assert "Buy the bundle instead" in _text(Client().get("/checkout/pro/?lang=en"))
    change_plan_price("storage", amount=500, at=now())  # the parts now cost less than the bundle
    assert "Buy the bundle instead" not in _text(Client().get("/checkout/pro/?lang=en"))


def test_the_portal_suggests_the_bundle_and_taking_it_records_it_accepted(shop):
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    sub = subscribe(ana, "pro")
    bia = make_customer(email="bia@example.com", name="Bia Lima", locale="pt-BR")
    subscribe(bia, "pro", addons=[("storage", 1)])
    assert "Duo" not in _text(_signed_in(bia).get("/portal/"))  # she would pay storage twice

    client = _signed_in(ana)
    home = _text(client.get("/portal/"))
    link = f"/portal/subscriptions/{sub.pk}/change/?plan=duo&amp;quantity=1&amp;suggestion=plan:duo"
    assert "Pro and Storage together as Duo: R$59.90 per month instead of R$69.80." in home and f'href="{link}"' in home
    shown = Event.objects.get(customer_id=ana.pk, type="suggestion.shown")
    assert (shown.data["key"], shown.data["kind"], shown.data["monthly_amount"]) == ("plan:duo", "bundle", 1000)

    preview = _text(client.get(link.replace("&amp;", "&")))
    assert '<input type="hidden" name="suggestion" value="plan:duo">' in preview
    assert client.post(f"/portal/subscriptions/{sub.pk}/change/confirm/", {
        "csrfmiddlewaretoken": TOKEN.search(preview).group(1), "plan": "duo", "quantity": "1",
        "suggestion": "plan:duo"}).status_code == 302
    assert Subscription.objects.get(pk=sub.pk).plan.code == "duo"
    accepted = Event.objects.get(customer_id=ana.pk, type="suggestion.accepted").data
    assert (accepted["key"], accepted["kind"], accepted["monthly_amount"]) == ("plan:duo", "bundle", 1000)
    bundle = next(row for row in suggestions.report()["by_kind"] if row["kind"] == "bundle")
    assert (bundle["shown"], bundle["accepted"], bundle["added_mrr"]) == (1, 1, {"BRL": 1000})


def test_not_suggested_unless_cheaper_active_and_billed_alike(shop):
    ana = make_customer(email="ana@example.com", locale="en")
    sub = Subscription.objects.select_related("plan", "customer").get(pk=subscribe(ana, "pro").pk)

    def offered() -> tuple[list, list]:
        suggestions.forget_bundles()
        return ([s.key for s in suggestions.quick_suggestions(sub, owned_addons={})],
                [s.key for s in suggestions.checkout_bundles(shop, "en")])

    assert offered() == (["plan:duo"], ["plan:duo"])
    assert [s.kind for s in suggestions.suggestions_for(ana.pk)] == ["bundle"]  # the API and `assina suggestions list`
    change_plan_price("storage", amount=1000, at=now())  # apart now R$59.90: the bundle saves nothing
    assert offered() == ([], [])
    change_plan_price("storage", amount=1990, at=now())
    Plan.objects.filter(code="duo").update(active=False)
    assert offered() == ([], [])
    Plan.objects.filter(code="duo").update(active=True, interval="year")
    assert offered() == ([], [])
    Plan.objects.filter(code="duo").update(interval="month", currency="USD")
    assert offered() == ([], [])

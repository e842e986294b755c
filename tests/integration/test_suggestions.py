"""At most three suggestions (issue 19, ``upgrades.suggestions``).

A shop: "pro" (R$100.00 + calls: 1,000 included, then R$0.10 each), "team" (R$150.00 + 10,000
calls included, then R$0.05), add-ons "storage", "support", "backup", "sms". On "pro", 10 other
customers: 6 have storage (5 of them with support too), 3 have backup alone; sms is on nobody.

- Ana (pro, storage, used 1,700 calls last month: R$100 + 700 × R$0.10 = R$170.00; on team
  R$150.00) gets: team (usage), support (5 of the 6 with storage), backup (popular: 3 of 11).
- Bia (pro, 900 calls: 90 % of the 1,000 included) gets team as near the limit.
- Three at most; never an add-on she has; the reasons in her language.
- Shown is recorded once per 24 h whatever the page views; accepted once; the report's rate
  and added MRR follow.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import advance, make_addon, make_customer, make_plan, start_clock, subscribe, utc
from usage_support import send, usage
from api_support import api  # noqa: F401

from assina.catalog.models import Plan
from assina.events.models import Event
from assina.subscriptions.models import Subscription
from assina.subscriptions.addons import add_addon
from assina.upgrades import suggestions
from assina.usage.services import add_metered_price, create_metric

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    start_clock(utc(2027, 1, 1))
    create_metric(code="calls", name="API calls", aggregation="sum")
    make_plan("pro", 10000, name="Pro")
    add_metered_price(plan_code="pro", metric_code="calls", pricing_model="graduated",
                      tiers=[{"up_to": 1000, "unit_amount": 0}, {"up_to": None, "unit_amount": 10}])
    make_plan("team", 15000, name="Team")
    add_metered_price(plan_code="team", metric_code="calls", pricing_model="graduated",
                      tiers=[{"up_to": 10000, "unit_amount": 0}, {"up_to": None, "unit_amount": 5}])
    for code, amount, name in (("storage", 2000, "Storage"), ("support", 3000, "Priority support"),
                               ("backup", 1500, "Backup"), ("sms", 500, "SMS")):
        make_addon(code, amount, name=name)
    for n in range(10):
        addons = [("storage", 1)] if n < 6 else [("backup", 1)] if n < 9 else []
        if n < 5:
            addons.append(("support", 1))
        subscribe(make_customer(), "pro", addons=addons)
    ana = make_customer(name="Ana Souza", locale="en")
    ana_sub = subscribe(ana, "pro", addons=[("storage", 1)])
    bia = make_customer(name="Bia Lima", locale="pt-BR")
    bia_sub = subscribe(bia, "pro")
    advance(utc(2027, 1, 10))
    send(usage("a1", ana, "calls", 1700, utc(2027, 1, 10)), usage("b1", bia, "calls", 900, utc(2027, 1, 10)))
    advance(utc(2027, 2, 1, 1))  # the January period closes: usage billed
    return ana, ana_sub, bia, bia_sub


def test_at_most_three_with_their_reasons(shop, django_assert_max_num_queries):
    ana, ana_sub, bia, _bia_sub = shop
    found = suggestions.suggestions_for(ana.pk)
    assert [(s.kind, s.key) for s in found] == [("usage_upsell", "plan:team"), ("cross_sell", "addon:support"),
                                                ("popular", "addon:backup")]
    assert found[0].reason == ("With your usage last period (1,700 API calls), Team would have cost R$150.00 instead of "
                               "R$170.00.")
    assert found[1].reason == "Customers on Pro who have Storage often add Priority support too (5 of 7)."
    assert found[2].reason == "Popular on Pro: 25% of its customers have Backup."
    assert found[1].url == f"/portal/subscriptions/{ana_sub.pk}/addons/?suggestion=addon:support"
    assert all(s.key != "addon:storage" and s.key != "addon:sms" for s in found)

    pt = suggestions.suggestions_for(bia.pk)
    assert pt[0].kind == "limit_upsell"
    assert pt[0].reason == "Você usou 900 de 1.000 API calls incluídos no Pro; o Team inclui 10.000."
    assert len(pt) == 3 and pt[1].key == "addon:storage" and pt[1].kind == "popular"

    pro = Plan.objects.get(code="pro")
    storage = Plan.objects.get(code="storage")
    sub = Subscription.objects.select_related("plan").get(pk=ana_sub.pk)
    with django_assert_max_num_queries(2):  # the portal's home: the counts, the prices
        quick = suggestions.quick_suggestions(sub, owned_addons={storage.pk: "Storage"}, locale="en")
    assert [(s.kind, s.key) for s in quick] == [("cross_sell", "addon:support"), ("popular", "addon:backup")]
    with django_assert_max_num_queries(2):
        checkout = suggestions.for_plan(pro, "en")
    assert [s.key for s in checkout] == ["addon:storage", "addon:support", "addon:backup"]


def test_shown_once_a_day_accepted_once_and_reported(shop):
    ana, ana_sub, _bia, _ = shop
    found = suggestions.suggestions_for(ana.pk)
    assert suggestions.record_shown(ana.pk, found, "portal") == 3
    for _view in range(5):
        assert suggestions.record_shown(ana.pk, found, "portal") == 0
    assert Event.objects.filter(type="suggestion.shown").count() == 3
    add_addon(ana_sub.pk, "support")
    assert suggestions.record_accepted(ana.pk, "addon:support", "portal") is True
    assert suggestions.record_accepted(ana.pk, "addon:support", "portal") is False  # once
    assert suggestions.record_accepted(ana.pk, "addon:sms", "portal") is False  # never shown
    advance(utc(2027, 2, 2, 2))
    assert suggestions.record_shown(ana.pk, found, "portal") == 3  # a day later: shown again
    report = suggestions.report()
    assert (report["shown"], report["accepted"], report["acceptance_rate"], report["added_mrr"]) == (6, 1, round(1 / 6, 4),
                                                                                                     {"BRL": 3000})
    cross = next(row for row in report["by_kind"] if row["kind"] == "cross_sell")
    assert (cross["shown"], cross["accepted"], cross["acceptance_rate"]) == (2, 1, 0.5)


def test_the_api_lists_them(shop, api):  # noqa: F811
    ana, _sub, _bia, _ = shop
    response = api.get(f"/customers/cus_{ana.pk}/suggestions")
    assert response.status_code == 200
    body = response.json()
    assert [s["key"] for s in body] == ["plan:team", "addon:support", "addon:backup"] and body[0]["monthly_amount"] == 5000
    assert api.get("/customers/cus_999999/suggestions").status_code == 404

"""Switching to annual billing and temporary upgrades in the portal (issue 16).

- /portal/annual/<id>/ shows the year's price, the incentive, the saving against twelve monthly
  payments and the credit for the unused part of the month; its POST bills exactly those amounts
  (numbers computed by hand below).
- /portal/upgrade/<id>/ starts a free trial of a higher plan (no charge, the subscription keeps
  its plan and price; ``access_plan`` says the trial's plan) and keeps it as a plan change billed
  at once. One trial per customer per plan.
- Another customer's subscription is a 404; every POST needs the CSRF token.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from factories import advance, invoices_of, lines_of, make_addon, make_customer, make_plan, reload, start_clock, subscribe, utc
from portal_support import signed_in as _signed_in

from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.subscriptions.changes import change_subscription
from assina.time import now
from assina.upgrades import services
from assina.upgrades.models import AnnualOffer, TemporaryUpgrade, TrialPlan
from assina.upgrades.offers import offers_for

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (auth, sessions)


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def _token(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)




@pytest.fixture
def shop():
    start_clock(utc(2027, 3, 1))
    basic = make_plan("basic", 3000, name="Basic")
    annual = make_plan("basic-annual", 36000, name="Basic Annual", interval="year")
    make_plan("pro", 9000, name="Pro")
    make_plan("team", 15000, name="Team")
    AnnualOffer.objects.create(monthly_plan=basic, annual_plan=annual, incentive="percent", percent_off="15", created_at=now())
    TrialPlan.objects.create(plan=make_plan("premium", 6000, name="Premium"), days=14, created_at=now())
    TrialPlan.objects.create(plan=basic, days=7, created_at=now())  # not higher than basic: never offered to it
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    bia = make_customer(email="bia@example.com", name="Bia Lima", locale="pt-BR")
    return ana, subscribe(ana, "basic"), bia, subscribe(bia, "basic")


def test_the_annual_page_shows_the_amounts_that_its_post_bills(shop):
    ana, sub, _bia, _bsub = shop
    advance(utc(2027, 3, 11))  # 10 of March's 31 days used: 21/31 = 0.677419355 unused
    client = _signed_in(ana)
    page = client.get(f"/portal/annual/{sub.pk}/")
    assert page.status_code == 200
    text = _text(page)
    # By hand: 12 × R$30.00 = R$360.00; the year R$360.00; 15 % off = R$54.00; first year R$306.00;
    # saving R$54.00; credit −round(3000 × 0.677419355) = −R$20.32; due now 306.00 − 20.32 = R$285.68.
    for shown in ("Twelve monthly payments of R$30.00", "R$360.00", "15% off the first year", "-R$54.00",
                  "R$306.00", "You save against twelve monthly payments", "R$54.00", "-R$20.32", "R$285.68",
                  "Switch to annual and pay R$285.68", "renews on March 11, 2028 at R$360.00"):
        assert shown in text, shown
    offers = offers_for(reload(sub))
    assert offers["annual"]["label"] == "Switch to annual (save R$54.00)" and offers["annual"]["url"] == f"/portal/annual/{sub.pk}/"

    done = client.post(f"/portal/annual/{sub.pk}/", {"csrfmiddlewaretoken": _token(page)})
    assert done.status_code == 200 and "You are on annual billing" in _text(done)
    invoice = invoices_of(sub)[-1]
    assert lines_of(invoice) == [("subscription", 36000), ("discount", -5400), ("proration", -2032)]
    assert invoice.total == 28568 and invoice.status == "paid"
    assert "R$285.68" in _text(done) and invoice.number in _text(done)
    sub = reload(sub)
    assert (sub.plan.code, sub.interval, sub.current_period_start, sub.current_period_end) == (
        "basic-annual", "year", utc(2027, 3, 11), utc(2028, 3, 11))
    event = Event.objects.get(type="upgrade.annual_switched")
    assert event.data["incentive_amount"] == 5400 and event.data["credit"] == -2032 and event.data["invoice"] == invoice.pk

    # The incentive is the first year's only: the renewal bills the annual plan's price.
    advance(utc(2028, 3, 11))
    assert lines_of(invoices_of(sub)[-1]) == [("subscription", 36000)]
    # Annual now: nothing more to switch.
    assert "not offered for your plan" in _text(client.get(f"/portal/annual/{sub.pk}/"))


def test_months_free_take_twelfths_of_the_years_price_in_portuguese(shop):
    _ana, _sub, bia, bsub = shop
    odd = make_plan("basic-annual-2", 29990, name="Básico Anual", interval="year")
    AnnualOffer.objects.filter(monthly_plan__code="basic").update(annual_plan=odd, incentive="months_free", months_free=1,
                                                                 percent_off=None)
    advance(utc(2027, 3, 16, 12))  # 15.5 of 31 days used: unused 0.5 exactly
    client = _signed_in(bia)
    page = client.get(f"/portal/annual/{bsub.pk}/")
    text = _text(page)
    # By hand: one month free = round(29990 / 12) = 2499; first year 27491; 12 × 30,00 = 360,00;
    # saving 36000 − 27491 = 8509; credit −1500; due now 27491 − 1500 = 25991.
    for shown in ("R$ 360,00", "R$ 299,90", "1 mês grátis", "-R$ 24,99", "R$ 274,91", "R$ 85,09", "-R$ 15,00",
                  "R$ 259,91"):
        assert shown in text, shown
    client.post(f"/portal/annual/{bsub.pk}/", {"csrfmiddlewaretoken": _token(page)})
    invoice = invoices_of(bsub)[-1]
    assert lines_of(invoice) == [("subscription", 29990), ("discount", -2499), ("proration", -1500)]
    assert invoice.total == 25991


def test_the_annual_switch_explains_why_it_is_not_available(shop):
    ana, sub, _bia, _bsub = shop
    make_addon("seats", 1000, name="Seats")
    carol = make_customer(email="carol@example.com", locale="en")
    with_addon = subscribe(carol, "basic", addons=[("seats", 1)])
    on_pro = subscribe(ana, "pro")
    advance(utc(2027, 3, 5))
    client = _signed_in(carol)
    assert "add-ons bill monthly" in _text(client.get(f"/portal/annual/{with_addon.pk}/"))
    page = _signed_in(ana).get(f"/portal/annual/{on_pro.pk}/")
    assert "not offered for your plan" in _text(page) and "<form" not in _text(page).split("</header>")[1]
    assert offers_for(reload(on_pro))["annual"] is None
    assert offers_for(reload(with_addon))["annual"] is None
    assert offers_for(reload(sub))["annual"] is not None


def test_another_customers_subscription_is_a_404_and_every_post_needs_the_csrf_token(shop):
    ana, sub, _bia, bsub = shop
    advance(utc(2027, 3, 5))
    client = _signed_in(ana)
    for path in (f"/portal/annual/{bsub.pk}/", f"/portal/upgrade/{bsub.pk}/", "/portal/annual/999999/"):
        assert client.get(path).status_code == 404
    token = _token(client.get(f"/portal/upgrade/{sub.pk}/"))
    assert client.post(f"/portal/annual/{bsub.pk}/", {"csrfmiddlewaretoken": token}).status_code == 404
    assert client.post(f"/portal/upgrade/{bsub.pk}/", {"csrfmiddlewaretoken": token, "action": "start",
                                                       "plan": "premium"}).status_code == 404
    assert client.post(f"/portal/annual/{sub.pk}/").status_code == 403
    assert client.post(f"/portal/upgrade/{sub.pk}/", {"action": "start", "plan": "premium"}).status_code == 403
    assert reload(sub).plan.code == "basic" and reload(bsub).plan.code == "basic"
    assert not TemporaryUpgrade.objects.exists() and len(invoices_of(sub)) == 1
    # Without a session: the sign-in page.
    assert Client().get(f"/portal/upgrade/{sub.pk}/")["Location"] == "/portal/login"


def test_a_free_trial_costs_nothing_gives_the_higher_plan_and_is_kept_as_a_plan_change(shop):
    ana, sub, _bia, _bsub = shop
    advance(utc(2027, 3, 11))
    client = _signed_in(ana)
    assert [t["label"] for t in offers_for(reload(sub))["trials"]] == ["Try Premium free for 14 days"]
    page = client.get(f"/portal/upgrade/{sub.pk}/")
    assert "Try Premium free for 14 days" in _text(page) and "R$60.00" in _text(page)
    assert "Pro" not in _text(page)  # not offered by the owner
    started = client.post(f"/portal/upgrade/{sub.pk}/", {"csrfmiddlewaretoken": _token(page), "action": "start", "plan": "premium"})
    assert started.status_code == 200 and "Your free trial has started" in _text(started)
    trial = TemporaryUpgrade.objects.get()
    assert (trial.started_at, trial.ends_at, trial.next_action_at) == (utc(2027, 3, 11), utc(2027, 3, 25), utc(2027, 3, 23))
    sub = reload(sub)
    assert sub.plan.code == "basic" and services.access_plan(sub).code == "premium"  # billing unchanged
    assert len(invoices_of(sub)) == 1
    assert Event.objects.get(type="upgrade.trial_started").data["access_plan"] == "premium"
    assert offers_for(sub)["running_trial"]["label"] == "Your free trial of Premium ends on March 25, 2027: keep it"

    # Keeping it: 20 of 31 days left on the 12th at noon? Use the 13th: 19/31 = 0.612903226 unused.
    advance(utc(2027, 3, 13))
    page = client.get(f"/portal/upgrade/{sub.pk}/")
    # By hand: credit −round(3000 × 0.612903226) = −1839; charge round(6000 × 0.612903226) = 3677; net 1838.
    assert "you pay R$18.38 now for the rest of this period, then R$60.00 every month" in _text(page)
    kept = client.post(f"/portal/upgrade/{sub.pk}/", {"csrfmiddlewaretoken": _token(page), "action": "confirm"})
    assert "You now have Premium" in _text(kept)
    invoice = invoices_of(sub)[-1]
    assert lines_of(invoice) == [("proration", -1839), ("proration", 3677)] and invoice.status == "paid"
    sub = reload(sub)
    assert sub.plan.code == "premium" and services.access_plan(sub).code == "premium"
    trial = reload(trial)
    assert trial.confirmed_at == utc(2027, 3, 13) and trial.next_action_at is None and trial.reverted_at is None
    # Nothing left to try: premium was tried once, and basic is not higher.
    assert offers_for(sub)["trials"] == [] and offers_for(sub)["running_trial"] is None


def test_one_temporary_upgrade_per_customer_per_plan(shop):
    ana, sub, _bia, _bsub = shop
    advance(utc(2027, 3, 2))
    services.start_trial(sub, "premium")
    with pytest.raises(services.UpgradeError):
        services.start_trial(reload(sub), "premium")
    advance(utc(2027, 3, 16, 1))  # ended by itself
    assert reload(TemporaryUpgrade.objects.get()).reverted_at == utc(2027, 3, 16)
    assert services.trial_options(reload(sub)) == []
    client = _signed_in(ana)
    page = client.get(f"/portal/upgrade/{sub.pk}/")
    assert "There is no plan you can try right now" in _text(page)
    token = _token(client.get("/portal/"))  # the home's sign-out form; this page has no form left
    refused = client.post(f"/portal/upgrade/{sub.pk}/", {"csrfmiddlewaretoken": token, "action": "start", "plan": "premium"})
    assert refused.status_code == 409 and "already tried this plan" in _text(refused)
    # A second subscription of the same customer cannot try it again either.
    other = subscribe(ana, "basic")
    assert services.trial_options(other) == []
    assert TemporaryUpgrade.objects.count() == 1


def test_a_coupon_comes_with_a_plan_change_only_when_it_starts_a_new_cycle(shop):
    _ana, sub, *_ = shop
    advance(utc(2027, 3, 5))
    with pytest.raises(ValueError):
        change_subscription(sub.pk, plan_code="pro", coupon_code="whatever")
    assert reload(sub).plan.code == "basic" and reload(sub).coupon_id is None


def test_offers_for_a_subscription_offered_nothing_costs_one_query(shop, django_assert_num_queries):
    _ana, _sub, _bia, _bsub = shop
    TrialPlan.objects.all().delete()  # the owner offers no trial; and no annual offer for team
    carol = make_customer(email="carol@example.com", locale="en")
    on_team = subscribe(carol, "team")
    on_team = type(on_team).objects.select_related("customer", "plan").get(pk=on_team.pk)
    with django_assert_num_queries(1):
        assert offers_for(on_team) == {"annual": None, "trials": [], "running_trial": None}


def test_the_owner_sets_the_offers_in_the_admin_and_bad_input_is_refused_with_form_errors(shop, admin_client):
    basic_id = AnnualOffer.objects.get().monthly_plan_id
    AnnualOffer.objects.all().delete()
    from assina.catalog.models import Plan

    annual_id = Plan.objects.get(code="basic-annual").pk
    add = "/admin/upgrades/annualoffer/add/"
    page = admin_client.get(add).content.decode()
    assert "basic-annual" in page and f'value="{annual_id}"' in page
    refused = admin_client.post(add, {"monthly_plan": basic_id, "annual_plan": annual_id, "incentive": "percent",
                                      "percent_off": "", "months_free": "", "active": "on"})
    assert refused.status_code == 200 and "Give a percentage between 0 and 100" in refused.content.decode()
    assert not AnnualOffer.objects.exists()
    made = admin_client.post(add, {"monthly_plan": basic_id, "annual_plan": annual_id, "incentive": "months_free",
                                   "percent_off": "15", "months_free": "2", "active": "on"})
    assert made.status_code == 302
    offer = AnnualOffer.objects.get()
    assert (offer.incentive, offer.months_free, offer.percent_off, offer.created_at) == ("months_free", 2, None, now())
    # A yearly plan cannot be the monthly side.
    wrong = admin_client.post(add, {"monthly_plan": annual_id, "annual_plan": annual_id, "incentive": "percent",
                                    "percent_off": "10", "active": "on"})
    assert wrong.status_code == 200 and AnnualOffer.objects.count() == 1
    assert admin_client.get("/admin/upgrades/trialplan/add/").status_code == 200
    assert admin_client.get("/admin/upgrades/temporaryupgrade/").status_code == 200
    assert admin_client.get("/admin/upgrades/temporaryupgrade/add/").status_code == 403

"""What a customer sees and does in the portal (issue 16): the next invoice previewed, plan and
quantity changes with the proration preview, downgrades at the period end, pauses of the
lengths the owner offers, resume, add-ons, cards; another customer's ids are 404; every POST
needs the CSRF token; a GET changes nothing.

Amounts are computed by hand. The month of January 2027 has 31 days; at 16 January 00:00 UTC
16 of them are left: a proration is amount × 16 / 31, rounded half up, credit and charge apart.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from usage_support import send, usage
from factories import advance, event_types, last_event_id, make_addon, make_customer, make_plan, reload, start_clock, subscribe, utc
from portal_support import signed_in as _signed_in

from assina.customers.models import BalanceTransaction
from assina.events.models import Event
from assina.invoices.models import PendingItem
from assina.invoices.services import add_balance
from assina.payments import methods
from assina.payments.models import PaymentMethod
from assina.portal.models import PortalSettings
from assina.subscriptions.models import ScheduledChange, SubscriptionItem
from assina.time import now
from assina.usage.models import UsageEvent
from assina.usage.services import add_metered_price, create_metric

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (auth, sessions)


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def _token(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)




def _post(client: Client, path: str, data: dict | None = None):
    """A POST as the page's form sends it (with the CSRF token of the home)."""
    token = _token(client.get("/portal/"))
    return client.post(path, {"csrfmiddlewaretoken": token, **(data or {})})


def _messages(response) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages) if hasattr(response.wsgi_request, "_messages") else ""


@pytest.fixture
def shop():
    start_clock(utc(2027, 1, 1))
    make_plan("basic", 3000, name="Basic", pricing_model="per_unit")
    make_plan("pro", 6000, name="Pro", pricing_model="per_unit")
    make_plan("pro-year", 60000, name="Pro yearly", interval="year", pricing_model="per_unit")
    make_addon("seats", 1000, name="Extra seats")
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    bia = make_customer(email="bia@example.com", name="Bia Lima", locale="pt-BR")
    asub, bsub = subscribe(ana, "pro"), subscribe(bia, "pro")
    advance(utc(2027, 1, 16))  # 16 of January's 31 days are left
    return ana, asub, bia, bsub


def test_an_upgrade_is_previewed_with_its_proration_then_confirmed_and_billed_next(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    page = client.get(f"/portal/subscriptions/{asub.pk}/change/")
    assert page.status_code == 200 and "Basic" in _text(page) and "Pro yearly" not in _text(page)  # annual: the upgrades app
    since = last_event_id()
    preview = _text(client.get(f"/portal/subscriptions/{asub.pk}/change/", {"plan": "pro", "quantity": "2"}))
    # Credit 6000 × 16/31 = 3096.77 → 3097; charge 12000 × 16/31 = 6193.55 → 6194; net 3097.
    assert "-R$30.97" in preview and "R$61.94" in preview and "R$30.97 is added to your next invoice" in preview
    assert "then the plan costs R$120.00 every month" in preview
    assert event_types(since_id=since) == [] and PendingItem.objects.count() == 0  # a preview changes nothing

    done = _post(client, f"/portal/subscriptions/{asub.pk}/change/confirm/", {"plan": "pro", "quantity": "2"})
    assert done.status_code == 302 and done["Location"].startswith("/portal/")
    assert SubscriptionItem.objects.get(subscription=asub).quantity == 2
    assert sorted(PendingItem.objects.values_list("amount", flat=True)) == [-3097, 6194]
    event = Event.objects.filter(type="subscription.updated", id__gt=since).get()
    assert event.data["quantity"] == 2 and event.data["proration"] == 3097
    home = _text(client.get("/portal/"))
    assert "Done: your plan is now Pro × 2." in home
    assert "R$150.97 on February 1, 2027" in home  # 12000 + the carried 3097


def test_a_downgrade_waits_for_the_period_end_and_the_customer_can_keep_the_plan(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    preview = _text(client.get(f"/portal/subscriptions/{asub.pk}/change/", {"plan": "basic", "quantity": "1"}))
    assert "Your plan changes to Basic × 1 on February 1, 2027" in preview
    since = last_event_id()
    assert _post(client, f"/portal/subscriptions/{asub.pk}/change/confirm/", {"plan": "basic", "quantity": "1"}).status_code == 302
    change = ScheduledChange.objects.get(subscription=asub, status="pending")
    assert change.change == {"plan": "basic", "quantity": 1} and change.effective_at == utc(2027, 2, 1)
    assert reload(asub).plan.code == "pro" and PendingItem.objects.count() == 0
    assert event_types(asub, since_id=since) == ["subscription.change_scheduled"]
    home = _text(client.get("/portal/"))
    assert "R$30.00 on February 1, 2027" in home and "your plan changes to Basic × 1" in home

    assert _post(client, f"/portal/subscriptions/{asub.pk}/change/keep/").status_code == 302
    assert reload(change).status == "canceled"
    assert "R$60.00 on February 1, 2027" in _text(client.get("/portal/"))
    advance(utc(2027, 2, 1))
    assert reload(asub).plan.code == "pro"


def test_the_owner_may_let_downgrades_take_effect_at_once_with_the_unused_time_credited(shop):
    ana, asub, _bia, _bsub = shop
    settings = PortalSettings()
    settings.downgrade_timing = PortalSettings.Timing.NOW
    settings.save()
    client = _signed_in(ana)
    preview = _text(client.get(f"/portal/subscriptions/{asub.pk}/change/", {"plan": "basic", "quantity": "1"}))
    # Credit 6000 × 16/31 → -3097; charge 3000 × 16/31 = 1548.39 → 1548; net -1549.
    assert "-R$30.97" in preview and "R$15.48" in preview and "R$15.49, is taken off your next invoice" in preview
    assert _post(client, f"/portal/subscriptions/{asub.pk}/change/confirm/", {"plan": "basic", "quantity": "1"}).status_code == 302
    assert reload(asub).plan.code == "basic" and not ScheduledChange.objects.exists()
    assert sum(PendingItem.objects.values_list("amount", flat=True)) == -1549


def test_bad_choices_are_refused_in_the_customers_language_and_change_nothing(shop):
    _ana, _asub, bia, bsub = shop
    client = _signed_in(bia)
    since = last_event_id()
    refused = client.get(f"/portal/subscriptions/{bsub.pk}/change/", {"plan": "pro-year", "quantity": "1"})
    assert refused.status_code == 400 and "Este plano não está disponível" in _text(refused)
    same = client.get(f"/portal/subscriptions/{bsub.pk}/change/", {"plan": "pro", "quantity": "1"})
    assert same.status_code == 400 and "Nada a mudar" in _text(same)
    for bad in ("0", "-3", "abc", "10001"):
        response = _post(client, f"/portal/subscriptions/{bsub.pk}/change/confirm/", {"plan": "pro", "quantity": bad})
        assert response.status_code == 400, bad
        assert ("A quantidade deve ser de 1 a 10.000" if bad != "abc" else "número inteiro") in _text(response)
    PortalSettings(allow_quantity_change=False).save()
    response = _post(client, f"/portal/subscriptions/{bsub.pk}/change/confirm/", {"plan": "pro", "quantity": "3"})
    assert response.status_code == 400 and "A quantidade não pode ser alterada aqui" in _text(response)
    PortalSettings(any_base_plan=False).save()  # no plan listed: only the current one
    response = _post(client, f"/portal/subscriptions/{bsub.pk}/change/confirm/", {"plan": "basic", "quantity": "1"})
    assert response.status_code == 400
    assert event_types(since_id=since) == [] and reload(bsub).plan.code == "pro"
    assert SubscriptionItem.objects.get(subscription=bsub).quantity == 1


def test_a_pause_of_an_offered_length_then_resume(shop):
    ana, asub, _bia, _bsub = shop
    PortalSettings(pause_1=True, pause_2=False, pause_3=False).save()
    client = _signed_in(ana)
    page = _text(client.get(f"/portal/subscriptions/{asub.pk}/pause/"))
    assert "until February 16, 2027" in page and "2 months" not in page
    since = last_event_id()
    refused = _post(client, f"/portal/subscriptions/{asub.pk}/pause/", {"periods": "2"})
    assert refused.status_code == 400 and "not offered" in _text(refused)
    assert reload(asub).status == "active" and event_types(since_id=since) == []

    assert _post(client, f"/portal/subscriptions/{asub.pk}/pause/", {"periods": "1"}).status_code == 302
    asub = reload(asub)
    assert asub.status == "paused" and asub.resumes_at == utc(2027, 2, 16)
    assert "subscription.paused" in event_types(asub, since_id=since)
    # The unused 16/31 of January is credit for the resume: 6000 × 16/31 → 3097.
    assert BalanceTransaction.objects.filter(customer=ana).values_list("amount", flat=True).get() == 3097
    home = _text(client.get("/portal/"))
    assert "paused until February 16, 2027" in home and ">Resume</button>" in home and "Change plan" not in home

    advance(utc(2027, 1, 20))
    assert _post(client, f"/portal/subscriptions/{asub.pk}/resume/").status_code == 302
    asub = reload(asub)
    assert asub.status == "active" and asub.current_period_start == utc(2027, 1, 20)
    assert "subscription.resumed" in event_types(asub, since_id=since)
    assert "Done: your subscription is active again." in _text(client.get("/portal/"))
    again = _post(client, f"/portal/subscriptions/{asub.pk}/resume/")
    assert again.status_code == 400 and "not paused" in _text(again)


def test_no_pause_when_the_owner_offers_none(shop):
    ana, asub, _bia, _bsub = shop
    PortalSettings(pause_1=False, pause_2=False, pause_3=False).save()
    client = _signed_in(ana)
    assert f"/portal/subscriptions/{asub.pk}/pause/" not in _text(client.get("/portal/"))
    assert _post(client, f"/portal/subscriptions/{asub.pk}/pause/", {"periods": "1"}).status_code == 400
    assert reload(asub).status == "active"


def test_add_ons_are_added_and_removed_with_proration(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    page = _text(client.get(f"/portal/subscriptions/{asub.pk}/addons/"))
    assert "Extra seats" in page and "R$10.00" in page
    since = last_event_id()
    assert _post(client, f"/portal/subscriptions/{asub.pk}/addons/", {"addon": "seats", "quantity": "1"}).status_code == 302
    item = SubscriptionItem.objects.get(subscription=asub, plan_version__plan__code="seats")
    # The period's total goes from 6000 to 7000: credit 6000 × 16/31 → -3097, charge 7000 × 16/31 = 3612.90 → 3613.
    assert sorted(PendingItem.objects.values_list("amount", flat=True)) == [-3097, 3613]
    event = Event.objects.filter(type="subscription.updated", id__gt=since).get()
    assert event.data["addon_added"] == "seats" and event.data["proration"] == 516
    home = _text(client.get("/portal/"))
    assert "Extra seats × 1" in home and "R$75.16 on February 1, 2027" in home  # 7000 + 516
    again = _post(client, f"/portal/subscriptions/{asub.pk}/addons/", {"addon": "seats", "quantity": "1"})
    assert again.status_code == 400 and SubscriptionItem.objects.filter(subscription=asub).count() == 2

    assert _post(client, f"/portal/subscriptions/{asub.pk}/addons/{item.pk}/remove/").status_code == 302
    assert not SubscriptionItem.objects.filter(pk=item.pk).exists()
    assert Event.objects.filter(type="subscription.updated", id__gt=since).last().data["addon_removed"] == "seats"
    # Back from 7000 to 6000: credit -3613, charge 3097; everything carried nets to zero.
    assert sum(PendingItem.objects.values_list("amount", flat=True)) == 0

    PortalSettings(allow_addon_changes=False).save()
    refused = _post(client, f"/portal/subscriptions/{asub.pk}/addons/", {"addon": "seats", "quantity": "1"})
    assert refused.status_code == 400 and not SubscriptionItem.objects.filter(subscription=asub, plan_version__plan__code="seats").exists()


def test_the_next_invoice_counts_the_discount_usage_so_far_and_the_credit_balance_without_billing_usage():
    start_clock(utc(2027, 1, 1))
    make_plan("api", 1000, name="API plan")
    create_metric(code="calls", name="API calls")
    add_metered_price(plan_code="api", metric_code="calls", unit_amount=5)
    customer = make_customer(email="carla@example.com", name="Carla", locale="pt-BR")
    sub = subscribe(customer, "api")
    advance(utc(2027, 1, 10))
    send(usage("a", customer, "calls", 120, utc(2027, 1, 5)))
    add_balance(customer.pk, 300, "BRL", BalanceTransaction.Kind.ADJUSTMENT, now(), None, "goodwill")
    client = _signed_in(customer)
    home = _text(client.get("/portal/"))
    # 1000 (plan) + 120 × 5 (usage so far) = 1600, less the 300 credit: 1300 to be charged.
    assert "R$ 13,00 em 1 de fevereiro de 2027" in home
    assert re.search(r"<td>Uso de API calls</td><td class=\"amount\">120</td><td class=\"amount\">R\$ 6,00</td>", home)
    assert re.search(r"<td>Seu saldo de crédito</td><td class=\"amount\">-R\$ 3,00</td>", home)
    assert UsageEvent.objects.get().billed_subscription_id is None  # the preview billed nothing
    advance(utc(2027, 2, 1))
    feb = sub.invoices.order_by("pk").last()
    assert feb.total == 1600 and feb.amount_due == 1300  # what the preview said


def test_cards_are_listed_and_one_can_be_made_default_or_removed(shop):
    ana, _asub, bia, _bsub = shop
    first = ana.default_payment_method
    second = methods.add_card(ana, "5555555555554444", now(), exp_month=12, exp_year=2030)
    methods.set_default(ana, first.pk, now())
    client = _signed_in(ana)
    home = _text(client.get("/portal/"))
    assert "4242" in home and "4444" in home
    card_page = re.search(r'href="https?://[^/"]+(/c/card/[^"]+)"', home).group(1)
    assert Client().get(card_page).status_code == 200  # the card link is a valid one (not spent, not forged)
    assert _post(client, f"/portal/cards/{second.pk}/default/").status_code == 302
    assert reload(ana).default_payment_method_id == second.pk
    refused = _post(client, f"/portal/cards/{second.pk}/remove/")
    assert refused.status_code == 400 and reload(second).detached_at is None
    assert _post(client, f"/portal/cards/{first.pk}/remove/").status_code == 302
    assert reload(first).detached_at is not None
    bias = bia.default_payment_method
    assert _post(client, f"/portal/cards/{bias.pk}/default/").status_code == 404
    assert _post(client, f"/portal/cards/{bias.pk}/remove/").status_code == 404
    assert reload(bias).detached_at is None


def test_another_customers_subscription_add_on_and_card_are_404(shop):
    ana, asub, bia, bsub = shop
    subscribe(bia, "basic", addons=[("seats", 1)])
    bitem = SubscriptionItem.objects.get(plan_version__plan__code="seats")
    client = _signed_in(ana)
    since = last_event_id()
    for path in (f"/portal/subscriptions/{bsub.pk}/change/", f"/portal/subscriptions/{bsub.pk}/pause/",
                 f"/portal/subscriptions/{bsub.pk}/addons/", "/portal/subscriptions/999999/change/"):
        assert client.get(path).status_code == 404, path
    for path, data in ((f"/portal/subscriptions/{bsub.pk}/change/confirm/", {"plan": "pro", "quantity": "2"}),
                       (f"/portal/subscriptions/{bsub.pk}/change/keep/", {}),
                       (f"/portal/subscriptions/{bsub.pk}/pause/", {"periods": "1"}),
                       (f"/portal/subscriptions/{bsub.pk}/resume/", {}),
                       (f"/portal/subscriptions/{bsub.pk}/addons/", {"addon": "seats", "quantity": "1"}),
                       (f"/portal/subscriptions/{bitem.subscription_id}/addons/{bitem.pk}/remove/", {}),
                       (f"/portal/subscriptions/{asub.pk}/addons/{bitem.pk}/remove/", {}),
                       (f"/portal/cards/{bia.default_payment_method_id}/default/", {})):
        assert _post(client, path, data).status_code == 404, path
    assert event_types(since_id=since) == [] and SubscriptionItem.objects.filter(pk=bitem.pk).exists()
    assert reload(bsub).status == "active"


def test_every_post_needs_the_csrf_token(shop):
    ana, asub, _bia, _bsub = shop
    methods.add_card(ana, "5555555555554444", now(), exp_month=12, exp_year=2030)
    card = PaymentMethod.objects.filter(customer=ana).order_by("pk").first()
    SubscriptionItem.objects.create(subscription=asub, plan_version=make_addon("support", 500).current_version(), quantity=1)
    item = SubscriptionItem.objects.get(subscription=asub, plan_version__plan__code="support")
    client = _signed_in(ana)
    since = last_event_id()
    for path, data in ((f"/portal/subscriptions/{asub.pk}/change/confirm/", {"plan": "pro", "quantity": "2"}),
                       (f"/portal/subscriptions/{asub.pk}/change/keep/", {}),
                       (f"/portal/subscriptions/{asub.pk}/pause/", {"periods": "1"}),
                       (f"/portal/subscriptions/{asub.pk}/resume/", {}),
                       (f"/portal/subscriptions/{asub.pk}/addons/", {"addon": "seats", "quantity": "1"}),
                       (f"/portal/subscriptions/{asub.pk}/addons/{item.pk}/remove/", {}),
                       (f"/portal/cards/{card.pk}/default/", {}),
                       (f"/portal/cards/{card.pk}/remove/", {})):
        assert client.post(path, data).status_code == 403, path
    assert event_types(since_id=since) == [] and reload(asub).status == "active"
    assert SubscriptionItem.objects.filter(subscription=asub).count() == 2 and reload(card).detached_at is None


def test_the_home_links_to_the_cancel_flow_and_says_how_cancelling_works(shop):
    _ana, _asub, bia, bsub = shop
    home = _text(_signed_in(bia).get("/portal/"))
    assert f'href="/portal/cancel/{bsub.pk}/"' in home and "Cancelar assinatura" in home
    assert "Você pode cancelar a qualquer momento" in home and "R$ 60,00 em 1 de fevereiro de 2027" in home


def test_the_switch_to_annual_is_linked_only_when_the_upgrades_app_offers_it(shop):
    from assina.catalog.models import Plan
    from assina.upgrades.models import AnnualOffer

    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    assert f"/portal/annual/{asub.pk}/" not in _text(client.get("/portal/"))
    AnnualOffer.objects.create(monthly_plan=Plan.objects.get(code="pro"), annual_plan=Plan.objects.get(code="pro-year"),
                               incentive=AnnualOffer.Incentive.PERCENT, percent_off=0, created_at=now())
    home = _text(client.get("/portal/"))
    # Twelve months at R$60.00 are R$720.00; the yearly plan costs R$600.00.
    assert f'href="/portal/annual/{asub.pk}/"' in home and "Switch to annual (save R$120.00)" in home


def test_in_a_free_trial_a_change_is_immediate_and_bills_nothing(shop):
    carla = make_customer(email="carla@example.com", name="Carla", locale="en")
    sub = subscribe(carla, "pro", trial_days=14)
    client = _signed_in(carla)
    preview = _text(client.get(f"/portal/subscriptions/{sub.pk}/change/", {"plan": "basic", "quantity": "3"}))
    assert "You are still in your free trial: nothing is charged until it ends" in preview
    assert _post(client, f"/portal/subscriptions/{sub.pk}/change/confirm/", {"plan": "basic", "quantity": "3"}).status_code == 302
    assert reload(sub).plan.code == "basic" and not PendingItem.objects.filter(subscription=sub).exists()
    # The trial ends on January 30: then 3 × R$30.00.
    assert "R$90.00 on January 30, 2027" in _text(client.get("/portal/"))

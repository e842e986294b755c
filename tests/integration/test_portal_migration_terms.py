"""The portal home of a subscriber whose price migration is armed (docs/portal.md, docs/repricing.md).

Pro R$50.00 → R$60.00 from March 1, 2027 (the cheaper Basic R$35.00 offered); the choice is armed
at the February renewal, so from February 10 the home shows the change due on March 1. The
customer cannot undo it with "Keep my current plan" (that would renew at the old price): the
button is not shown for the new price, and the POST is refused, nothing changed, whatever the
choice; the owner still can. The note and the terms say the new price from the change date.
"""

from __future__ import annotations

import re

import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import signed_in

from assina.catalog.services import change_plan_price
from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.repricing import services
from assina.subscriptions import changes
from assina.subscriptions.models import ScheduledChange
from assina.subscriptions.services import SubscriptionError
from assina.time import now

pytestmark = pytest.mark.django_db


def _armed(default: str = "accept", locale: str = "en"):
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    make_plan("basic", 3500, name="Basic")
    customer = make_customer(email="ana@example.com", locale=locale)
    sub = subscribe(customer, "pro")
    advance(utc(2027, 1, 20))
    services.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 3, 1),
                              switch_plan_code="basic", default_choice=default)
    advance(utc(2027, 2, 10))
    assert ScheduledChange.objects.filter(subscription=sub, status="pending").count() == 1
    return customer, sub


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html.replace("\xa0", " "))


def _keep(client, sub):
    home = client.get("/portal/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home).group(1)
    return client.post(f"/portal/subscriptions/{sub.pk}/change/keep/", {"csrfmiddlewaretoken": token})


@pytest.mark.parametrize("default, locale, refusal", [
    ("accept", "en", "choose another option on the price change page"),
    ("accept", "pt-BR", "escolher outra opção na página da mudança de preço"),
    ("switch", "en", "choose another option on the price change page"),
    ("switch", "pt-BR", "escolher outra opção na página da mudança de preço"),
])
def test_the_customer_cannot_drop_the_migrations_change_and_renews_at_the_new_price(default, locale, refusal):
    customer, sub = _armed(default, locale)
    client = signed_in(customer)
    events = Event.objects.count()
    page = _keep(client, sub)
    assert page.status_code == 400 and refusal in _text(page.content.decode())
    assert ScheduledChange.objects.filter(subscription=sub, status="pending").count() == 1
    assert Event.objects.count() == events  # nothing recorded
    advance(utc(2027, 3, 1))
    assert Invoice.objects.get(subscription=sub, period_start=utc(2027, 3, 1)).total == (6000 if default == "accept" else 3500)


def test_the_service_refuses_a_customer_the_pinned_price_and_lets_the_owner_withdraw_it():
    _customer, sub = _armed()
    with pytest.raises(SubscriptionError):
        changes.withdraw_scheduled_changes(sub.pk, by_owner=False, reason="customer")
    assert ScheduledChange.objects.filter(subscription=sub, status="pending").count() == 1
    changes.withdraw_scheduled_changes(sub.pk, by_owner=True, reason="owner")
    assert not ScheduledChange.objects.filter(subscription=sub, status="pending").exists()


@pytest.mark.parametrize("locale, refusal", [("en", "cannot be undone here"), ("pt-BR", "não pode ser desfeita aqui")])
def test_a_pinned_price_without_a_migration_is_refused_by_the_service(locale, refusal):
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    customer = make_customer(email="ana@example.com", locale=locale)
    sub = subscribe(customer, "pro")
    version = change_plan_price("pro", amount=6000, at=now())
    changes.schedule_version_change(sub.pk, version_id=version.pk)
    client = signed_in(customer)
    page = _keep(client, sub)
    assert page.status_code == 400 and refusal in _text(page.content.decode())
    assert ScheduledChange.objects.filter(subscription=sub, status="pending").count() == 1


def test_an_ordinary_scheduled_change_is_still_kept_with_the_button():
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    make_plan("basic", 3500, name="Basic")
    customer = make_customer(email="ana@example.com", locale="en")
    sub = subscribe(customer, "pro")
    changes.change_subscription(sub.pk, plan_code="basic", at_period_end=True)
    client = signed_in(customer)
    assert "Keep my current plan" in client.get("/portal/").content.decode()
    assert _keep(client, sub).status_code == 302
    assert not ScheduledChange.objects.filter(subscription=sub, status="pending").exists()


@pytest.mark.parametrize("locale, note, terms", [
    ("en", "On March 1, 2027 the price of your plan changes; the amount above is at the new price.",
     "Your subscription renews automatically on March 1, 2027: you are charged R$50.00 every month until then, "
     "and R$60.00 every month from March 1, 2027 until you cancel."),
    ("pt-BR", "Em 1 de março de 2027 o preço do seu plano muda; o valor acima já está no preço novo.",
     "Sua assinatura é renovada automaticamente em 1 de março de 2027: você é cobrado R$ 50,00 a cada mês até lá, "
     "e R$ 60,00 a cada mês a partir de 1 de março de 2027 até cancelar."),
])
def test_the_home_says_the_price_changes_and_when(locale, note, terms):
    customer, _sub = _armed("accept", locale)
    page = _text(signed_in(customer).get("/portal/").content.decode())
    assert note in page and terms in page
    assert "Pro × 1" not in page and "Keep my current plan" not in page and "Manter o meu plano atual" not in page

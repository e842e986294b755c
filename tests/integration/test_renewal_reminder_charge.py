"""The renewal reminder quotes what the renewal will charge (``subscriptions.due_work.next_renewals``,
drafted as the billing run drafts it), not the plan's price: the shipping, a skipped delivery
(no charge), a price migration's new price and a scheduled switch of plan. Monthly reminders go
out 3 days before (29 January for a 1 February renewal).

Catalog (BRL, monthly): Beans 49.90, ships goods at 15.00 a delivery, never free (64.90 a
month); App 99.00 (a service).
"""

from __future__ import annotations

import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.services import change_plan_price, set_shipping
from assina.invoices.models import Invoice
from assina.notifications.models import Message
from assina.subscriptions import changes, deliveries
from assina.time import now

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    start_clock(utc(2027, 1, 1))
    make_plan("beans", 4990, name="Beans")
    set_shipping("beans", ships_goods=True, fee=1500, free_from=None, max_skips_per_year=2, at=now())
    make_plan("app", 9900, name="App")


def _reminder(sub) -> str:
    advance(utc(2027, 1, 29, 12))
    message = Message.objects.get(template="renewal_upcoming", customer_id=sub.customer_id)
    return message.text.replace("\xa0", " ")


def _billed(sub) -> int:
    advance(utc(2027, 2, 1))
    return Invoice.objects.get(subscription=sub, period_start=utc(2027, 2, 1)).amount_due


def test_a_normal_month_quotes_the_plan_with_its_shipping(catalog):
    sub = subscribe(make_customer(email="ana@example.com", locale="en"), "beans")
    text = _reminder(sub)
    assert "on February 1, 2027, for R$64.90." in text
    assert "We will charge R$64.90 to your visa card ending in 4242." in text
    assert _billed(sub) == 6490


@pytest.mark.parametrize("locale, says, never", [
    ("en", ["for R$0.00.", "You skipped this delivery: nothing ships this period.",
            "No charge will be made to your card."], ["We will charge", "49.90"]),
    ("pt-BR", ["por R$ 0,00.", "Você pulou esta entrega: nada será enviado neste período.",
               "Nenhuma cobrança será feita no seu cartão."], ["Cobraremos", "49,90"]),
])
def test_a_skipped_delivery_says_no_charge_will_be_made(catalog, locale, says, never):
    sub = subscribe(make_customer(email="ana@example.com", locale=locale), "beans")
    deliveries.skip_next_delivery(sub.pk)
    text = _reminder(sub)
    for sentence in says:
        assert sentence in text
    for words in never:
        assert words not in text
    assert _billed(sub) == 0


def test_a_price_migrations_new_price_is_quoted_at_the_renewal_it_applies_to(catalog):
    sub = subscribe(make_customer(email="ana@example.com", locale="en"), "beans")
    version = change_plan_price("beans", amount=5990, at=now())
    # What a price migration arms at the member's period end (``repricing.services``).
    changes.schedule_version_change(sub.pk, version_id=version.pk)
    text = _reminder(sub)
    assert "for R$74.90." in text and "We will charge R$74.90 to your" in text  # 59.90 + 15.00
    assert "From then on your plan" not in text  # the same plan, at its new price
    assert _billed(sub) == 7490


@pytest.mark.parametrize("locale, says", [
    ("en", ["for R$99.00.", "From then on your plan is App.", "We will charge R$99.00 to your"]),
    ("pt-BR", ["por R$ 99,00.", "A partir de então, seu plano será o App.", "Cobraremos R$ 99,00 no seu cartão"]),
])
def test_a_skip_then_a_switch_to_a_service_plan_quotes_the_service_plan(catalog, locale, says):
    sub = subscribe(make_customer(email="ana@example.com", locale=locale), "beans")
    deliveries.skip_next_delivery(sub.pk)
    changes.change_subscription(sub.pk, plan_code="app", at_period_end=True)
    text = _reminder(sub)
    for sentence in says:
        assert sentence in text
    assert "skipped" not in text and "pulou" not in text
    assert _billed(sub) == 9900


def test_the_credit_balance_is_taken_before_the_card(catalog):
    from assina.customers.models import Customer

    ana = make_customer(email="ana@example.com", locale="en")
    sub = subscribe(ana, "beans")
    Customer.objects.filter(pk=ana.pk).update(credit_balance=2000)
    text = _reminder(sub)
    assert "for R$64.90." in text
    assert "R$20.00 comes from your account credit." in text
    assert "We will charge R$44.90 to your" in text
    assert _billed(sub) == 4490


@pytest.mark.parametrize("default, says, billed", [
    ("accept", ["for R$60.00.", "We will charge R$60.00 to your"], 6000),
    ("switch", ["for R$35.00.", "From then on your plan is Basic.", "We will charge R$35.00 to your"], 3500),
])
def test_a_price_migration_quotes_the_new_price_or_plan_at_its_change_date(default, says, billed):
    """A real migration (``assina.repricing``): Pro 50.00 → 60.00 from March 1, or the cheaper
    Basic 35.00; the customer's choice (here the owner's default) is armed at the February
    renewal, so the reminder of February 26 quotes the March invoice."""
    from assina.repricing import services

    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    make_plan("basic", 3500, name="Basic")
    sub = subscribe(make_customer(email="ana@example.com", locale="en"), "pro")
    advance(utc(2027, 1, 20))
    services.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 3, 1),
                              switch_plan_code="basic", default_choice=default)
    advance(utc(2027, 2, 26, 12))
    text = Message.objects.get(template="renewal_upcoming", customer_id=sub.customer_id,
                               key__contains="2027-03-01").text
    for sentence in says:
        assert sentence in text
    advance(utc(2027, 3, 1))
    assert Invoice.objects.get(subscription=sub, period_start=utc(2027, 3, 1)).amount_due == billed

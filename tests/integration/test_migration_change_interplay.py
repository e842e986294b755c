"""A price migration's scheduled change against the customer's own changes (docs/repricing.md).

Pro R$50.00 → R$60.00 from March 1, 2027 (the cheaper Basic R$35.00 offered), armed at the
February renewal. Whatever the customer changes afterwards (a quantity at period end, a switch
away and back, a quantity now, "Keep my current plan"), the March renewal bills Pro at the new
price, and a quantity changed now is not reset by the migration's change.
"""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from django.utils import translation
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import signed_in

from assina.invoices.models import Invoice
from assina.notifications.models import Message
from assina.portal import manage
from assina.repricing import services
from assina.subscriptions import changes
from assina.subscriptions.models import ScheduledChange, SubscriptionItem

pytestmark = pytest.mark.django_db

MARCH = utc(2027, 3, 1)


def _armed(default: str = "accept", quantity: int = 2, locale: str = "en"):
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro", pricing_model="per_unit")
    make_plan("basic", 3500, name="Basic", pricing_model="per_unit")
    customer = make_customer(email="ana@example.com", locale=locale)
    sub = subscribe(customer, "pro", quantity=quantity)
    advance(utc(2027, 1, 20))
    services.create_migration(plan_code="pro", new_amount=6000, effective_at=MARCH,
                              switch_plan_code="basic", default_choice=default)
    advance(utc(2027, 2, 10))
    assert ScheduledChange.objects.filter(subscription=sub, status="pending").count() == 1
    return customer, sub


def _march(sub) -> Invoice:
    advance(MARCH)
    return Invoice.objects.get(subscription=sub, period_start=MARCH)


def _quantity(sub) -> int:
    return SubscriptionItem.objects.get(subscription=sub).quantity


@pytest.mark.parametrize("through", ["portal", "service"])
def test_a_quantity_decrease_at_period_end_renews_at_the_new_price(through):
    customer, sub = _armed()
    if through == "portal":
        assert manage.change_plan(customer, sub.pk, "pro", "1").timing == "period_end"
    else:
        changes.change_subscription(sub.pk, quantity=1, at_period_end=True)
    assert _march(sub).total == 6000  # Pro × 1 at R$60.00, not R$50.00
    assert _quantity(sub) == 1


def test_switching_away_and_back_to_the_plan_takes_the_new_price():
    _customer, sub = _armed()
    changes.change_subscription(sub.pk, plan_code="basic", at_period_end=True)
    changes.change_subscription(sub.pk, plan_code="pro", quantity=1, at_period_end=True)
    assert _march(sub).total == 6000


def test_switching_back_at_the_same_quantity_brings_back_the_migrations_change():
    _customer, sub = _armed()
    changes.change_subscription(sub.pk, plan_code="basic", at_period_end=True)
    changes.change_subscription(sub.pk, plan_code="pro", quantity=2, at_period_end=True)
    assert _march(sub).total == 12000


def test_leaving_the_plan_at_period_end_takes_the_other_plans_price():
    _customer, sub = _armed()
    changes.change_subscription(sub.pk, plan_code="basic", quantity=1, at_period_end=True)
    assert _march(sub).total == 3500


def test_the_customers_switch_from_the_migrations_cheaper_plan_back_takes_the_new_price():
    _customer, sub = _armed("switch")
    changes.change_subscription(sub.pk, plan_code="pro", quantity=1, at_period_end=True)
    assert _march(sub).total == 6000


@pytest.mark.parametrize("default, total", [("accept", 18000), ("switch", 10500)])
def test_an_immediate_quantity_change_is_not_undone_by_the_migrations_change(default, total):
    _customer, sub = _armed(default, quantity=1)
    changes.change_subscription(sub.pk, quantity=3)
    line = _march(sub).lines.get(kind="subscription")  # the proration carried is on other lines
    assert (line.quantity, line.amount) == (3, total)
    assert _quantity(sub) == 3


def test_a_quantity_changed_before_the_fix_is_not_reset_either():
    _customer, sub = _armed(quantity=1)
    SubscriptionItem.objects.filter(subscription=sub).update(quantity=3)  # the pinned change still says 1
    assert _march(sub).total == 18000 and _quantity(sub) == 3


def test_a_customer_who_withdraws_their_own_change_keeps_the_migrations_change():
    _customer, sub = _armed()
    changes.change_subscription(sub.pk, quantity=1, at_period_end=True)
    changes.withdraw_scheduled_changes(sub.pk, by_owner=False, reason="customer")
    assert _march(sub).total == 12000  # Pro × 2 at the new price


@pytest.mark.parametrize("locale, refusal", [("en", "cannot be undone here"), ("pt-br", "não pode ser desfeita aqui")])
def test_the_service_refuses_a_customer_the_migrations_cheaper_plan_in_their_language(locale, refusal):
    _customer, sub = _armed("switch")
    with translation.override(locale), pytest.raises(changes.OwnersChange, match=refusal):
        changes.withdraw_scheduled_changes(sub.pk, by_owner=False, reason="customer")
    assert ScheduledChange.objects.filter(subscription=sub, status="pending").count() == 1
    assert _march(sub).total == 7000  # Basic × 2


@pytest.mark.parametrize("locale, button", [("en", "Keep my current plan"), ("pt-BR", "Manter o meu plano atual")])
def test_the_home_has_no_keep_button_for_the_migrations_cheaper_plan(locale, button):
    customer, _sub = _armed("switch", locale=locale)
    page = re.sub(r"\s+", " ", signed_in(customer).get("/portal/").content.decode())
    assert "Basic × 2" in page and button not in page


def test_changes_armed_before_the_mark_are_marked_by_the_data_migration():
    _customer, sub = _armed("switch")
    change = ScheduledChange.objects.get(subscription=sub, status="pending")
    change.change = {key: value for key, value in change.change.items() if key != "source"}
    change.save(update_fields=["change"])
    importlib.import_module("assina.repricing.migrations.0002_mark_armed_changes").mark_armed_changes(apps, None)
    assert ScheduledChange.objects.get(pk=change.pk).change["source"] == "price_migration"
    with pytest.raises(changes.OwnersChange):
        changes.withdraw_scheduled_changes(sub.pk, by_owner=False, reason="customer")


def test_the_portals_preview_of_a_quantity_at_period_end_says_the_new_price():
    customer, sub = _armed()
    change = manage.preview_plan_change(customer, sub.pk, "pro", "1")
    assert (change.timing, change.period_amount) == ("period_end", 6000)
    page = re.sub(r"\s+", " ", signed_in(customer).get(f"/portal/subscriptions/{sub.pk}/change/?plan=pro&quantity=1")
                  .content.decode().replace("\xa0", " "))
    assert "from then on the plan costs R$60.00 every month" in page


@pytest.mark.parametrize("default", ["accept", "switch"])
def test_a_switch_now_to_another_plan_is_not_undone_by_the_migrations_change(default):
    """The customer moves from Pro to another plan now: the migration's change was about Pro, so
    the March renewal bills the plan they moved to (at its own price), not Pro back again."""
    start_clock(utc(2027, 1, 1))
    make_plan("team", 9000, name="Team", pricing_model="per_unit")
    _customer, sub = _armed(default=default)
    changes.change_subscription(sub.pk, plan_code="team", quantity=1)
    assert not ScheduledChange.objects.filter(subscription=sub, status="pending").exists()
    line = _march(sub).lines.get(kind="subscription")  # the proration carried is on other lines
    assert (line.description.split(" ×")[0], line.amount) == ("Team", 9000)
    assert SubscriptionItem.objects.get(subscription=sub).plan_version.plan.code == "team"


def test_a_switch_now_away_and_back_renews_at_the_new_price():
    _customer, sub = _armed(quantity=1)
    changes.change_subscription(sub.pk, plan_code="basic", quantity=1)
    changes.change_subscription(sub.pk, plan_code="pro", quantity=1)
    assert _march(sub).lines.get(kind="subscription").amount == 6000


def test_the_renewal_previews_read_a_stale_quantity_as_the_renewal_does():
    """A change armed before quantities were kept in step still says 1: the reminder's and the
    portal's previews bill the subscription's 3, as the renewal will."""
    from assina.subscriptions.due_work import next_renewals

    customer, sub = _armed(quantity=1)
    SubscriptionItem.objects.filter(subscription=sub).update(quantity=3)  # the pinned change still says 1
    assert next_renewals([sub.pk])[sub.pk].total == 18000
    page = signed_in(customer).get("/portal/").content.decode().replace("\xa0", " ")
    assert "R$180.00 on March 1, 2027" in page
    assert _march(sub).total == 18000


def _notified(default: str = "accept", quantity: int = 2):
    """Notified on January 20; its change not armed yet (that happens at the February renewal)."""
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro", pricing_model="per_unit")
    make_plan("basic", 3500, name="Basic", pricing_model="per_unit")
    make_plan("team", 9000, name="Team", pricing_model="per_unit")
    sub = subscribe(make_customer(email="ana@example.com"), "pro", quantity=quantity)
    advance(utc(2027, 1, 20))
    services.create_migration(plan_code="pro", new_amount=6000, effective_at=MARCH,
                              switch_plan_code="basic", default_choice=default)
    return sub


@pytest.mark.parametrize("default", ["accept", "switch"])
def test_a_customer_who_left_the_plan_before_the_change_was_armed_is_not_moved_back(default):
    sub = _notified(default, quantity=1)
    changes.change_subscription(sub.pk, plan_code="team", quantity=1)  # January 25, before the arming
    advance(utc(2027, 2, 10))
    assert not ScheduledChange.objects.filter(subscription=sub, status="pending").exists()
    line = _march(sub).lines.get(kind="subscription")
    assert (line.description.split(" ×")[0], line.amount) == ("Team", 9000)
    assert not Message.objects.filter(template="price_migration_reminder").exists()  # nothing left to choose


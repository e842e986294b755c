"""The billing services refuse bad input without changing anything, and write every change
and the events that describe it in one transaction."""

from datetime import datetime, timedelta

import pytest
from factories import (
    advance,
    counts,
    invoices_of,
    make_addon,
    make_customer,
    make_plan,
    real_transactions,
    reload,
    start_clock,
    subscribe,
    utc,
)

from assina.catalog import services as catalog
from assina.catalog.models import Coupon, PlanVersion
from assina.time import now
from assina.core.errors import DomainError
from assina.events.models import Event
from assina.events.services import record
from assina.invoices.models import NumberSequence, PendingItem
from assina.subscriptions import changes, services
from assina.subscriptions.models import Subscription, SubscriptionItem

NOW = utc(2027, 3, 10, 12)


@pytest.fixture
def shop():
    """A small sandbox: plans, an add-on, coupons in every state, an active and a canceled subscription."""
    start_clock(NOW)
    make_plan("basic", 4990)
    make_plan("pro", 14990)
    make_plan("dollar", 1000, currency="USD")
    make_plan("yearly-addon", 1000, kind="addon", interval="year")
    make_plan("pro-annual", 149900, interval="year")
    make_addon("storage", 1500)
    catalog.create_coupon(code="pro-only", duration="forever", percent_off="10", plans=["pro"], at=NOW)
    catalog.create_coupon(code="old", duration="once", percent_off="10", redeem_by=utc(2027, 3, 1), at=NOW)
    catalog.create_coupon(code="single", duration="once", percent_off="10", max_redemptions=1, at=NOW)
    catalog.create_coupon(code="usd5", duration="once", amount_off=500, currency="USD", at=NOW)
    customer = make_customer()
    active = subscribe(customer, "basic", coupon_code="single")
    canceled = subscribe(customer, "basic")
    services.cancel_now(canceled.pk)
    return {"customer": customer, "active": reload(active), "canceled": reload(canceled)}


def _bad_inputs(shop):
    customer, active, canceled = shop["customer"], shop["active"], shop["canceled"]
    usd_customer = make_customer(currency="USD")
    with_addon = subscribe(customer, "basic", addons=[("storage", 1)])
    return {
        "switch to another interval while having add-ons": (
            lambda: changes.change_subscription(with_addon.pk, plan_code="pro-annual"),
            "plan 'pro-annual' bills in another interval than this subscription's add-ons; "
            "cancel and subscribe again with add-ons of that interval"),
        "unknown plan": (lambda: subscribe(customer, "nope"), "unknown plan 'nope'"),
        "currency mismatch": (
            lambda: subscribe(customer, "dollar"),
            f"currency mismatch: plan dollar bills in USD, customer {customer.email} pays in BRL"),
        "currency mismatch (other way)": (
            lambda: subscribe(usd_customer, "basic"),
            f"currency mismatch: plan basic bills in BRL, customer {usd_customer.email} pays in USD"),
        "zero quantity": (lambda: subscribe(customer, "basic", quantity=0), "quantity must be a whole number of at least 1"),
        "negative quantity": (lambda: subscribe(customer, "basic", quantity=-3), "quantity must be a whole number of at least 1"),
        "zero add-on quantity": (lambda: subscribe(customer, "basic", addons=[("storage", 0)]), "an add-on quantity must be at least 1"),
        "add-on of another interval": (
            lambda: subscribe(customer, "basic", addons=[("yearly-addon", 1)]),
            "add-on 'yearly-addon' must bill in the same currency and interval as plan 'basic'"),
        "subscribing to an add-on": (
            lambda: subscribe(customer, "storage"), "'storage' is not an active plan that customers can subscribe to"),
        "start in the future": (
            lambda: subscribe(customer, "basic", start=NOW + timedelta(seconds=1)),
            "2027-03-10T12:00:01+00:00 is in the future (the clock says 2027-03-10T12:00:00+00:00); advance the clock first"),
        "naive start": (
            lambda: subscribe(customer, "basic", start=datetime(2027, 3, 1)),
            "times must include a time zone (for example 2027-01-31T10:00:00Z)"),
        "coupon for another plan": (
            lambda: subscribe(customer, "basic", coupon_code="pro-only"), "coupon pro-only is not valid for plan basic"),
        "expired coupon": (lambda: subscribe(customer, "basic", coupon_code="old"), "coupon old expired on 2027-03-01"),
        "coupon at its maximum": (
            lambda: subscribe(customer, "basic", coupon_code="single"),
            "coupon single has reached its maximum of 1 redemptions"),
        "unknown coupon": (
            lambda: subscribe(customer, "basic", coupon_code="nope"), "unknown coupon or promotion code 'nope'"),
        "amount-off coupon in another currency": (
            lambda: subscribe(customer, "basic", coupon_code="usd5"), "coupon usd5 is in USD but the amount is in BRL"),
        "cancel a canceled subscription now": (
            lambda: services.cancel_now(canceled.pk), f"subscription sub_{canceled.pk} is already canceled"),
        "cancel a canceled subscription at period end": (
            lambda: services.cancel_at_period_end(canceled.pk), f"subscription sub_{canceled.pk} is already canceled"),
        "reactivate a canceled subscription": (
            lambda: services.reactivate(canceled.pk),
            f"subscription sub_{canceled.pk} has ended and cannot be reactivated; create a new subscription"),
        "reactivate a subscription not set to cancel": (
            lambda: services.reactivate(active.pk), f"subscription sub_{active.pk} is not scheduled to cancel"),
        "pause a canceled subscription": (lambda: services.pause(canceled.pk), "a canceled subscription cannot be paused"),
        "pause with a resume date in the past": (
            lambda: services.pause(active.pk, resumes_at=NOW), "the resume date must be in the future"),
        "resume an active subscription": (
            lambda: services.resume(active.pk), f"subscription sub_{active.pk} is active, not paused"),
        "unknown subscription": (lambda: services.cancel_now(999999), "unknown subscription 999999"),
        "change to the same plan": (
            lambda: changes.change_subscription(active.pk, plan_code="basic"), "nothing to change: same plan and quantity"),
        "change to the same quantity": (
            lambda: changes.change_subscription(active.pk, quantity=1), "nothing to change: same plan and quantity"),
        "change to zero seats": (
            lambda: changes.change_subscription(active.pk, quantity=0), "quantity must be a whole number of at least 1"),
        "change to an unknown plan": (lambda: changes.change_subscription(active.pk, plan_code="nope"), "unknown plan 'nope'"),
        "change to a plan in another currency": (
            lambda: changes.change_subscription(active.pk, plan_code="dollar"),
            "currency mismatch: the subscription bills in BRL, plan dollar in USD"),
        "change to an add-on": (
            lambda: changes.change_subscription(active.pk, plan_code="storage"), "'storage' is not an active plan"),
        "change a canceled subscription": (
            lambda: changes.change_subscription(canceled.pk, plan_code="pro"), "a canceled subscription cannot be changed"),
        "new price for an unknown plan": (
            lambda: catalog.change_plan_price("nope", amount=100, at=NOW), "unknown plan 'nope'"),
    }


CASES = [
    "unknown plan", "currency mismatch", "currency mismatch (other way)", "zero quantity", "negative quantity",
    "zero add-on quantity", "add-on of another interval", "subscribing to an add-on", "start in the future",
    "naive start", "coupon for another plan", "expired coupon", "coupon at its maximum", "unknown coupon",
    "amount-off coupon in another currency", "cancel a canceled subscription now",
    "cancel a canceled subscription at period end", "reactivate a canceled subscription",
    "reactivate a subscription not set to cancel", "pause a canceled subscription",
    "pause with a resume date in the past", "resume an active subscription", "unknown subscription",
    "change to the same plan", "change to the same quantity", "change to zero seats", "change to an unknown plan",
    "change to a plan in another currency", "change to an add-on", "change a canceled subscription",
    "new price for an unknown plan", "switch to another interval while having add-ons",
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(shop, case):
    action, message = _bad_inputs(shop)[case]
    before = counts()
    subs_before = list(Subscription.objects.order_by("pk").values())
    items_before = list(SubscriptionItem.objects.order_by("pk").values())
    coupons_before = list(Coupon.objects.order_by("pk").values_list("code", "times_redeemed"))
    versions_before = PlanVersion.objects.count()

    with pytest.raises(DomainError) as refused:
        action()

    assert refused.value.message == message
    assert counts() == before
    assert list(Subscription.objects.order_by("pk").values()) == subs_before
    assert list(SubscriptionItem.objects.order_by("pk").values()) == items_before
    assert list(Coupon.objects.order_by("pk").values_list("code", "times_redeemed")) == coupons_before
    assert PlanVersion.objects.count() == versions_before


def test_every_bad_input_case_is_listed(db, shop):
    assert sorted(CASES) == sorted(_bad_inputs(shop))


# --- One transaction for the change and its events -------------------------------------------


class Boom(Exception):
    pass


def _explode_after(real):
    """A stand-in for ``real`` that does its work and then fails, like a crash right after it."""
    def wrapper(*args, **kwargs):
        real(*args, **kwargs)
        raise Boom("crash after the change was written")
    return wrapper


def _explode(*args, **kwargs):
    raise Boom("crash in the middle of the use case")


@real_transactions
def test_record_refuses_to_write_an_event_outside_a_transaction(shop):
    with pytest.raises(RuntimeError, match="events must be recorded inside the transaction of the change"):
        record("subscription.updated", shop["active"], NOW, {})


@real_transactions
def test_failed_subscribe_leaves_no_subscription_no_event_and_gives_the_coupon_back(shop, monkeypatch):
    catalog.create_coupon(code="spring", duration="once", percent_off="10", max_redemptions=5, at=NOW)
    before = counts()
    sequence = list(NumberSequence.objects.values_list("key", "next_value"))
    monkeypatch.setattr(services, "bill_period_now", _explode_after(services.bill_period_now))

    with pytest.raises(Boom):
        subscribe(shop["customer"], "pro", coupon_code="spring")

    assert counts() == before
    assert Coupon.objects.get(code="spring").times_redeemed == 0
    assert list(NumberSequence.objects.values_list("key", "next_value")) == sequence  # the number is given back
    assert not Event.objects.filter(type__in=["subscription.created", "subscription.discount_applied"], data__plan="pro").exists()


@real_transactions
def test_failed_cancel_at_period_end_rolls_back_the_flag_with_its_event(shop, monkeypatch):
    monkeypatch.setattr(services, "record", _explode_after(services.record))
    before = counts()
    with pytest.raises(Boom):
        services.cancel_at_period_end(shop["active"].pk)
    assert counts() == before
    sub = reload(shop["active"])
    assert (sub.cancel_at_period_end, sub.canceled_at) == (False, None)


@real_transactions
def test_failed_plan_change_rolls_back_the_item_the_proration_and_the_event(shop, monkeypatch):
    advance(NOW + timedelta(days=5))
    monkeypatch.setattr(changes, "record", _explode_after(changes.record))
    before = counts()
    with pytest.raises(Boom):
        changes.change_subscription(shop["active"].pk, plan_code="pro")
    assert counts() == before
    assert not PendingItem.objects.exists()
    sub = reload(shop["active"])
    assert sub.plan.code == "basic"
    assert SubscriptionItem.objects.get(subscription=sub).plan_version.plan.code == "basic"


@real_transactions
def test_pause_and_its_credit_note_are_one_change(shop, monkeypatch):
    advance(NOW + timedelta(days=5))
    monkeypatch.setattr(services, "create_credit_note", _explode)
    before = counts()
    with pytest.raises(Boom):
        services.pause(shop["active"].pk)
    # The pause must not survive without the credit for the unused time (or the customer loses money).
    assert counts() == before
    sub = reload(shop["active"])
    assert (sub.status, sub.paused_at) == ("active", None)
    assert reload(shop["customer"]).credit_balance == 0


@real_transactions
def test_cancel_now_with_proration_and_its_credit_note_are_one_change(shop, monkeypatch):
    advance(NOW + timedelta(days=5))
    monkeypatch.setattr(services, "create_credit_note", _explode)
    before = counts()
    with pytest.raises(Boom):
        services.cancel_now(shop["active"].pk, prorate=True)
    assert counts() == before
    assert reload(shop["active"]).status == "active"


@real_transactions
def test_failed_price_change_leaves_no_new_version_and_no_event(shop, monkeypatch):
    monkeypatch.setattr(catalog, "record", _explode_after(catalog.record))
    before = counts()
    with pytest.raises(Boom):
        catalog.change_plan_price("basic", amount=5990, at=NOW)
    assert counts() == before
    assert list(PlanVersion.objects.filter(plan__code="basic").values_list("version", flat=True)) == [1]


@real_transactions
def test_a_renewal_whose_events_fail_rolls_back_its_invoice(shop, monkeypatch):
    from assina.subscriptions import due_work

    # The renewal issues its invoice (and the invoice's events), then the batch fails.
    monkeypatch.setattr(due_work, "issue_invoices", _explode_after(due_work.issue_invoices))
    sub = reload(shop["active"])
    before = counts()
    sequence = list(NumberSequence.objects.values_list("key", "next_value"))
    with pytest.raises(Boom):
        advance(sub.current_period_end)
    assert counts() == before
    assert list(NumberSequence.objects.values_list("key", "next_value")) == sequence
    after = reload(sub)
    assert (after.current_period_end, after.next_action_at) == (sub.current_period_end, sub.next_action_at)
    assert len(invoices_of(sub)) == 1
    assert now() == NOW  # the clock did not move past work it could not do

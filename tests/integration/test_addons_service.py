"""Adding and removing add-ons mid-period (``subscriptions.addons``): prorated as a plan change
is, the proration carried to the next invoice or billed at once; refusals change nothing; the
owner's API and CLI.

Amounts are computed by hand. The subscription (Pro, 60.00 a month) starts on 1 January 2027;
January has 31 days and at 16 January 00:00 UTC 16 of them are left: a proration is
amount × 16 / 31, rounded half up, credit and charge apart.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import translation
from factories import advance, last_event_id, make_addon, make_customer, make_plan, reload, start_clock, subscribe, utc

from assina.api.keys import create_key
from assina.cli import main
from assina.customers.models import Customer
from assina.events.models import Event
from assina.invoices.models import Invoice, PendingItem
from assina.subscriptions import addons, services
from assina.subscriptions.models import Subscription, SubscriptionItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def sub():
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 6000, name="Pro", pricing_model="per_unit")
    make_addon("seats", 1000, name="Extra seats", pricing_model="per_unit")
    make_addon("support", 500, name="Support")
    make_addon("seats-usd", 1000, currency="USD")
    make_addon("seats-year", 10000, interval="year")
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    subscription = subscribe(ana, "pro")
    advance(utc(2027, 1, 16))  # 16 of January's 31 days are left
    return subscription


def _state(sub: Subscription) -> tuple:
    """Everything an add-on change writes."""
    return (sorted(SubscriptionItem.objects.filter(subscription=sub).values_list("plan_version__plan__code", "quantity")),
            sorted(PendingItem.objects.filter(subscription=sub).values_list("amount", flat=True)),
            Invoice.objects.filter(subscription=sub).count(), last_event_id(),
            Customer.objects.get(pk=sub.customer_id).credit_balance)


def test_adding_carries_the_proration_to_the_next_invoice_which_bills_it(sub):
    since = last_event_id()
    preview = addons.preview_addon(sub.pk, "seats", 2)
    assert [l.amount for l in preview.preview.lines] == [-3097, 4129] and last_event_id() == since
    assert not SubscriptionItem.objects.filter(subscription=sub, plan_version__plan__code="seats").exists()

    change = addons.add_addon(sub.pk, "seats", 2)
    # 6000 → 8000 a month: credit 6000 × 16/31 = 3096.77 → -3097, charge 8000 × 16/31 = 4129.03 → 4129.
    assert change.preview.net == 1032
    assert sorted(PendingItem.objects.filter(subscription=sub).values_list("amount", flat=True)) == [-3097, 4129]
    lines = dict(PendingItem.objects.filter(subscription=sub).values_list("amount", "description"))
    assert lines[-3097] == "Unused time on Pro × 1" and lines[4129] == "Remaining time on Pro × 1 (with add-ons)"
    event = Event.objects.filter(id__gt=since).get()
    assert event.type == "subscription.updated"
    assert {k: event.data.get(k) for k in ("addon_added", "addon_quantity", "proration", "invoiced_now")} == {
        "addon_added": "seats", "addon_quantity": 2, "proration": 1032, "invoiced_now": False}
    # The dashboard's history reads "plan" and "quantity" of subscription.updated as the base plan's.
    assert "quantity" not in event.data and "plan" not in event.data
    assert Invoice.objects.filter(subscription=sub).count() == 1

    advance(utc(2027, 2, 1))
    renewal = Invoice.objects.filter(subscription=sub).order_by("pk").last()
    assert renewal.period_start == utc(2027, 2, 1) and renewal.total == 8000 + 1032


def test_removing_credits_the_unused_time_and_a_round_trip_nets_to_zero(sub):
    addons.add_addon(sub.pk, "seats", 2)
    since = last_event_id()
    change = addons.remove_addon(sub.pk, "seats")
    # 8000 → 6000: credit -4129, charge 3097.
    assert change.preview.net == -1032 and change.quantity == 2
    assert sum(PendingItem.objects.filter(subscription=sub).values_list("amount", flat=True)) == 0
    assert not SubscriptionItem.objects.filter(subscription=sub, plan_version__plan__code="seats").exists()
    event = Event.objects.filter(id__gt=since).get()
    assert (event.type, event.data["addon_removed"], event.data["proration"]) == ("subscription.updated", "seats", -1032)


def test_invoice_now_bills_the_proration_on_its_own_invoice(sub):
    invoices = Invoice.objects.filter(subscription=sub).count()
    change = addons.add_addon(sub.pk, "support", invoice_now=True)
    # 6000 → 6500: credit -3097, charge 6500 × 16/31 = 3354.84 → 3355; net 258.
    assert change.preview.net == 258
    invoice = Invoice.objects.filter(subscription=sub).order_by("pk").last()
    assert Invoice.objects.filter(subscription=sub).count() == invoices + 1
    assert invoice.total == 258 and invoice.billing_reason == Invoice.Reason.SUBSCRIPTION_UPDATE
    assert not PendingItem.objects.filter(subscription=sub, invoice__isnull=True).exists()
    assert Event.objects.filter(type="subscription.updated").last().data["invoiced_now"] is True


def test_in_a_trial_nothing_is_billed_until_it_ends():
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 6000, name="Pro")
    make_addon("seats", 1000)
    trial = subscribe(make_customer(email="t@example.com"), "pro", trial_days=14)
    change = addons.add_addon(trial.pk, "seats")
    assert change.preview.net == 0 and not PendingItem.objects.exists()
    assert Event.objects.filter(type="subscription.updated").last().data["proration"] == 0
    advance(utc(2027, 1, 15))
    first = Invoice.objects.get(subscription=trial)
    assert first.total == 7000


@pytest.mark.parametrize(("code", "quantity", "words"), [
    ("seats-usd", 1, "currency mismatch"),
    ("seats-year", 1, "another interval"),
    ("pro", 1, "is a plan, not an add-on"),
    ("nothing", 1, "unknown add-on"),
    ("seats", 0, "from 1 to"),
])
def test_wrong_add_ons_are_refused_and_nothing_changes(sub, code, quantity, words):
    before = _state(sub)
    with pytest.raises(services.SubscriptionError, match=words):
        addons.add_addon(sub.pk, code, quantity)
    assert _state(sub) == before


def test_twice_or_not_held_is_refused_and_nothing_changes(sub):
    addons.add_addon(sub.pk, "seats")
    before = _state(sub)
    with pytest.raises(services.SubscriptionError, match="already on this subscription"):
        addons.add_addon(sub.pk, "seats")
    with pytest.raises(services.SubscriptionError, match="not on this subscription"):
        addons.remove_addon(sub.pk, "support")
    assert _state(sub) == before


@pytest.mark.parametrize("how", ["paused", "canceled", "held"])
def test_paused_canceled_and_held_subscriptions_are_refused(sub, how):
    if how == "paused":
        services.pause(sub.pk)
    elif how == "canceled":
        services.cancel_now(sub.pk)
    else:
        Subscription.objects.filter(pk=sub.pk).update(catch_up_held_at=utc(2027, 1, 16))
    before = _state(sub)
    with pytest.raises(services.SubscriptionError, match="held for catch-up" if how == "held" else "cannot be changed"):
        addons.add_addon(sub.pk, "seats")
    assert _state(sub) == before


def test_refusals_are_in_the_customers_language(sub):
    with translation.override("pt-BR"), pytest.raises(services.SubscriptionError) as refused:
        addons.add_addon(sub.pk, "seats-usd")
    assert "moeda" in str(refused.value).lower()


def test_the_api_adds_and_removes(sub):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {create_key(scope='write').secret}")
    url = f"/api/v1/subscriptions/sub_{sub.pk}/addons"
    added = client.post(url, {"plan": "seats", "quantity": 2}, content_type="application/json")
    assert added.status_code == 200, added.content
    assert {"plan": "seats", "quantity": 2} in [{k: i[k] for k in ("plan", "quantity")} for i in added.json()["items"]]
    assert sorted(PendingItem.objects.values_list("amount", flat=True)) == [-3097, 4129]

    before = _state(sub)
    twice = client.post(url, {"plan": "seats"}, content_type="application/json")
    assert twice.status_code == 422 and twice["Content-Type"].startswith("application/problem+json")
    assert "already on this subscription" in twice.json()["detail"]
    assert _state(sub) == before

    removed = client.delete(f"{url}/seats")
    assert removed.status_code == 200 and [i["plan"] for i in removed.json()["items"]] == ["pro"]
    assert sum(PendingItem.objects.values_list("amount", flat=True)) == 0
    assert client.delete(f"{url}/seats").status_code == 422
    assert client.delete(f"/api/v1/subscriptions/sub_999999/addons/seats").status_code == 404


def test_the_cli_adds_and_removes(sub, capsys):
    assert main(["subscription", "addon", "add", f"sub_{sub.pk}", "--plan", "seats", "--quantity", "2", "--json"]) in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["proration"] == 1032 and {"plan": "seats", "version": 1, "quantity": 2} in out["items"]
    assert main(["subscription", "addon", "remove", f"sub_{sub.pk}", "--plan", "seats", "--json"]) in (0, None)
    assert json.loads(capsys.readouterr().out)["proration"] == -1032
    before = _state(sub)
    assert main(["subscription", "addon", "remove", f"sub_{sub.pk}", "--plan", "seats", "--json"]) == 2
    assert "not on this subscription" in json.loads(capsys.readouterr().err)["error"]
    assert _state(sub) == before
    assert reload(sub).status == "active"

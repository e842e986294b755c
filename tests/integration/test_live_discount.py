"""A discount put on a live subscription by the owner (issue 16): from the next invoice, for N
periods or forever, replacing the one it had; removable; refused cleanly for subscriptions that
will not be invoiced again and for bad input; through the service, the API, the CLI and the admin."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from api_support import api, problem  # noqa: F401 - fixture
from django.urls import reverse
from django.utils import translation
from factories import FAILING_CARD, advance, counts, invoices_of, lines_of, make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog import services as catalog
from assina.catalog.models import Coupon
from assina.core.errors import DomainError
from assina.events.models import Event
from assina.events.public import public_events
from assina.invoices.models import InvoiceLine
from assina.i18n import localized_message
from assina.subscriptions.discounts import DiscountError, apply_discount, remove_discount
from assina.subscriptions.services import cancel_now, pause
from assina.time import now

pytestmark = pytest.mark.django_db

START = utc(2027, 1, 15, 12)
MONTHS = [utc(2027, m, 15, 12) for m in range(1, 9)]


@pytest.fixture
def sub():
    start_clock(START)
    make_plan("basic", 4990, name="Basic")
    return subscribe(make_customer(), "basic")


def _discounts(sub) -> list[int]:
    """The discount of each invoice of ``sub`` in order (0: none)."""
    return [sum(amount for kind, amount in lines_of(i) if kind == "discount") for i in invoices_of(sub)]


def test_percent_off_for_three_periods_discounts_exactly_the_three_invoices_after_the_current_one(sub):
    advance(utc(2027, 1, 20, 9))
    apply_discount(sub.pk, percent_off=Decimal("20"), periods=3)
    sub.refresh_from_db()
    assert (sub.discount_applies_from, sub.discount_applies_until) == (MONTHS[1], MONTHS[4])
    assert _discounts(sub) == [0]  # the current period is not billed again

    advance(MONTHS[6])
    invoices = invoices_of(sub)
    assert [i.period_start for i in invoices] == MONTHS[:7]
    # 20% of 49.90 = 9.98 on Feb, Mar and Apr; Jan (already billed), May, Jun, Jul in full.
    assert _discounts(sub) == [0, -998, -998, -998, 0, 0, 0]
    assert [i.total for i in invoices] == [4990, 3992, 3992, 3992, 4990, 4990, 4990]
    code = f"sub{sub.pk}-1"
    shown = InvoiceLine.objects.get(invoice=invoices[1], kind="discount")
    assert shown.description == f"Discount {code} (20% off)"

    event = Event.objects.get(type="subscription.discount_applied")
    assert event.data == {"coupon": code, "source": "owner", "effective_at": MONTHS[1].isoformat(),
                          "ends_at": MONTHS[4].isoformat(), "previous": None}
    assert public_events([event])[0]["data"]["effective_at"] == "2027-02-15T12:00:00Z"
    # The coupon made for it is spent: its code cannot be typed in at a checkout.
    assert Coupon.objects.get(code=code).times_redeemed == 1
    with pytest.raises(DomainError, match="maximum"):
        subscribe(make_customer(), "basic", coupon_code=code)


def test_an_amount_off_forever_discounts_every_invoice_from_the_next(sub):
    apply_discount(sub.pk, amount_off=1000, source="cancel_flow")
    sub.refresh_from_db()
    assert (sub.discount_applies_from, sub.discount_applies_until) == (MONTHS[1], None)
    advance(MONTHS[5])
    assert _discounts(sub) == [0, -1000, -1000, -1000, -1000, -1000]
    assert Event.objects.get(type="subscription.discount_applied").data["source"] == "cancel_flow"


def test_a_new_discount_replaces_one_that_has_not_started_from_the_next_invoice(sub):
    apply_discount(sub.pk, percent_off="20", periods=3)  # from February
    apply_discount(sub.pk, percent_off="50", periods=1)
    advance(MONTHS[3])
    assert _discounts(sub) == [0, -2495, 0, 0]
    assert Event.objects.filter(type="subscription.discount_applied").last().data["previous"] == f"sub{sub.pk}-1"


def test_a_discount_billing_the_current_period_is_not_replaced_until_that_period_ends():
    """Replacing it mid-period would let a pause or a plan change credit the period as if it had
    been billed without its discount: money given away."""
    start_clock(START)
    make_plan("basic", 4990)
    catalog.create_coupon(code="welcome3", duration="repeating", duration_periods=3, percent_off="20", at=now())
    sub = subscribe(make_customer(), "basic", coupon_code="welcome3")
    advance(utc(2027, 2, 20, 9))  # Jan and Feb billed with 20% off
    before = counts()
    with pytest.raises(DiscountError, match="billed with the discount welcome3.*2027-03-15"):
        apply_discount(sub.pk, percent_off="50", periods=1)
    assert counts() == before
    remove_discount(sub.pk)  # February keeps it; March is billed in full
    with pytest.raises(DiscountError, match="once that period has ended"):
        apply_discount(sub.pk, percent_off="50", periods=1)
    advance(utc(2027, 3, 20, 9))
    apply_discount(sub.pk, percent_off="50", periods=1)  # March is not discounted: April takes it
    advance(MONTHS[5])
    assert _discounts(sub) == [-998, -998, 0, -2495, 0, 0]
    assert Event.objects.filter(type="subscription.discount_applied").last().data["previous"] == "welcome3"


def test_pausing_after_a_discount_was_refused_credits_what_the_period_was_billed():
    start_clock(START)
    make_plan("basic", 4990)
    catalog.create_coupon(code="half-forever", duration="forever", percent_off="50", at=now())
    sub = subscribe(make_customer(), "basic", coupon_code="half-forever")
    advance(utc(2027, 2, 15, 12))  # February billed 24.95
    with pytest.raises(DiscountError):
        apply_discount(sub.pk, percent_off="10")
    advance(utc(2027, 3, 1, 12))  # 14 of February's 28 days used
    pause(sub.pk)
    credited = sum(n.amount for i in invoices_of(sub) for n in i.credit_notes.all())
    assert credited == 1248  # half of 24.95 rounded half-even... of what was billed, never of 49.90


def test_a_catalog_coupon_by_code_keeps_its_own_duration(sub):
    catalog.create_coupon(code="half-once", duration="once", percent_off="50", at=now())
    apply_discount(sub.pk, coupon_code="half-once")
    advance(MONTHS[3])
    assert _discounts(sub) == [0, -2495, 0, 0]
    assert Coupon.objects.get(code="half-once").times_redeemed == 1


def test_a_discount_during_a_trial_starts_with_the_first_paid_invoice():
    start_clock(START)
    make_plan("basic", 4990)
    sub = subscribe(make_customer(), "basic", trial_days=14)
    apply_discount(sub.pk, percent_off="10", periods=2)
    advance(utc(2027, 4, 1))
    trial_end = utc(2027, 1, 29, 12)
    assert [i.period_start for i in invoices_of(sub)] == [trial_end, utc(2027, 2, 28, 12), utc(2027, 3, 29, 12)]
    assert _discounts(sub) == [-499, -499, 0]


def test_removing_keeps_the_current_period_and_stops_from_the_next_invoice(sub):
    apply_discount(sub.pk, percent_off="10")
    advance(utc(2027, 3, 20))
    remove_discount(sub.pk)
    sub.refresh_from_db()
    assert sub.coupon is not None and sub.discount_applies_until == MONTHS[3]  # March keeps what it was billed
    advance(MONTHS[5])
    assert _discounts(sub) == [0, -499, -499, 0, 0, 0]
    removed = Event.objects.get(type="subscription.discount_removed")
    assert removed.data == {"coupon": f"sub{sub.pk}-1", "source": "owner", "effective_at": MONTHS[3].isoformat()}
    with pytest.raises(DiscountError, match="no discount on its next invoices"):
        remove_discount(sub.pk)


def test_removing_a_discount_that_has_not_started_drops_it(sub):
    apply_discount(sub.pk, percent_off="10")
    remove_discount(sub.pk)
    sub.refresh_from_db()
    assert (sub.coupon, sub.discount_applies_from, sub.discount_applies_until) == (None, None, None)
    advance(MONTHS[2])
    assert _discounts(sub) == [0, 0, 0]


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give a percentage off or an amount off"),
    ({"percent_off": "20", "amount_off": 100}, "give a percentage off or an amount off"),
    ({"percent_off": "0"}, "more than 0 and at most 100"),
    ({"percent_off": "100.01"}, "more than 0 and at most 100"),
    ({"percent_off": "12.345"}, "at most two decimal places"),
    ({"percent_off": "abc"}, "is not a percentage"),
    ({"percent_off": 12.5}, "not a float"),
    ({"amount_off": 0}, "positive whole number"),
    ({"amount_off": True}, "positive whole number"),
    ({"percent_off": "20", "periods": 0}, "from 1 to 120"),
    ({"coupon_code": "x", "periods": 3}, "not both"),
    ({"coupon_code": "nope"}, "unknown coupon"),
    ({"percent_off": "20", "source": ""}, "source"),
])
def test_bad_input_is_refused_and_changes_nothing(sub, kwargs, message):
    before, coupons = counts(), Coupon.objects.count()
    with pytest.raises(DomainError, match=message):
        apply_discount(sub.pk, **kwargs)
    sub.refresh_from_db()
    assert counts() == before and Coupon.objects.count() == coupons and sub.coupon is None


def test_an_amount_coupon_in_another_currency_is_refused(sub):
    catalog.create_coupon(code="usd5", duration="forever", amount_off=500, currency="USD", at=now())
    with pytest.raises(DiscountError, match="USD"):
        apply_discount(sub.pk, coupon_code="usd5")
    assert Coupon.objects.get(code="usd5").times_redeemed == 0  # the redemption rolled back


def test_ended_incomplete_and_paused_subscriptions_are_refused(sub):
    declined = subscribe(make_customer(card=FAILING_CARD), "basic")
    assert declined.status == "incomplete"
    with pytest.raises(DiscountError, match="Incomplete|incomplete"):
        apply_discount(declined.pk, percent_off="10")
    paused = subscribe(make_customer(), "basic")
    pause(paused.pk)
    with pytest.raises(DiscountError, match="paused"):
        apply_discount(paused.pk, percent_off="10")
    cancel_now(sub.pk)
    with pytest.raises(DiscountError, match="cannot take a discount"):
        apply_discount(sub.pk, percent_off="10")
    with pytest.raises(DiscountError, match="cannot take a discount"):
        remove_discount(sub.pk)
    assert not Event.objects.filter(type__startswith="subscription.discount").exists()


def test_the_refusal_is_in_the_owners_language(sub):
    with translation.override("pt-br"):
        with pytest.raises(DiscountError) as refused:
            apply_discount(sub.pk, percent_off="0")
        assert localized_message(refused.value) == "a porcentagem de desconto deve ser maior que 0 e no máximo 100"


def test_the_api_puts_on_and_removes_a_discount(api, sub):
    body = api.ok("POST", f"/subscriptions/sub_{sub.pk}/discount", {"percent_off": "20", "periods": 3})
    assert body["coupon"] == f"sub{sub.pk}-1" and body["discount_until"] == "2027-05-15T12:00:00Z"
    body = api.ok("POST", f"/subscriptions/sub_{sub.pk}/discount", {"amount_off": 500})
    assert body["coupon"] == f"sub{sub.pk}-2" and body["discount_until"] is None
    removed = api.client.delete(f"/api/v1/subscriptions/sub_{sub.pk}/discount")
    assert removed.status_code == 200 and removed.json()["coupon"] is None

    refused = problem(api.post(f"/subscriptions/sub_{sub.pk}/discount", {"percent_off": "20", "amount_off": 100}),
                      422, "discount_error")
    assert "one of them" in refused["detail"]
    problem(api.post(f"/subscriptions/sub_{sub.pk}/discount", {"percent_off": "120"}), 422, "validation_error")
    problem(api.post("/subscriptions/sub_999999/discount", {"percent_off": "20"}), 404, "resource_missing")
    problem(api.client.delete(f"/api/v1/subscriptions/sub_{sub.pk}/discount"), 422, "discount_error")
    problem(api.post(f"/subscriptions/sub_{sub.pk}/discount", {"percent_off": "0.001"}), 422, "validation_error")
    pt = api.client.post(f"/api/v1/subscriptions/sub_{sub.pk}/discount", json.dumps({"percent_off": "0"}),
                         content_type="application/json", HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert problem(pt, 422, "discount_error")["detail"] == "a porcentagem de desconto deve ser maior que 0 e no máximo 100"


def test_the_cli_puts_on_and_removes_a_discount(sub, capsys):
    from assina.cli import main

    assert main(["subscription", "discount", "--id", f"sub_{sub.pk}", "--percent-off", "20", "--periods", "3",
                 "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["coupon"], shown["discount_from"], shown["discount_until"]) == (
        f"sub{sub.pk}-1", "2027-02-15T12:00:00Z", "2027-05-15T12:00:00Z")
    assert main(["subscription", "discount", "--id", f"sub_{sub.pk}", "--remove", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["coupon"] is None
    assert main(["subscription", "discount", "--id", f"sub_{sub.pk}", "--percent-off", "150", "--json"]) == 2
    assert "at most 100" in json.loads(capsys.readouterr().err)["error"]
    assert main(["subscription", "discount", "--id", f"sub_{sub.pk}", "--remove", "--periods", "2", "--json"]) == 2
    capsys.readouterr()
    with pytest.raises(SystemExit) as usage:
        main(["subscription", "discount", "--id", f"sub_{sub.pk}", "--percent-off", "20", "--amount-off", "100"])
    assert usage.value.code == 2


def test_the_admin_page_puts_on_and_removes_a_discount(admin_client, sub):
    page = admin_client.get(reverse("admin:subscriptions_subscription_change", args=[sub.pk])).content.decode()
    assert 'id="op-discount"' in page
    url = reverse("admin:subscriptions_subscription_discount", args=[sub.pk])
    form = admin_client.get(url).content.decode()
    assert "The discount applies from the next invoice" in form and 'id="remove-discount"' not in form

    refused = admin_client.post(url, {"kind": "amount", "amount_off": "abc", "periods": ""}).content.decode()
    assert "errorlist" in refused
    done = admin_client.post(url, {"kind": "amount", "amount_off": "10,00", "periods": "2"}, follow=True)
    assert "The discount applies from the next invoice." in done.content.decode()
    sub.refresh_from_db()
    assert sub.coupon.amount_off == 1000 and sub.discount_applies_until == MONTHS[3]

    assert 'id="remove-discount"' in admin_client.get(url).content.decode()
    admin_client.post(url, {"remove": "1"}, follow=True)
    sub.refresh_from_db()
    assert sub.coupon is None
    cancel_now(sub.pk)
    page = admin_client.get(reverse("admin:subscriptions_subscription_change", args=[sub.pk])).content.decode()
    assert 'id="op-discount"' not in page
    ended = admin_client.post(url, {"kind": "percent", "percent_off": "10"}).content.decode()
    assert "cannot take a discount" in ended

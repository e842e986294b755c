"""Coupons over several renewals: repeating, once, forever (restricted to a plan), promotion codes."""

import pytest
from factories import (
    advance,
    assert_all_invoices_sum,
    counts,
    event_types,
    invoices_of,
    lines_of,
    make_customer,
    make_plan,
    real_transactions,
    start_clock,
    subscribe,
    utc,
)

from assina.catalog import services as catalog
from assina.catalog.models import Coupon, PromotionCode
from assina.time import now
from assina.core.errors import CouponNotApplicable
from assina.events.models import Event
from assina.subscriptions.changes import change_subscription

pytestmark = real_transactions

START = utc(2027, 1, 15, 12)
MONTHS = [utc(2027, m, 15, 12) for m in range(1, 8)]


def test_repeating_coupon_takes_20_percent_off_exactly_the_first_three_invoices():
    start_clock(START)
    make_plan("basic", 4990)
    catalog.create_coupon(code="welcome3", duration="repeating", duration_periods=3, percent_off="20", at=now())
    sub = subscribe(make_customer(), "basic", coupon_code="welcome3")
    assert (sub.discount_applies_from, sub.discount_applies_until) == (MONTHS[0], MONTHS[3])
    assert Event.objects.filter(type="subscription.discount_applied", data={"coupon": "welcome3"}).count() == 1
    assert event_types(sub)[-5:] == ["subscription.created", "subscription.discount_applied", "invoice.created",
                                     "invoice.paid", "subscription.updated"]

    advance(MONTHS[6])

    invoices = invoices_of(sub)
    assert [i.period_start for i in invoices] == MONTHS
    # 20% of 49.90 = 9.98, exact.
    assert [lines_of(i) for i in invoices] == [[("subscription", 4990), ("discount", -998)]] * 3 + [[("subscription", 4990)]] * 4
    assert [i.total for i in invoices] == [3992] * 3 + [4990] * 4
    assert [i.amount_paid for i in invoices] == [3992] * 3 + [4990] * 4
    assert all(i.discount == -998 for i in invoices[:3]) and all(i.discount == 0 for i in invoices[3:])
    assert Coupon.objects.get(code="welcome3").times_redeemed == 1
    assert_all_invoices_sum()


def test_once_coupon_discounts_only_the_first_invoice_and_rounds_half_up():
    start_clock(START)
    make_plan("basic", 4995)
    catalog.create_coupon(code="half", duration="once", percent_off="50", at=now())
    sub = subscribe(make_customer(), "basic", coupon_code="half")
    advance(MONTHS[2])
    first, second, third = invoices_of(sub)
    assert lines_of(first) == [("subscription", 4995), ("discount", -2498)]  # 2497.5 rounds half up
    assert first.total == 2497
    assert lines_of(second) == lines_of(third) == [("subscription", 4995)]
    assert_all_invoices_sum()


def test_forever_amount_off_coupon_restricted_to_a_plan_applies_only_to_that_plan():
    start_clock(START)
    make_plan("basic", 4990)
    make_plan("pro", 14990)
    catalog.create_coupon(code="pro5", duration="forever", amount_off=500, currency="BRL", plans=["pro"], at=now())

    before = counts()
    with pytest.raises(CouponNotApplicable, match="coupon pro5 is not valid for plan basic"):
        subscribe(make_customer(), "basic", coupon_code="pro5")
    after = counts()
    assert after["subscriptions"] == before["subscriptions"] and after["invoices"] == before["invoices"]
    assert Coupon.objects.get(code="pro5").times_redeemed == 0

    sub = subscribe(make_customer(), "pro", coupon_code="pro5")
    assert sub.discount_applies_until is None
    advance(MONTHS[5])
    assert [lines_of(i) for i in invoices_of(sub)] == [[("subscription", 14990), ("discount", -500)]] * 6

    # Moving to another plan: the coupon stays on the subscription but never discounts a plan
    # it is not valid for (neither in the proration nor in later renewals).
    advance(utc(2027, 7, 1, 12))
    change_subscription(sub.pk, plan_code="basic", invoice_now=True)
    change = invoices_of(sub)[-1]
    # Jul 1 12:00 -> Jul 15 12:00 is 14 of the 30 days of the Jun 15 period: 0.466666667.
    assert lines_of(change) == [("proration", -6762), ("proration", 2329)]  # 14490 x f, 4990 x f
    advance(utc(2027, 8, 15, 12))
    later = invoices_of(sub)[7:]
    assert [lines_of(i) for i in later] == [[("subscription", 4990)], [("subscription", 4990)]]
    assert Coupon.objects.get(code="pro5").times_redeemed == 1
    assert_all_invoices_sum()


def test_promotion_code_redeems_its_coupon_until_its_limit_and_then_changes_nothing():
    start_clock(START)
    make_plan("basic", 10000)
    catalog.create_coupon(code="spring", duration="once", percent_off="10", at=now())
    catalog.create_promotion_code(code="SPRING27", coupon_code="spring", at=now(), max_redemptions=2)

    first = subscribe(make_customer(), "basic", coupon_code="spring27")  # codes are case-insensitive
    second = subscribe(make_customer(), "basic", coupon_code="SPRING27")
    for sub in (first, second):
        assert sub.coupon.code == "spring"
        assert lines_of(invoices_of(sub)[0]) == [("subscription", 10000), ("discount", -1000)]

    customer = make_customer()
    before = counts()
    with pytest.raises(catalog.CatalogError, match="promotion code 'SPRING27' has reached its maximum number of redemptions"):
        subscribe(customer, "basic", coupon_code="SPRING27")
    assert counts() == before
    assert PromotionCode.objects.get(code="SPRING27").times_redeemed == 2
    assert Coupon.objects.get(code="spring").times_redeemed == 2

    # The coupon itself (no promotion-code limit) still works.
    third = subscribe(customer, "basic", coupon_code="spring")
    assert third.coupon.code == "spring"
    assert Coupon.objects.get(code="spring").times_redeemed == 3
    assert_all_invoices_sum()


def test_expired_promotion_code_is_refused():
    start_clock(START)
    make_plan("basic", 10000)
    catalog.create_coupon(code="flash", duration="once", percent_off="10", at=now())
    catalog.create_promotion_code(code="FLASH", coupon_code="flash", at=now(), expires_at=utc(2027, 1, 20))
    advance(utc(2027, 1, 20))
    customer = make_customer()
    before = counts()
    with pytest.raises(catalog.CatalogError, match="promotion code 'FLASH' has expired"):
        subscribe(customer, "basic", coupon_code="FLASH")
    assert counts() == before
    assert PromotionCode.objects.get(code="FLASH").times_redeemed == 0


@pytest.mark.django_db
def test_a_promotion_code_and_another_coupons_code_never_share_their_letters():
    """A typed code is read as a promotion code first: the same letters for another coupon would
    give customers typing one coupon's code another's discount."""
    catalog.create_coupon(code="half", duration="forever", percent_off="50", at=now())
    catalog.create_coupon(code="stay20", duration="once", percent_off="20", at=now())
    with pytest.raises(catalog.CatalogError, match="another coupon"):
        catalog.create_promotion_code(code="STAY20", coupon_code="half", at=now())
    catalog.create_promotion_code(code="STAY20", coupon_code="stay20", at=now())  # its own letters: the same coupon
    catalog.create_promotion_code(code="WELCOME", coupon_code="half", at=now())
    with pytest.raises(catalog.CatalogError, match="already a promotion code"):
        catalog.create_coupon(code="welcome", duration="once", percent_off="10", at=now())
    assert not Coupon.objects.filter(code="welcome").exists()
    assert set(PromotionCode.objects.values_list("code", flat=True)) == {"STAY20", "WELCOME"}

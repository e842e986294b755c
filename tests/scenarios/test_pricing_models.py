"""What gets billed under each pricing model: add-ons next to the plan, seats, tiers."""

import pytest
from factories import (
    advance,
    assert_all_invoices_sum,
    fraction_9,
    invoices_of,
    make_addon,
    make_customer,
    make_plan,
    real_transactions,
    round_half_up,
    start_clock,
    subscribe,
    utc,
)

from assina.invoices.models import InvoiceLine
from assina.subscriptions.changes import change_subscription

pytestmark = real_transactions

TIERS = [
    {"up_to": 5, "unit_amount": 1000},
    {"up_to": 10, "unit_amount": 800},
    {"up_to": None, "unit_amount": 500, "flat_amount": 300},
]


def _lines(invoice):
    return list(InvoiceLine.objects.filter(invoice=invoice).order_by("id")
                .values_list("kind", "item_code", "quantity", "unit_amount", "amount"))


def test_addons_are_billed_with_the_plan_on_every_invoice():
    start_clock(utc(2027, 1, 1))
    make_plan("seats", 2500, pricing_model="per_unit", name="Seats")
    make_addon("storage", 1500, pricing_model="per_unit", name="Extra storage")
    make_addon("support", 9000, name="Priority support")
    sub = subscribe(make_customer(), "seats", quantity=5, addons=[("storage", 2), ("support", 1)])

    advance(utc(2027, 3, 1))

    invoices = invoices_of(sub)
    assert len(invoices) == 3
    for invoice in invoices:
        assert _lines(invoice) == [
            ("subscription", "seats", 5, 2500, 12500),
            ("addon", "storage", 2, 1500, 3000),
            ("addon", "support", 1, 9000, 9000),
        ]
        assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (24500, 24500, 24500)
    assert_all_invoices_sum()


def test_adding_seats_mid_period_prorates_the_seat_price_and_bills_the_new_count_from_then_on():
    start_clock(utc(2027, 4, 1))
    make_plan("seats", 2500, pricing_model="per_unit")
    sub = subscribe(make_customer(), "seats", quantity=4)
    advance(utc(2027, 4, 21, 12))  # 9.5 of the 30 days of April left

    change_subscription(sub.pk, quantity=7)
    advance(utc(2027, 5, 1))

    fraction = fraction_9(9 * 86400 + 12 * 3600, 30 * 86400)
    assert str(fraction) == "0.316666667"
    credit, charge = -round_half_up(10000 * fraction), round_half_up(17500 * fraction)
    assert (credit, charge) == (-3167, 5542)
    may = invoices_of(sub)[-1]
    assert [(k, q, a) for k, _, q, _, a in _lines(may)] == [
        ("subscription", 7, 17500), ("proration", 1, credit), ("proration", 1, charge)]
    assert may.total == 17500 - 3167 + 5542
    assert_all_invoices_sum()


@pytest.mark.parametrize(("model", "quantity", "expected_amount", "expected_unit"), [
    # Graduated: 5 x 10.00 + 5 x 8.00 + 2 x 5.00 + 3.00 flat of the last tier.
    ("graduated", 12, 5 * 1000 + 5 * 800 + 2 * 500 + 300, None),
    ("graduated", 5, 5 * 1000, None),
    ("graduated", 6, 5 * 1000 + 800, None),
    # Volume: every unit at the price of the tier the whole quantity falls in.
    ("volume", 7, 7 * 800, 800),
    ("volume", 10, 10 * 800, 800),
    ("volume", 12, 12 * 500 + 300, None),
])
def test_tiered_plans_bill_each_renewal_at_the_tier_prices(model, quantity, expected_amount, expected_unit):
    start_clock(utc(2027, 1, 1))
    make_plan("metered", 0, pricing_model=model, tiers=TIERS)
    sub = subscribe(make_customer(), "metered", quantity=quantity)
    advance(utc(2027, 2, 1))
    invoices = invoices_of(sub)
    assert len(invoices) == 2
    for invoice in invoices:
        assert _lines(invoice) == [("subscription", "metered", quantity, expected_unit, expected_amount)]
        assert invoice.total == expected_amount and invoice.status == "paid"
    assert_all_invoices_sum()


def test_package_pricing_rounds_up_to_whole_packages():
    start_clock(utc(2027, 1, 1))
    make_plan("sms", 2000, pricing_model="package", package_size=100)
    sub = subscribe(make_customer(), "sms", quantity=250)
    assert _lines(invoices_of(sub)[0]) == [("subscription", "sms", 250, None, 6000)]  # 3 packages

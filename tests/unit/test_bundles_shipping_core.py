"""Pure maths of bundles and shipping (issue 19), amounts computed by hand."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from assina.core.bundles import BundlePart, InvalidBundle, bundle_amount, part_value, saving
from assina.core.invoicing import ItemTerms, LineKind, SubscriptionTerms, draft_for_period, skipped_lines
from assina.core.money import use_english_amounts
from assina.core.periods import Interval
from assina.core.pricing import PriceSpec, PricingModel
from assina.core.shipping import (
    InvalidAddress, ShippingTerms, SkipRefused, check_skip, left_for_free_shipping, normalize_address, shipping_fee,
)

T0 = datetime(2027, 1, 1, tzinfo=timezone.utc)


def test_percent_off_rounds_the_discount_half_up_once_on_the_sum():
    # 29.99 + 19.99 = 49.98; 12.5 % = 6.2475 → 6.25 off → 43.73.
    assert bundle_amount([2999, 1999], percent_off=Decimal("12.5")) == 4373
    # 49.90 + 29.90 = 79.80; 15 % = 11.97 exactly → 67.83.
    assert bundle_amount([4990, 2990], percent_off=Decimal("15")) == 6783
    # 0.05 × 10 % = 0.005: half a minor unit, rounded up to 0.01 off → 0.04.
    assert bundle_amount([5, 0], percent_off="10") == 4
    # 33.33 × 3 parts at 33.33 %: 99.99 × 0.3333 = 33.326667 → 33.33 off → 66.66.
    assert bundle_amount([3333, 3333, 3333], percent_off="33.33") == 6666
    assert saving([4990, 2990], 6783) == 1197
    # A flat part counts once per unit; a per-unit or tiered one at its price for the quantity.
    assert part_value(PriceSpec(PricingModel.FLAT, "BRL", 4990), 2) == 9980
    assert part_value(PriceSpec(PricingModel.PACKAGE, "BRL", 1000, package_size=5), 6) == 2000


def test_a_bundle_price_is_below_its_parts_and_exactly_one_rule():
    assert bundle_amount([4990, 2990], price=6990) == 6990
    for kwargs in ({"price": 7980}, {"price": 8000}, {}, {"price": 100, "percent_off": "10"}, {"percent_off": "0"},
                   {"percent_off": "100"}, {"percent_off": "1.005"}, {"price": -1}):
        with pytest.raises(InvalidBundle):
            bundle_amount([4990, 2990], **kwargs)
    with pytest.raises(InvalidBundle):
        bundle_amount([4990], percent_off="10")


def test_shipping_is_free_from_the_threshold_and_the_portal_says_how_far():
    terms = ShippingTerms(fee=1500, free_from=5000)
    assert [shipping_fee(terms, spend) for spend in (0, 4999, 5000, 9000)] == [1500, 1500, 0, 0]
    assert [left_for_free_shipping(terms, spend) for spend in (4990, 5000, 6000)] == [10, 0, 0]
    assert shipping_fee(ShippingTerms(fee=1500), 10**9) == 1500
    assert left_for_free_shipping(ShippingTerms(fee=1500), 10) is None
    check_skip(1, 0)
    with pytest.raises(SkipRefused):
        check_skip(1, 1)
    with pytest.raises(SkipRefused):
        check_skip(0, 0)


def _terms(shipping, discount_items=()):
    beans = ItemTerms(code="duo", description="Duo", price=PriceSpec(PricingModel.FLAT, "BRL", 6783), quantity=2,
                      parts=(BundlePart("beans", "Beans", 1, 4990), BundlePart("mug", "Mug", 2, 5980)))
    return SubscriptionTerms(currency="BRL", anchor=T0, interval=Interval.MONTH, interval_count=1, items=(beans,),
                             billing_starts_at=T0, shipping=shipping)


@pytest.fixture
def amounts_as_logs_write_them():
    """Core fills English lines with the formatter ``assina.i18n`` installs (Babel's
    "R$99.80"); here the plain one, so these amounts are core's alone."""
    previous = use_english_amounts(str)
    yield
    use_english_amounts(previous)


def test_a_draft_lists_the_parts_at_zero_then_the_shipping_which_is_not_prorated(amounts_as_logs_write_them):
    draft = draft_for_period(_terms(ShippingTerms(fee=1500, free_from=20000)), 0)
    assert [(l.kind, l.description, l.quantity, l.amount) for l in draft.lines] == [
        (LineKind.SUBSCRIPTION, "Duo", 1, 6783),  # flat: one unit of its amount, as any flat plan
        (LineKind.BUNDLE_PART, "Included: Beans (worth 99.80 BRL)", 2, 0),
        (LineKind.BUNDLE_PART, "Included: Mug (worth 119.60 BRL)", 4, 0),
        (LineKind.SHIPPING, "Shipping", 1, 1500),  # 67.83 < 200.00
    ]
    assert (draft.total, draft.prorated_total) == (8283, 6783)
    free = draft_for_period(_terms(ShippingTerms(fee=1500, free_from=6783)), 0)
    assert free.lines[-1].amount == 0 and free.lines[-1].description == "Shipping: free from 67.83 BRL"
    skipped = skipped_lines(draft, "duo", "Duo")
    assert [(l.description, l.amount) for l in skipped] == [("Delivery skipped: Duo (not billed)", 0)]


def test_addresses_are_normalised_or_refused():
    clean = normalize_address({"line1": " Rua  Augusta 100 ", "city": "São Paulo", "state": "sp",
                               "postal_code": "01305000", "country": "br"})
    assert clean == {"line1": "Rua Augusta 100", "line2": "", "city": "São Paulo", "state": "SP",
                     "postal_code": "01305-000", "country": "BR"}
    assert normalize_address({"line1": "1 Main St", "city": "Lisboa", "postal_code": "1000-001",
                              "country": "PT"})["postal_code"] == "1000-001"
    for bad in ({"line1": "x", "city": "y", "postal_code": "0130", "country": "BR", "state": "SP"},
                {"line1": "x", "city": "y", "postal_code": "94105", "country": "US"},  # no state
                {"line1": "", "city": "y", "postal_code": "1", "country": "DE"},
                {"line1": "x" * 201, "city": "y", "postal_code": "10115", "country": "DE"},
                {"line1": "x", "city": "y", "postal_code": "10115", "country": "DE", "phone": "1"},
                {"line1": "x", "city": "y", "postal_code": "<b>", "country": "DE"}):
        with pytest.raises(InvalidAddress):
            normalize_address(bad)

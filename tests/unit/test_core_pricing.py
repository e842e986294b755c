import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.core.errors import InvalidPrice
from assina.core.pricing import (
    PriceSpec,
    PricingModel,
    Tier,
    display_unit_amount,
    price_amount,
    tier_pieces,
    tiers_breakdown,
)

# Stripe's documented tiers: 1-5 units at $7, 6-10 at $6.50, 11+ at $6.
STRIPE_TIERS = (Tier(5, 700), Tier(10, 650), Tier(None, 600))
GRADUATED = PriceSpec(PricingModel.GRADUATED, "USD", tiers=STRIPE_TIERS)
VOLUME = PriceSpec(PricingModel.VOLUME, "USD", tiers=STRIPE_TIERS)


def test_flat_price_ignores_quantity_except_zero() -> None:
    spec = PriceSpec(PricingModel.FLAT, "BRL", unit_amount=4990)
    assert price_amount(spec, 1) == 4990
    assert price_amount(spec, 7) == 4990
    assert price_amount(spec, 0) == 0


def test_per_unit_price_multiplies() -> None:
    spec = PriceSpec(PricingModel.PER_UNIT, "BRL", unit_amount=1500)
    assert price_amount(spec, 3) == 4500
    assert price_amount(spec, 0) == 0


def test_graduated_prices_each_unit_by_its_tier_like_stripe() -> None:
    # 8 users: 5 x $7 + 3 x $6.50 = $54.50
    assert price_amount(GRADUATED, 8) == 5450
    # 12 users: 35 + 32.50 + 12 = $79.50
    assert price_amount(GRADUATED, 12) == 7950
    assert price_amount(GRADUATED, 5) == 3500
    assert price_amount(GRADUATED, 0) == 0


def test_volume_prices_all_units_at_the_reached_tier_like_stripe() -> None:
    assert price_amount(VOLUME, 8) == 8 * 650  # $52
    assert price_amount(VOLUME, 12) == 12 * 600  # $72
    assert price_amount(VOLUME, 5) == 5 * 700
    assert price_amount(VOLUME, 0) == 0


def test_graduated_adds_the_flat_amount_of_every_reached_tier() -> None:
    # Stripe's flat-fee example: first 5 units $0 + $10 flat; beyond, $1 each + $20 flat.
    spec = PriceSpec(
        PricingModel.GRADUATED, "USD", tiers=(Tier(5, 0, 1000), Tier(None, 100, 2000))
    )
    assert price_amount(spec, 3) == 1000
    assert price_amount(spec, 5) == 1000
    assert price_amount(spec, 6) == 1000 + 100 + 2000
    assert tiers_breakdown(spec, 7) == [(spec.tiers[0], 5, 1000), (spec.tiers[1], 2, 2200)]


def test_volume_adds_only_the_reached_tier_flat_amount() -> None:
    spec = PriceSpec(PricingModel.VOLUME, "USD", tiers=(Tier(5, 200, 1000), Tier(None, 100, 500)))
    assert price_amount(spec, 4) == 4 * 200 + 1000
    assert price_amount(spec, 10) == 10 * 100 + 500


def test_package_price_rounds_packages_up() -> None:
    spec = PriceSpec(PricingModel.PACKAGE, "BRL", unit_amount=500, package_size=100)
    assert price_amount(spec, 1) == 500
    assert price_amount(spec, 100) == 500
    assert price_amount(spec, 101) == 1000
    assert price_amount(spec, 0) == 0


def test_tiers_breakdown_for_invoice_lines() -> None:
    assert tiers_breakdown(GRADUATED, 12) == [
        (STRIPE_TIERS[0], 5, 3500),
        (STRIPE_TIERS[1], 5, 3250),
        (STRIPE_TIERS[2], 2, 1200),
    ]
    assert tiers_breakdown(VOLUME, 8) == [(STRIPE_TIERS[1], 8, 5200)]
    assert tiers_breakdown(PriceSpec(PricingModel.FLAT, "BRL", unit_amount=1), 3) == []


@given(st.integers(0, 10_000))
def test_graduated_amount_is_the_sum_of_its_breakdown_and_never_decreases(q: int) -> None:
    rows = tiers_breakdown(GRADUATED, q)
    assert price_amount(GRADUATED, q) == sum(amount for _, _, amount in rows)
    assert sum(units for _, units, _ in rows) == q
    assert price_amount(GRADUATED, q + 1) > price_amount(GRADUATED, q)


def test_negative_quantity_is_rejected() -> None:
    with pytest.raises(InvalidPrice, match="negative"):
        price_amount(GRADUATED, -1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"model": "flat", "currency": "BRL", "unit_amount": -1},
        {"model": "flat", "currency": "ZZZ", "unit_amount": 1},
        {"model": "flat", "currency": "BRL", "unit_amount": 1.5},
        {"model": "package", "currency": "BRL", "unit_amount": 1, "package_size": 0},
        {"model": "graduated", "currency": "BRL"},
        {"model": "volume", "currency": "BRL", "tiers": (Tier(5, 1),)},
        {"model": "graduated", "currency": "BRL",
         "tiers": (Tier(10, 1), Tier(5, 1), Tier(None, 1))},
        {"model": "graduated", "currency": "BRL", "tiers": (Tier(5, 1), Tier(5, 1), Tier(None, 1))},
        {"model": "graduated", "currency": "BRL", "tiers": (Tier(None, 1), Tier(None, 1))},
        {"model": "per_unit", "currency": "BRL", "tiers": (Tier(None, 1),)},
        {"model": "hourly", "currency": "BRL"},
    ],
)  # fmt: skip
def test_invalid_price_specs_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidPrice):
        PriceSpec(**kwargs)  # type: ignore[arg-type]


def test_invalid_tiers_are_rejected() -> None:
    with pytest.raises(InvalidPrice):
        Tier(5, -1)
    with pytest.raises(InvalidPrice):
        Tier(0, 1)


def test_price_spec_normalises_strings_and_lists() -> None:
    spec = PriceSpec("graduated", "usd", tiers=list(STRIPE_TIERS))  # type: ignore[arg-type]
    assert spec == GRADUATED
    assert hash(spec) == hash(GRADUATED)


def test_display_unit_amount_multiplies_back_to_the_amount() -> None:
    per_unit = PriceSpec(PricingModel.PER_UNIT, "BRL", unit_amount=1500)
    assert display_unit_amount(per_unit, 3) == 1500
    assert display_unit_amount(VOLUME, 8) == 650
    assert display_unit_amount(GRADUATED, 8) is None


@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 900), st.integers(0, 300)), min_size=1, max_size=4),
       st.integers(0, 900), st.integers(0, 300), st.sampled_from([PricingModel.GRADUATED, PricingModel.VOLUME]),
       st.integers(1, 200))
def test_tier_pieces_price_each_quantity_as_price_amount_does(steps, last_unit, last_flat, model, quantity) -> None:
    """The linear pieces a database prices with (segments' MRR) give what ``price_amount`` gives."""
    bounds, tiers = 0, []
    for step, unit, flat in steps:
        bounds += step
        tiers.append(Tier(bounds, unit, flat))
    spec = PriceSpec(model, "BRL", tiers=(*tiers, Tier(None, last_unit, last_flat)))
    up_to, base, per_unit = next(p for p in tier_pieces(spec) if p[0] is None or quantity <= p[0])
    assert base + per_unit * quantity == price_amount(spec, quantity)

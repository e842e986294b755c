from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.core.errors import CurrencyMismatch, DomainError, InvalidAmount, UnknownCurrency
from assina.core.money import CURRENCY_EXPONENTS, Money, allocate, exponent, parse_amount
from assina.core.money import round_half_up


def test_currency_exponents_follow_iso_4217() -> None:
    assert exponent("BRL") == 2
    assert exponent("USD") == 2
    assert exponent("EUR") == 2
    assert exponent("JPY") == 0
    assert exponent("KRW") == 0
    assert exponent("CLP") == 0
    for code in ("BHD", "KWD", "JOD", "TND", "OMR", "IQD", "LYD"):
        assert exponent(code) == 3
    assert len(CURRENCY_EXPONENTS) > 150
    assert all(len(c) == 3 and c.isupper() for c in CURRENCY_EXPONENTS)


def test_exponent_accepts_lower_case_and_rejects_unknown_codes() -> None:
    assert exponent("brl") == 2
    for bad in ("XXX", "BR", "BRLL", "", "XAU"):
        with pytest.raises(UnknownCurrency):
            exponent(bad)


def test_domain_errors_are_value_errors() -> None:
    assert issubclass(DomainError, ValueError)
    assert issubclass(CurrencyMismatch, DomainError)


def test_money_rejects_floats_bools_and_unknown_currencies() -> None:
    with pytest.raises(InvalidAmount):
        Money(49.9, "BRL")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        Money(True, "BRL")
    with pytest.raises(UnknownCurrency):
        Money(1, "ZZZ")
    assert Money(1, "brl").currency == "BRL"


def test_adding_brl_and_usd_raises_currency_mismatch_naming_both() -> None:
    with pytest.raises(CurrencyMismatch, match="BRL.*USD"):
        Money(100, "BRL") + Money(100, "USD")
    with pytest.raises(CurrencyMismatch):
        Money(100, "BRL") - Money(100, "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money(100, "BRL") < Money(100, "USD")


def test_money_arithmetic_and_comparison() -> None:
    a, b = Money(4990, "BRL"), Money(1010, "BRL")
    assert a + b == Money(6000, "BRL")
    assert a - b == Money(3980, "BRL")
    assert -a == Money(-4990, "BRL")
    assert abs(Money(-5, "BRL")) == Money(5, "BRL")
    assert b < a <= a and a > b >= b
    assert Money.zero("JPY").is_zero()
    assert not a.is_zero()


def test_money_decimal_round_trip_and_str() -> None:
    assert Money(4990, "BRL").to_decimal() == Decimal("49.90")
    assert str(Money(4990, "BRL").to_decimal()) == "49.90"
    assert str(Money(4990, "BRL")) == "49.90 BRL"
    assert str(Money(-5, "BRL")) == "-0.05 BRL"
    assert str(Money(500, "JPY")) == "500 JPY"
    assert str(Money(1234, "BHD")) == "1.234 BHD"
    assert Money.from_decimal(Decimal("49.905"), "BRL") == Money(4991, "BRL")
    assert Money.from_decimal("-49.905", "BRL") == Money(-4991, "BRL")
    assert Money.from_decimal(3, "JPY") == Money(3, "JPY")
    assert Money.from_decimal("0.5", "JPY") == Money(1, "JPY")
    with pytest.raises(InvalidAmount):
        Money.from_decimal(1.5, "BRL")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        Money.from_decimal("NaN", "BRL")


@given(st.integers(min_value=-(10**20), max_value=10**20), st.sampled_from(["BRL", "JPY", "BHD"]))
def test_from_decimal_inverts_to_decimal(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    assert Money.from_decimal(money.to_decimal(), currency) == money


def test_round_half_up_is_symmetric_for_negatives() -> None:
    assert round_half_up(Decimal("0.5")) == 1
    assert round_half_up(Decimal("-0.5")) == -1
    assert round_half_up(Decimal("1.49999")) == 1
    assert round_half_up(Decimal("-1.5")) == -2
    assert round_half_up(Decimal("2.5")) == 3  # not banker's rounding
    assert round_half_up(Decimal("1E+40")) == 10**40


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("49.90", "BRL", 4990),
        ("49.9", "BRL", 4990),
        ("49", "BRL", 4900),
        ("0", "BRL", 0),
        (" 49.90 ", "BRL", 4990),
        ("49.900", "BRL", 4990),
        ("1.234", "BHD", 1234),
        ("500", "JPY", 500),
        ("500.0", "JPY", 500),
    ],
)
def test_parse_amount_accepts_plain_numbers(text: str, currency: str, expected: int) -> None:
    assert parse_amount(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("abc", "BRL", "not a valid amount"),
        ("", "BRL", "enter an amount"),
        ("-1", "BRL", "negative"),
        ("NaN", "BRL", "finite"),
        ("Infinity", "BRL", "finite"),
        ("1.234", "BRL", "BRL amounts have at most 2 decimals"),
        ("1.5", "JPY", "JPY amounts cannot have decimals"),
        ("49,90", "BRL", "not a valid amount"),
        ("1e3", "BRL", "not a valid amount"),
        ("1_000", "BRL", "not a valid amount"),
        ("99999999999999999999", "BRL", "too large"),
    ],
)
def test_parse_amount_rejects_bad_input_with_a_clear_message(
    text: str, currency: str, message: str
) -> None:
    with pytest.raises(InvalidAmount, match=message):
        parse_amount(text, currency)


def test_allocate_examples() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]
    assert allocate(10, [0, 0]) == [5, 5]
    assert allocate(10, [0, 3]) == [0, 10]
    assert allocate(5, [1, 1]) == [3, 2]  # tie goes to the lowest index
    with pytest.raises(ValueError):
        allocate(10, [])
    with pytest.raises(ValueError):
        allocate(10, [1, -1])


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20),
)
def test_allocate_sums_to_total_and_each_part_is_within_one_of_its_share(
    total: int, weights: list[int]
) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    effective = weights if any(weights) else [1] * len(weights)
    for part, weight in zip(parts, effective, strict=True):
        exact = Decimal(total) * weight / sum(effective)
        assert abs(part - exact) < 1


def test_english_customer_texts_write_amounts_with_the_installed_formatter_and_str_stays():
    from assina.core.money import english_text, use_english_amounts

    template, params = "Shipping: free from %(threshold)s", {"threshold": Money(5000, "BRL")}
    previous = use_english_amounts(str)
    try:
        assert english_text(template, params) == "Shipping: free from 50.00 BRL"
        use_english_amounts(lambda money: f"R${money.to_decimal()}")
        assert english_text(template, params) == "Shipping: free from R$50.00"
        assert english_text("Shipping", None) == "Shipping"
        assert str(Money(5000, "BRL")) == "50.00 BRL"  # logs and CLI tables keep it
    finally:
        use_english_amounts(previous)

"""Core errors carry an English template and its values, so the edges can translate them."""

from __future__ import annotations

import pytest

from assina.core.errors import DomainError, InvalidPrice, UnknownCurrency
from assina.core.pricing import PriceSpec


def test_the_message_is_the_template_filled_with_its_values():
    error = UnknownCurrency("%(currency)s is not a currency code", currency="'XYZ'")
    assert str(error) == error.message == "'XYZ' is not a currency code"
    assert (error.template, error.params) == ("%(currency)s is not a currency code", {"currency": "'XYZ'"})


def test_a_message_without_values_is_taken_as_it_is():
    # A translated message passed by a service may hold a literal percent sign.
    assert str(DomainError("100% off is the most a coupon takes")) == "100% off is the most a coupon takes"


def test_an_error_raised_again_as_another_keeps_the_template():
    with pytest.raises(InvalidPrice) as refused:
        PriceSpec(model="flat", currency="QQQ")
    assert str(refused.value) == "'QQQ' is not a known ISO 4217 currency code"
    assert refused.value.template == "%(currency)s is not a known ISO 4217 currency code"
    assert refused.value.params == {"currency": "'QQQ'"}

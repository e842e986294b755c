"""CPF and CNPJ check digits (assina.core.tax_ids), which checkout asks of a BRL buyer (issue 19)."""

from __future__ import annotations

import pytest

from assina.core.tax_ids import brazilian_tax_id, formatted


@pytest.mark.parametrize("text, expected", [
    ("123.456.789-09", ("cpf", "12345678909")),
    ("529 982 247 25", ("cpf", "52998224725")),
    ("11.222.333/0001-81", ("cnpj", "11222333000181")),
    ("11222333000181", ("cnpj", "11222333000181")),
])
def test_valid_numbers_are_read_whatever_the_separators(text, expected):
    assert brazilian_tax_id(text) == expected


@pytest.mark.parametrize("text", ["123.456.789-00", "123.456.789-19", "111.111.111-11", "00000000000000",
                                  "11.222.333/0001-80", "1234567890", "12a45678909", "١٢٣٤٥٦٧٨٩٠٩", ""])
def test_a_wrong_check_digit_length_or_repeated_digit_is_refused(text):
    assert brazilian_tax_id(text) is None


def test_every_single_digit_change_of_a_valid_number_is_caught():
    for valid in ("52998224725", "11222333000181"):
        for i in range(len(valid)):
            for d in "0123456789":
                changed = valid[:i] + d + valid[i + 1:]
                if changed != valid:
                    assert brazilian_tax_id(changed) is None, changed


def test_numbers_are_written_as_on_documents():
    assert formatted("cpf", "12345678909") == "123.456.789-09"
    assert formatted("cnpj", "11222333000181") == "11.222.333/0001-81"

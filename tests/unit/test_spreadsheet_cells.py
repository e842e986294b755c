"""CSV cells cannot be read as formulas: text starting with = + - @ tab or CR gets a leading quote."""

from decimal import Decimal

import pytest

from assina.core.spreadsheet import safe_cell, safe_row


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "@SUM(A1)", "+1+2", "-1+2", "-x", "\tcmd", "\rcmd", "=1"])
def test_text_that_a_spreadsheet_would_run_is_prefixed(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-12.50", "+3", "0.250000", "Acme", "", "a=b", 5, -5, -1.5, Decimal("-2.00"), None])
def test_numbers_and_plain_text_stay_as_they_are(value):
    assert safe_cell(value) == value


def test_a_row_is_neutralised_cell_by_cell():
    assert safe_row(["@SUM(A1)", -3, "-3.00", "plain"]) == ["'@SUM(A1)", -3, "-3.00", "plain"]

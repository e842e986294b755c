"""Cells written to a CSV file that a spreadsheet will open.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some programs, a
tab or carriage return) as a formula, so a plan or customer name such as ``=HYPERLINK("http://x")``
would run when an operator opens an export. OWASP's advice is to prefix such a cell with ``'``,
which spreadsheets show as plain text.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal number (what the exporters write for amounts and rates, e.g. "-12.50", or
# "-12,50" in a Brazilian export) is not a formula in any spreadsheet, and prefixing it would turn a
# number into text.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+([.,]\d+)?\Z")


def safe_cell(value):
    """``value`` as it may be written to a CSV cell without being read as a formula.

    Only text is changed: numbers (``int``, ``float``, ``Decimal``) are returned as they are, and so
    is text that is a plain decimal number such as ``-12.50`` or ``-12,50`` (an exported negative amount stays a
    number). Any other text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets
    a leading ``'``, whatever field it came from (names, e-mails, codes, reasons), so a new column
    needs no decision to be safe.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS) or _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def safe_row(row) -> list:
    """Each cell of ``row`` through :func:`safe_cell`."""
    return [safe_cell(cell) for cell in row]

"""Brazilian tax ids: a CPF (a person's, 11 digits) or a CNPJ (a company's, 14 digits), checked
by their two check digits (mod 11). Pure: the selling app's checkout asks a BRL buyer for one.

``brazilian_tax_id("123.456.789-09")`` returns ``("cpf", "12345678909")``, or ``None`` when the
text is not a CPF or CNPJ: wrong length, a check digit that does not match, or one digit repeated
(``111.111.111-11`` passes the arithmetic but is no one's). Dots, dashes, slashes and spaces are
ignored, as people type them.
"""

from __future__ import annotations

SEPARATORS = " .-/"


def _digits(text: str) -> str | None:
    kept = "".join(ch for ch in text if ch not in SEPARATORS)
    return kept if kept.isascii() and kept.isdigit() else None


def _check_digit(digits: str, weights: list[int]) -> int:
    total = sum(int(d) * w for d, w in zip(digits, weights))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def is_cpf(digits: str) -> bool:
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    first = _check_digit(digits[:9], list(range(10, 1, -1)))
    second = _check_digit(digits[:10], list(range(11, 1, -1)))
    return digits[9:] == f"{first}{second}"


CNPJ_WEIGHTS_1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
CNPJ_WEIGHTS_2 = [6, *CNPJ_WEIGHTS_1]


def is_cnpj(digits: str) -> bool:
    if len(digits) != 14 or len(set(digits)) == 1:
        return False
    first = _check_digit(digits[:12], CNPJ_WEIGHTS_1)
    second = _check_digit(digits[:13], CNPJ_WEIGHTS_2)
    return digits[12:] == f"{first}{second}"


def brazilian_tax_id(text: str) -> tuple[str, str] | None:
    """``("cpf" | "cnpj", digits)`` for a valid CPF or CNPJ, else ``None``."""
    digits = _digits(text.strip())
    if digits is None:
        return None
    if is_cpf(digits):
        return "cpf", digits
    if is_cnpj(digits):
        return "cnpj", digits
    return None


def formatted(kind: str, digits: str) -> str:
    """``123.456.789-09`` / ``11.222.333/0001-81``, as a tax id is written on invoices."""
    if kind == "cpf":
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"

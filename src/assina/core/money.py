"""Money as integer minor units of an ISO 4217 currency.

Amounts are ``int`` minor units everywhere (4990 BRL == R$ 49,90). ``Decimal`` appears
only inside calculations, always rounded explicitly with ROUND_HALF_UP, so no float ever
touches money and every rounding decision is visible in the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext

from assina.core.errors import N_, CurrencyMismatch, InvalidAmount, UnknownCurrency

# Active ISO 4217 currencies (list one) with their minor-unit exponents. Precious
# metals, testing codes and other "N.A." entries (XAU, XDR, XTS...) are left out: they
# have no minor unit and cannot be billed. ANG/XCG, SLL/SLE, ZWL/ZWG and VEF-era
# successors are both kept while the replacements roll out.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2,
    "AWG": 2, "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0,
    "BMD": 2, "BND": 2, "BOB": 2, "BOV": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2,
    "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4,
    "CLP": 0, "CNY": 2, "COP": 2, "COU": 2, "CRC": 2, "CUC": 2, "CUP": 2, "CVE": 2,
    "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2,
    "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2,
    "GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2,
    "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0,
    "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2,
    "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2,
    "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
    "MVR": 2, "MWK": 2, "MXN": 2, "MXV": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2,
    "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2,
    "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2,
    "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2,
    "SLE": 2, "SLL": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2,
    "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2,
    "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "USN": 2, "UYI": 0, "UYU": 2,
    "UYW": 4, "UZS": 2, "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0,
    "XCD": 2, "XCG": 2, "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
    "ZWL": 2,
}  # fmt: skip

# Largest amount a signed 64-bit column (Django BigIntegerField) can hold: user input
# beyond this would only fail later, at the database, with a worse message.
MAX_AMOUNT = 2**63 - 1

# Enough precision that products of amounts and 9-decimal ratios are always exact
# before the single explicit rounding step.
CALC_CONTEXT = Context(prec=80, rounding=ROUND_HALF_UP)

_PLAIN_NUMBER = re.compile(r"\+?(\d+)(?:\.(\d+))?")
BAD_AMOUNT_TEMPLATE = N_("%(text)s is not a valid amount; use digits and a dot, like 49.90")


def normalize_currency(currency: str) -> str:
    """Return the upper-case code of a known currency, or raise UnknownCurrency."""
    if not isinstance(currency, str):
        raise UnknownCurrency(N_("%(currency)s is not a currency code"), currency=repr(currency))
    code = currency.upper()
    if code not in CURRENCY_EXPONENTS:
        raise UnknownCurrency(N_("%(currency)s is not a known ISO 4217 currency code"), currency=repr(currency))
    return code


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (BRL 2, JPY 0, BHD 3)."""
    return CURRENCY_EXPONENTS[normalize_currency(currency)]


def round_half_up(value: Decimal) -> int:
    """Round to the nearest integer, ties away from zero (0.5 -> 1, -0.5 -> -1)."""
    if not isinstance(value, Decimal):
        raise TypeError("round_half_up expects a Decimal")
    if not value.is_finite():
        raise InvalidAmount(N_("amount must be a finite number"))
    # to_integral_value is not limited by the context precision, unlike quantize.
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def _check_amount(amount: object) -> int:
    # bool is an int subclass; True cents is always a bug.
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidAmount(N_("amount must be an integer number of minor units, got %(amount)s"), amount=repr(amount))
    return amount


@dataclass(frozen=True, slots=True)
class Money:
    """An immutable amount of minor units in one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        _check_amount(self.amount)
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: str) -> Money:
        """Major units (Decimal('49.90')) -> Money, rounded HALF_UP to the minor unit."""
        code = normalize_currency(currency)
        if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
            # Floats are refused on purpose: 0.1 is not 0.1.
            raise InvalidAmount(N_("%(value)s is not a Decimal, string or integer"), value=repr(value))
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise InvalidAmount(N_("%(value)s is not a number"), value=repr(value)) from None
        if not number.is_finite():
            raise InvalidAmount(N_("amount must be a finite number"))
        with localcontext(CALC_CONTEXT):
            minor = number.scaleb(CURRENCY_EXPONENTS[code])
        return cls(round_half_up(minor), code)

    def to_decimal(self) -> Decimal:
        """Major units with exactly the currency's decimals: 4990 BRL -> Decimal('49.90')."""
        return Decimal(self.amount).scaleb(-CURRENCY_EXPONENTS[self.currency], CALC_CONTEXT)

    def is_zero(self) -> bool:
        return self.amount == 0

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                N_("cannot combine %(first)s and %(second)s amounts"),
                first=self.currency, second=other.currency,
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same_currency(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same_currency(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same_currency(other).amount

    def __str__(self) -> str:
        return f"{self.to_decimal()} {self.currency}"


def _too_many_decimals(code: str, places: int) -> InvalidAmount:
    if places == 0:
        return InvalidAmount(N_("%(currency)s amounts cannot have decimals"), currency=code)
    if places == 1:
        return InvalidAmount(N_("%(currency)s amounts have at most 1 decimal"), currency=code)
    return InvalidAmount(N_("%(currency)s amounts have at most %(places)s decimals"), currency=code, places=places)


def parse_amount(text: str, currency: str) -> int:
    """Parse user input in major units ("49.90") into minor units (4990).

    Accepts plain non-negative numbers with a dot as decimal separator ("49",
    "49.9", "0"). Locale-aware parsing ("49,90") belongs to the forms layer, which
    should normalise before calling this.
    """
    code = normalize_currency(currency)
    places = CURRENCY_EXPONENTS[code]
    if not isinstance(text, str):
        raise InvalidAmount(N_("%(text)s is not a valid amount"), text=repr(text))
    cleaned = text.strip()
    if not cleaned:
        raise InvalidAmount(N_("enter an amount"))
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidAmount(BAD_AMOUNT_TEMPLATE, text=repr(text)) from None
    if not number.is_finite():
        raise InvalidAmount(N_("amount must be a finite number"))
    if number.is_signed() and number != 0:
        raise InvalidAmount(N_("amount cannot be negative"))
    match = _PLAIN_NUMBER.fullmatch(cleaned)
    if match is None:
        # Decimal also accepts "1e3", "1_000", "-0": valid Python, odd user input.
        raise InvalidAmount(BAD_AMOUNT_TEMPLATE, text=repr(text))
    fraction = (match.group(2) or "").rstrip("0")  # "49.900" is still exactly 49.90
    if len(fraction) > places:
        raise _too_many_decimals(code, places)
    minor = int(match.group(1)) * 10**places + int(fraction.ljust(places, "0") or "0")
    if minor > MAX_AMOUNT:
        raise InvalidAmount(N_("amount is too large"))
    return minor


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` so the parts sum exactly to it.

    Largest-remainder method: every part is the exact share rounded down (toward
    zero), then the leftover units go to the largest remainders, ties to the lowest
    index, so the result is deterministic and each part is within 1 of its exact
    share. Negative totals are split as the mirror image of the positive total.
    All-zero weights split evenly.
    """
    _check_amount(total)
    if len(weights) == 0:
        raise ValueError("cannot allocate over an empty list of weights")
    for weight in weights:
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
            raise ValueError(f"weights must be non-negative integers, got {weight!r}")
    effective = list(weights) if any(weights) else [1] * len(weights)
    weight_sum = sum(effective)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    parts = [magnitude * w // weight_sum for w in effective]
    remainders = [magnitude * w % weight_sum for w in effective]
    leftover = magnitude - sum(parts)
    # Sort by remainder descending, then index ascending: the deterministic tie-break.
    order = sorted(range(len(effective)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        parts[i] += 1
    return [sign * p for p in parts]


# How an English customer text (an invoice line: "Shipping: free from R$50.00") writes an
# amount. That takes Babel's locale data, which core cannot import: ``assina.i18n`` installs
# its English formatter when it is imported (by every Django process). Core on its own (a
# script) writes ``str(money)``, "50.00 BRL", which stays the form of logs and CLI tables.
_english_amount: Callable[[Money], str] = str


def use_english_amounts(formatter: Callable[[Money], str]) -> Callable[[Money], str]:
    """Install how English customer texts write amounts; returns the one it replaces."""
    global _english_amount
    previous, _english_amount = _english_amount, formatter
    return previous


def english_text(template: str, params: Mapping[str, object] | None) -> str:
    """``template % params`` with every Money in ``params`` as an English customer reads it."""
    if not params:
        return template
    return template % {name: _english_amount(value) if isinstance(value, Money) else value
                       for name, value in params.items()}

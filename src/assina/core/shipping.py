"""Physical goods: the shipping fee of a period, the free-shipping threshold, skipped
deliveries and the shipping address.

- Spend: what a period's items cost after the coupon's discount (``invoicing`` passes the
  sum of the item and discount lines); metered usage, carried prorations and the shipping
  itself do not count.
- Shipping is free when the spend reaches the threshold (``spend >= free_from``); otherwise
  the plan's fee is billed once per period (one delivery). No threshold: always the fee.
- A customer may skip at most ``allowed`` deliveries per calendar year (the year in which the
  skipped period starts, in the business time zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assina.core.errors import N_, DomainError


class InvalidAddress(DomainError):
    pass


class SkipRefused(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class ShippingTerms:
    """A plan's shipping: ``fee`` per delivery, free from ``free_from`` spent in the period."""

    fee: int
    free_from: int | None = None

    def __post_init__(self) -> None:
        for value in (self.fee, self.free_from):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise DomainError(N_("shipping amounts must be whole, non-negative numbers of minor units"))


def shipping_fee(terms: ShippingTerms, spend: int) -> int:
    """The shipping billed for a period whose items cost ``spend`` (after discounts)."""
    if terms.free_from is not None and spend >= terms.free_from:
        return 0
    return terms.fee


def left_for_free_shipping(terms: ShippingTerms, spend: int) -> int | None:
    """How much more a period must cost for shipping to be free: 0 once it is, None when the
    plan has no threshold (or charges nothing for shipping anyway)."""
    if terms.free_from is None or terms.fee == 0:
        return None
    return max(terms.free_from - spend, 0)


def skips_left(allowed: int, skipped_this_year: int) -> int:
    return max(allowed - skipped_this_year, 0)


def check_skip(allowed: int, skipped_this_year: int) -> None:
    """Refuse a skip beyond the year's allowance."""
    if allowed <= 0:
        raise SkipRefused(N_("this plan does not allow skipping a delivery"))
    if skipped_this_year >= allowed:
        raise SkipRefused(N_("you have already skipped %(count)s deliveries this year, the most this plan allows"),
                          count=skipped_this_year)


# --- the shipping address ---------------------------------------------------------------------------

ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")
REQUIRED = ("line1", "city", "postal_code", "country")
MAX_LENGTHS = {"line1": 200, "line2": 200, "city": 100, "state": 100, "postal_code": 20, "country": 2}
# Postal code formats where the country is known to need one; elsewhere letters, digits, spaces, dashes.
POSTAL_CODES = {
    "BR": (re.compile(r"^\d{5}-?\d{3}$"), N_("a Brazilian CEP has 8 digits, like 01310-100")),
    "US": (re.compile(r"^\d{5}(-\d{4})?$"), N_("a US ZIP code has 5 digits, or 5+4 like 94105-1234")),
    "PT": (re.compile(r"^\d{4}-\d{3}$"), N_("a Portuguese postal code looks like 1000-001")),
}
_GENERIC_POSTAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,18}[A-Za-z0-9]$")
_REQUIRED_TEXTS = {
    "line1": N_("the address (street and number) is required"),
    "city": N_("the city is required"),
    "postal_code": N_("the postal code is required"),
    "country": N_("the country is required"),
}
_TOO_LONG = N_("%(field)s is too long (at most %(max)s characters)")


def normalize_address(data: dict, countries: frozenset[str] | set[str] | None = None) -> dict[str, str]:
    """A clean shipping address from ``data`` (the six fields, trimmed), or InvalidAddress.

    ``countries``: the ISO 3166 alpha-2 codes accepted (None: any two letters). A Brazilian CEP
    is written 01310-100; a state is required in Brazil and the US."""
    if not isinstance(data, dict):
        raise InvalidAddress(N_("an address is a set of fields"))
    unknown = set(data) - set(ADDRESS_FIELDS)
    if unknown:
        raise InvalidAddress(N_("unknown address fields: %(fields)s"), fields=", ".join(sorted(map(str, unknown))))
    clean = {}
    for name in ADDRESS_FIELDS:
        value = data.get(name) or ""
        if not isinstance(value, str):
            raise InvalidAddress(N_("%(field)s must be text"), field=name)
        value = " ".join(value.split())
        if any(ord(ch) < 32 for ch in value):
            raise InvalidAddress(N_("%(field)s must be text"), field=name)
        if len(value) > MAX_LENGTHS[name]:
            raise InvalidAddress(_TOO_LONG, field=name, max=MAX_LENGTHS[name])
        clean[name] = value
    for name in REQUIRED:
        if not clean[name]:
            raise InvalidAddress(_REQUIRED_TEXTS[name])
    country = clean["country"].upper()
    if not re.fullmatch(r"[A-Z]{2}", country) or (countries is not None and country not in countries):
        raise InvalidAddress(N_("%(country)s is not a country code (two letters, like BR or US)"),
                             country=repr(clean["country"]))
    clean["country"] = country
    postal = clean["postal_code"].upper()
    rule = POSTAL_CODES.get(country)
    if rule is not None:
        if not rule[0].fullmatch(postal):
            raise InvalidAddress(rule[1])
        if country == "BR" and "-" not in postal:
            postal = f"{postal[:5]}-{postal[5:]}"
    elif not _GENERIC_POSTAL.fullmatch(postal):
        raise InvalidAddress(N_("the postal code uses letters, digits, spaces and dashes only"))
    clean["postal_code"] = postal
    if country in ("BR", "US") and not clean["state"]:
        raise InvalidAddress(N_("the state is required in this country"))
    if country in ("BR", "US"):
        clean["state"] = clean["state"].upper() if len(clean["state"]) == 2 else clean["state"]
    return clean


def address_lines(address: dict) -> list[str]:
    """The address as it is written on a parcel: street, complement, "city - state postal", country."""
    if not address:
        return []
    place = " ".join(p for p in (address.get("city", ""), address.get("state", "")) if p)
    return [line for line in (address.get("line1", ""), address.get("line2", ""),
                              " ".join(p for p in (place, address.get("postal_code", "")) if p),
                              address.get("country", "")) if line]

"""Bundles: several products or add-ons sold together below the sum of their parts.

A bundle's price per period is either a price the owner sets or a percentage off the sum of
its parts' prices. The percentage's discount is rounded HALF_UP once, on the sum (never per
part), so the bundle costs ``sum - round_half_up(sum × percent / 100)``: with parts of 29.99 and
19.99 (4,998 minor units) and 12.5 % off, the discount is 624.75 → 625 and the bundle 4,373.

The price is computed when the bundle (or its new version) is created and stored as the
version's flat amount: billing, proration and MRR then treat a bundle as any flat plan. What
each part was worth then is kept beside it, so an invoice can show the parts and the saving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext

from assina.core.errors import N_, DomainError
from assina.core.money import CALC_CONTEXT, round_half_up
from assina.core.pricing import PriceSpec, PricingModel, price_amount


class InvalidBundle(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class BundlePart:
    """One part of a bundle as an invoice shows it: ``value`` is what the part alone costs per
    period at ``quantity`` (minor units), when the bundle's version was made."""

    code: str
    description: str
    quantity: int
    value: int


def part_value(spec: PriceSpec, quantity: int) -> int:
    """What ``quantity`` of a part costs alone per period: its price at that quantity, except that
    a flat price (the same whatever the seats) counts once per unit, since two bags of coffee in a
    box are worth two bags."""
    if spec.model is PricingModel.FLAT:
        return spec.unit_amount * quantity
    return price_amount(spec, quantity)


def parse_percent(value: object) -> Decimal:
    """A percentage off in (0, 100), with at most two decimals."""
    try:
        percent = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidBundle(N_("percent off must be a number, not %(value)s"), value=repr(value)) from None
    if not percent.is_finite() or not Decimal(0) < percent < Decimal(100):
        raise InvalidBundle(N_("a bundle's percent off must be more than 0 and less than 100"))
    if percent.as_tuple().exponent < -2:
        raise InvalidBundle(N_("a bundle's percent off has at most two decimals"))
    return percent


def bundle_amount(part_values: Sequence[int], *, price: int | None = None, percent_off: Decimal | None = None) -> int:
    """The bundle's price per period from its parts' values: ``price`` as given, or the sum less
    ``percent_off`` (the discount rounded HALF_UP). Exactly one of the two. A bundle has at
    least two parts and costs less than they do apart."""
    if len(part_values) < 2:
        raise InvalidBundle(N_("a bundle needs at least two parts"))
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in part_values):
        raise InvalidBundle(N_("a part's price must be a whole, non-negative number of minor units"))
    total = sum(part_values)
    if (price is None) == (percent_off is None):
        raise InvalidBundle(N_("a bundle has either a price or a percent off the sum of its parts, not both"))
    if percent_off is not None:
        percent = parse_percent(percent_off)
        with localcontext(CALC_CONTEXT):
            return total - round_half_up(Decimal(total) * percent / Decimal(100))
    if isinstance(price, bool) or not isinstance(price, int) or price < 0:
        raise InvalidBundle(N_("a bundle's price must be a whole, non-negative number of minor units"))
    if price >= total:
        raise InvalidBundle(N_("a bundle must cost less than its parts bought apart (%(total)s minor units)"),
                            total=total)
    return price


def saving(part_values: Sequence[int], amount: int) -> int:
    """What the bundle saves per period against its parts bought apart (>= 0)."""
    return max(sum(part_values) - amount, 0)

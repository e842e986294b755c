"""Price definitions and what a quantity costs under them (Stripe semantics).

Tier ``up_to`` bounds are inclusive: tiers (5, 10, None) cover units 1-5, 6-10, 11+.
A quantity of 0 costs 0 under every model: nothing used, nothing billed (a fixed fee
that must always be charged belongs in a separate FLAT item).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from assina.core.errors import N_, InvalidPrice, UnknownCurrency
from assina.core.money import normalize_currency


class PricingModel(StrEnum):
    FLAT = "flat"
    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"


TIERED_MODELS = frozenset({PricingModel.GRADUATED, PricingModel.VOLUME})


# Whole sentences per amount field, so that each one is translated as a whole.
_NOT_WHOLE = {
    "unit amount": N_("unit amount must be a whole number of minor units, got %(value)s"),
    "tier unit amount": N_("tier unit amount must be a whole number of minor units, got %(value)s"),
    "tier flat amount": N_("tier flat amount must be a whole number of minor units, got %(value)s"),
}
_NEGATIVE = {
    "unit amount": N_("unit amount cannot be negative"),
    "tier unit amount": N_("tier unit amount cannot be negative"),
    "tier flat amount": N_("tier flat amount cannot be negative"),
}


def _non_negative_int(value: object, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidPrice(_NOT_WHOLE[what], value=repr(value))
    if value < 0:
        raise InvalidPrice(_NEGATIVE[what])


@dataclass(frozen=True, slots=True)
class Tier:
    """Units up to and including ``up_to`` (None = no upper bound, last tier only)."""

    up_to: int | None
    unit_amount: int = 0
    flat_amount: int = 0

    def __post_init__(self) -> None:
        if self.up_to is not None:
            if not isinstance(self.up_to, int) or isinstance(self.up_to, bool):
                raise InvalidPrice(N_("tier up_to must be a whole number, got %(value)s"), value=repr(self.up_to))
            if self.up_to < 1:
                raise InvalidPrice(N_("tier up_to must be at least 1"))
        _non_negative_int(self.unit_amount, "tier unit amount")
        _non_negative_int(self.flat_amount, "tier flat amount")


@dataclass(frozen=True, slots=True)
class PriceSpec:
    model: PricingModel
    currency: str
    unit_amount: int = 0
    tiers: tuple[Tier, ...] = ()
    package_size: int = 1

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "model", PricingModel(self.model))
        except ValueError:
            raise InvalidPrice(N_("%(model)s is not a pricing model"), model=repr(self.model)) from None
        try:
            object.__setattr__(self, "currency", normalize_currency(self.currency))
        except UnknownCurrency as exc:
            raise InvalidPrice(exc.template, **exc.params) from exc
        _non_negative_int(self.unit_amount, "unit amount")
        if not isinstance(self.package_size, int) or isinstance(self.package_size, bool):
            raise InvalidPrice(N_("package size must be a whole number"))
        if self.package_size < 1:
            raise InvalidPrice(N_("package size must be at least 1"))
        # Lists arrive from forms and JSON; a tuple keeps the spec hashable.
        object.__setattr__(self, "tiers", tuple(self.tiers))
        if self.model in TIERED_MODELS:
            _validate_tiers(self.tiers)
        elif self.tiers:
            raise InvalidPrice(N_("only graduated and volume prices have tiers"))


def _validate_tiers(tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        raise InvalidPrice(N_("graduated and volume prices need at least one tier"))
    if any(not isinstance(t, Tier) for t in tiers):
        raise InvalidPrice(N_("tiers must be Tier objects"))
    if tiers[-1].up_to is not None:
        raise InvalidPrice(N_("the last tier must have no upper bound"))
    previous = 0
    for tier in tiers[:-1]:
        if tier.up_to is None:
            raise InvalidPrice(N_("only the last tier can have no upper bound"))
        if tier.up_to <= previous:
            raise InvalidPrice(N_("tier upper bounds must be strictly increasing"))
        previous = tier.up_to


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise InvalidPrice(N_("quantity must be a whole number, got %(value)s"), value=repr(quantity))
    if quantity < 0:
        raise InvalidPrice(N_("quantity cannot be negative"))


def volume_tier(spec: PriceSpec, quantity: int) -> Tier:
    """The tier a total quantity falls in (the first whose up_to >= quantity)."""
    for tier in spec.tiers:
        if tier.up_to is None or quantity <= tier.up_to:
            return tier
    raise InvalidPrice(N_("the last tier must have no upper bound"))  # unreachable once valid


def tiers_breakdown(spec: PriceSpec, quantity: int) -> list[tuple[Tier, int, int]]:
    """(tier, units in tier, amount) for each tier the quantity reaches.

    Graduated: one row per reached tier (units at that tier's price plus its flat
    amount). Volume: one row, the tier the whole quantity falls in. Other models have
    no tiers and return []. Quantity 0 reaches no tier.
    """
    _check_quantity(quantity)
    if quantity == 0 or spec.model not in TIERED_MODELS:
        return []
    if spec.model is PricingModel.VOLUME:
        tier = volume_tier(spec, quantity)
        return [(tier, quantity, quantity * tier.unit_amount + tier.flat_amount)]
    rows: list[tuple[Tier, int, int]] = []
    lower = 0  # units already priced by earlier tiers
    for tier in spec.tiers:
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        units = upper - lower
        if units <= 0:
            break
        rows.append((tier, units, units * tier.unit_amount + tier.flat_amount))
        lower = upper
    return rows


def price_amount(spec: PriceSpec, quantity: int) -> int:
    """What ``quantity`` units cost under ``spec``, in minor units."""
    _check_quantity(quantity)
    if quantity == 0:
        return 0
    match spec.model:
        case PricingModel.FLAT:
            return spec.unit_amount
        case PricingModel.PER_UNIT:
            return spec.unit_amount * quantity
        case PricingModel.PACKAGE:
            packages = -(-quantity // spec.package_size)  # ceiling division on ints
            return packages * spec.unit_amount
        case PricingModel.GRADUATED | PricingModel.VOLUME:
            return sum(amount for _, _, amount in tiers_breakdown(spec, quantity))
    raise InvalidPrice(N_("%(model)s is not a pricing model"), model=repr(spec.model))  # pragma: no cover



def tier_pieces(spec: PriceSpec) -> list[tuple[int | None, int, int]]:
    """A tiered price as linear pieces (up_to, base, per unit): for the first piece with
    ``quantity <= up_to`` (None: any), ``price_amount(spec, quantity) == base + per_unit * quantity``
    (quantity >= 1). What a database needs to price a quantity in one expression (segments' MRR)."""
    pieces, lower, below = [], 0, 0  # below: what the tiers under this one cost in full (graduated)
    for tier in spec.tiers:
        if spec.model == PricingModel.VOLUME:
            pieces.append((tier.up_to, tier.flat_amount, tier.unit_amount))
            continue
        # graduated: the tiers below in full, then (quantity - lower) units of this one and its flat amount
        pieces.append((tier.up_to, below + tier.flat_amount - lower * tier.unit_amount, tier.unit_amount))
        if tier.up_to is not None:
            below += (tier.up_to - lower) * tier.unit_amount + tier.flat_amount
            lower = tier.up_to
    return pieces

def display_unit_amount(spec: PriceSpec, quantity: int) -> int | None:
    """The per-unit amount to print on an invoice line, or None when there is none.

    Guarantee: when not None, ``quantity * result == price_amount(spec, quantity)``
    for per-unit and volume prices; a flat price is shown as one unit of its amount.
    """
    match spec.model:
        case PricingModel.PER_UNIT:
            return spec.unit_amount
        case PricingModel.FLAT:
            return spec.unit_amount
        case PricingModel.VOLUME if quantity > 0:
            tier = volume_tier(spec, quantity)
            return tier.unit_amount if tier.flat_amount == 0 else None
    return None

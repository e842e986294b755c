"""Proration of plan changes mid-period (Stripe semantics, time-based).

The unused share of a period is kept as a ratio with 9 decimals (as Kill Bill does),
then each amount is rounded HALF_UP once. Time is measured exactly (microseconds), so
whole-second inputs give the familiar "to the second" results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from assina.core.errors import N_, InvalidAmount
from assina.core.money import CALC_CONTEXT, round_half_up
from assina.core.periods import Period, to_utc

PRORATION_PLACES = Decimal("0.000000001")

_MICROSECOND = timedelta(microseconds=1)


def unused_fraction(period: Period, at: datetime) -> Decimal:
    """Share of ``period`` still ahead at ``at``: 1 at the start, 0 at the end."""
    at = to_utc(at, "at")
    if not period.start <= at <= period.end:
        raise ValueError("the change time must fall inside the period")
    remaining = (period.end - at) // _MICROSECOND
    total = (period.end - period.start) // _MICROSECOND
    with localcontext(CALC_CONTEXT):
        return (Decimal(remaining) / Decimal(total)).quantize(
            PRORATION_PLACES, rounding=ROUND_HALF_UP
        )


def prorate(amount: int, period: Period, at: datetime) -> int:
    """The part of ``amount`` that covers the rest of ``period`` after ``at``."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidAmount(N_("amount must be an integer number of minor units"))
    fraction = unused_fraction(period, at)
    with localcontext(CALC_CONTEXT):
        return round_half_up(amount * fraction)


@dataclass(frozen=True, slots=True)
class Proration:
    """Credit for the unused old price (<= 0) and charge for the new one (>= 0)."""

    credit: int
    charge: int
    fraction: Decimal

    @property
    def net(self) -> int:
        return self.credit + self.charge


def prorate_change(old_amount: int, new_amount: int, period: Period, at: datetime) -> Proration:
    """Switching from ``old_amount`` to ``new_amount`` per period at ``at``.

    Credit and charge are rounded separately (they become separate invoice lines),
    so ``net`` can differ from ``prorate(new - old)`` by at most one minor unit.
    """
    for value, message in (
        (old_amount, N_("old amount must be a non-negative whole number of minor units")),
        (new_amount, N_("new amount must be a non-negative whole number of minor units")),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidAmount(message)
    fraction = unused_fraction(period, at)
    with localcontext(CALC_CONTEXT):
        credit = -round_half_up(old_amount * fraction)
        charge = round_half_up(new_amount * fraction)
    return Proration(credit=credit, charge=charge, fraction=fraction)

"""Settling a period that stops early: a pause, or a cancellation that takes effect now.

What the customer already paid for the rest of the period comes back as credit, and whatever
the period still owes is billed on a final invoice:

- with no carried-over items, the unused time is a credit note on the period's invoice (an
  open invoice then asks for less), up to what that invoice can still be credited; the rest
  (worth more than the invoice: a change was billed on its own invoice since) goes to the
  customer's credit balance. The period's metered usage, if any, is a final invoice of its own.
- with carried-over items (a change billed "on the next invoice", which will never come) they
  go on a final invoice with the usage and the unused time as a negative line; a negative
  total then goes to the credit balance when the invoice is issued.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .invoicing import DraftLine, LineKind
from .states import SubscriptionStatus


def stops_within_period(period_start: datetime, period_end: datetime, at: datetime) -> bool:
    """Whether a stop at ``at`` leaves part of the current period [start, end) unused."""
    return period_start <= at < period_end


def credits_unused_time(status: str, credit_unused: bool, period_start: datetime, period_end: datetime,
                        at: datetime) -> bool:
    """Whether stopping at ``at`` credits the unused time: when asked to (a pause always is),
    inside the running period, and not during a trial (nothing was paid for it)."""
    return (credit_unused and status != SubscriptionStatus.TRIALING.value
            and stops_within_period(period_start, period_end, at))


@dataclass(frozen=True, slots=True)
class UnusedTimeLine:
    """How the unused time reads as a (negative) line of a final invoice."""

    template: str  # English, translated when the invoice is issued
    params: Mapping[str, object]
    item_code: str
    period_end: datetime


@dataclass(frozen=True, slots=True)
class EarlyEnd:
    """What settling the stopped period produces."""

    credit_note: int  # credited on the period's invoice (0: no credit note)
    to_balance: int  # added to the customer's credit balance directly
    final_lines: tuple[DraftLine, ...]  # a final invoice of these lines (empty: none)
    takes_carried_items: bool  # the final invoice bills the carried-over items


def settle_early_end(unused: int, at: datetime, *, creditable: int | None, carried: Sequence[DraftLine],
                     usage: Sequence[DraftLine], unused_line: UnusedTimeLine) -> EarlyEnd:
    """Settle a period stopped at ``at`` whose unused time is worth ``unused``.

    ``creditable``: what the period's invoice can still be credited (its total less its credit
    notes), None when the period has no invoice; ``carried``: carried-over items not billed
    yet; ``usage``: the period's metered usage lines."""
    if not carried:
        credited = min(unused, creditable) if creditable is not None and unused > 0 else 0
        credited = max(credited, 0)
        return EarlyEnd(credit_note=credited, to_balance=max(unused - credited, 0), final_lines=tuple(usage),
                        takes_carried_items=False)
    lines = [*carried, *usage]
    if unused:
        line = unused_line
        lines.append(DraftLine(kind=LineKind.PRORATION, description=line.template % line.params, amount=-unused,
                               period_start=at, period_end=line.period_end, item_code=line.item_code,
                               description_template=line.template, description_params=line.params))
    return EarlyEnd(credit_note=0, to_balance=0, final_lines=tuple(lines), takes_carried_items=True)

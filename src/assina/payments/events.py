"""Facts the payments app states for the apps above it (``assina.dispatch``).

Each fact is a frozen dataclass, published inside the transaction that made the change; the
app above reacts to it in that same transaction (payments never imports subscriptions).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CardDetached:
    """A customer's card was removed: whatever used it must stop doing so (subscriptions fall
    back to the customer's default)."""

    method_id: int


@dataclass(frozen=True)
class CardReplaced:
    """A new card takes the place of an old one on everything that used it (the old one is
    detached right after, in its own transaction)."""

    old_method_id: int
    new_method_id: int

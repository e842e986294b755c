"""How subscriptions follow the facts that invoices and payments state (``assina.dispatch``).

Each topic's handlers live in their own module; this one registers them all at start-up.
"""

from __future__ import annotations

from . import card_reactions, payment_reactions


def register() -> None:
    # Filled in as the facts are introduced (payment results, settled invoices, exhausted
    # dunning, replaced cards).
    card_reactions.register()
    payment_reactions.register()

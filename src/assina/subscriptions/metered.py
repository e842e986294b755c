"""Where a closing period's metered lines come from: a port the usage app fills.

Billing a period in arrears needs the usage recorded during it, but ``usage`` sits above
``subscriptions`` (it reads subscriptions to know which prices are metered), so subscriptions
cannot import it. Instead the usage app registers its source at start-up
(``UsageConfig.ready``) and the billing run asks this module, once per batch of renewals, as
it did before. With no source registered (no usage app), no subscription has metered lines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from assina.core.invoicing import DraftLine

# (subscription id, period start, period end) of each period closing -> lines per subscription
UsageSource = Callable[[list[tuple[int, datetime, datetime]]], dict[int, list[DraftLine]]]

_source: UsageSource | None = None


def register_usage_source(source: UsageSource) -> None:
    """Make ``source`` the one that bills usage (the usage app's ``billing.metered_lines``)."""
    global _source
    _source = source


def metered_lines(renewals: list[tuple[int, datetime, datetime]]) -> dict[int, list[DraftLine]]:
    """The metered lines of each closing period, from the registered source; subscriptions
    without metered prices are absent. Must run inside the transaction that issues those
    invoices (the source marks the usage it bills)."""
    if _source is None:
        return {}
    return _source(renewals)

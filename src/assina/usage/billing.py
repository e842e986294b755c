"""Lines for metered prices, billed in arrears from usage events when a period closes.

The billing run calls ``metered_lines`` once per batch of renewals.
"""

from __future__ import annotations

from datetime import datetime

from assina.core.invoicing import DraftLine


def metered_lines(renewals: list[tuple[int, datetime, datetime]]) -> dict[int, list[DraftLine]]:
    """For (subscription id, start, end) of each period being closed, the metered lines to add
    to the invoice issued at its end. Subscriptions without metered prices are absent."""
    return {}

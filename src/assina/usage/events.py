"""The types of the durable events the usage app records (``assina.events``), which mail,
webhooks and the ``/events`` API read.

``usage.late``: usage that arrived after its period was billed, charged on the next invoice.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "metric.created",
    "plan.metered_price_added",
    "usage.late",
)

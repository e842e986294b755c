"""The types of the durable events the customers app records (``assina.events``), which mail,
webhooks and the ``/events`` API read.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "customer.created",
    "customer.updated",
    "customer.shipping_address_updated",
)

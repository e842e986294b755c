"""The types of the durable events the webhooks app records (``assina.events``), which mail,
webhooks and the ``/events`` API read.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "webhook_endpoint.created",
    "webhook_endpoint.updated",
    "webhook_endpoint.secret_rotated",
    "webhook_endpoint.disabled",
    "webhook_endpoint.deleted",
    "webhook_delivery.redelivery_requested",
)

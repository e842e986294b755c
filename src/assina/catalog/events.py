"""The types of the durable events the catalog records (``assina.events``), which mail,
webhooks and the ``/events`` API read.

The ``*.updated`` ones are recorded by the admin when a descriptive field changes.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "product.updated",
    "plan.created",
    "plan.price_changed",
    "plan.bundle_created",
    "plan.updated",
    "coupon.created",
    "coupon.updated",
    "promotion_code.created",
    "promotion_code.updated",
)

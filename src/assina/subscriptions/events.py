"""The types of the durable events the subscriptions app records (``assina.events``), which mail,
webhooks and the ``/events`` API read.

``payment_method.expiring`` is the notice that a card used by a live subscription expires
(``subscriptions.expiring_cards``).
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "subscription.created",
    "subscription.updated",
    "subscription.discount_applied",
    "subscription.change_scheduled",
    "subscription.change_canceled",
    "subscription.cancel_scheduled",
    "subscription.reactivated",
    "subscription.canceled",
    "subscription.paused",
    "subscription.resumed",
    "subscription.dunning_exhausted",
    "payment_method.expiring",
)

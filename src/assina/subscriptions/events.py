"""The types of the durable events the subscriptions app records (``assina.events``), which mail,
webhooks and the ``/events`` API read.

``payment_method.expiring`` is the notice that a card used by a live subscription expires
(``subscriptions.expiring_cards``). ``subscription.catch_up_held``: more periods were due at once
than one billing pass may bill, so the subscription is held for the operator;
``subscription.catch_up_released``: the operator billed the missed periods or skipped them
(``subscriptions.catch_up``).
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "subscription.created",
    "subscription.updated",
    "subscription.discount_applied",
    "subscription.discount_removed",
    "subscription.change_scheduled",
    "subscription.change_canceled",
    "subscription.cancel_scheduled",
    "subscription.reactivated",
    "subscription.canceled",
    "subscription.paused",
    "subscription.resumed",
    "subscription.dunning_exhausted",
    "subscription.catch_up_held",
    "subscription.catch_up_released",
    "subscription.delivery_skipped",
    "subscription.delivery_unskipped",
    "payment_method.expiring",
)

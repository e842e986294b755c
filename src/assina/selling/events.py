"""The types of the durable events the selling app records (``assina.events``)."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "checkout_session.created",  # a checkout session was made through the API
    "checkout_session.completed",  # a checkout ended: subscribed, or the e-mail was already a customer's
)

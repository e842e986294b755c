"""The types of the durable events the privacy module records (``assina.events``)."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "customer.erased",  # a customer's personal data was anonymised; the event carries none
)

"""The types of the durable events the portal records (``assina.events``)."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "portal.link_created",  # a portal link was made (API, CLI or the customer's own request)
    "portal.session_started",  # a customer opened a portal link
    "portal.access_revoked",  # the owner ended every link and session of a customer
)

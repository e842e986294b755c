"""The types of the durable events the cancel flow records (``assina.events``), each in the
transaction of its step; the subject is the ``CancelSession``.

``cancel_flow.completed`` ends a session that cancelled or was saved (``data.outcome``);
``cancel_flow.abandoned`` ends one the customer left: "keep my subscription", a newer session
for the same subscription, or an hour without a step (the ``cancel_flow_idle`` job).
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "cancel_flow.started",
    "cancel_flow.reason_given",
    "cancel_flow.offer_shown",
    "cancel_flow.offer_accepted",
    "cancel_flow.offer_declined",
    "cancel_flow.completed",
    "cancel_flow.abandoned",
    "cancel_flow.save_validated",
)

"""The durable events the engagement app records (``assina.events``); the customer's timeline and
webhooks read them. Engagement events themselves are their own table, not durable events.

- ``customer_note.created``: a note or support interaction was written down on a customer.
- ``task.created`` / ``task.completed``: a task for the owner about a customer.
- ``onboarding_milestone.created`` / ``.updated``: the owner defined or changed an onboarding milestone.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "customer_note.created",
    "task.created",
    "task.completed",
    "onboarding_milestone.created",
    "onboarding_milestone.updated",
)

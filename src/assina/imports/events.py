"""The durable events the imports app records (``assina.events``); the timeline, the analytics
and webhooks read them. None sends an e-mail.

- ``customer.imported``: a customer brought in by ``assina import customers`` (at their creation time).
- ``subscription.imported``: an imported subscription's start (plan, quantity, amount paid); the
  analytics read it like a creation.
- ``subscription.import_ended``: an imported subscription's end (reason); read like a cancellation.
- ``import.completed``: one import of a file that wrote something (kind, counts; subject: the run).
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "customer.imported",
    "subscription.imported",
    "subscription.import_ended",
    "import.completed",
)

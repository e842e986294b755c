"""The durable events the playbooks app records (``assina.events``): on the customer's timeline.

- ``playbook.run``: a playbook's trigger fired for a customer and its actions ran (subject: the run;
  the trigger, the actions and what each did).
- ``playbook.webhook``: a playbook's webhook action (the customer, the playbook, the trigger): for
  the endpoints subscribed to it.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "playbook.run",
    "playbook.webhook",
)

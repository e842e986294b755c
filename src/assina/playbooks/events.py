"""The durable events the playbooks app records (``assina.events``): on the customer's timeline.

- ``playbook.run``: a playbook's trigger fired for a customer and its actions ran (subject: the run;
  the trigger, the actions and what each did).
- ``playbook.webhook``: a playbook's webhook action (the customer, the playbook, the trigger): for
  the endpoints subscribed to it.
- ``playbook.offer_made``: a run's coupon offered on the customer's portal home (subject: the
  offer; the coupon, the subscription, until when).
- ``playbook.offer_accepted``: the customer accepted it in the portal and the coupon went on their
  subscription (from when, until when).
- ``playbook.offer_declined``: the customer said "No thanks" to it in the portal.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "playbook.run",
    "playbook.webhook",
    "playbook.offer_made",
    "playbook.offer_accepted",
    "playbook.offer_declined",
)

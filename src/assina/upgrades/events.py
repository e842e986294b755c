"""The types of the durable events the upgrades app records (``assina.events``), which mail,
webhooks and the ``/events`` API read.

``upgrade.trial_started`` / ``upgrade.trial_reverted`` carry ``access_plan``: the plan the
customer may use from then on (the trial's plan, then the billed plan again). The subscription's
own plan does not change during a temporary upgrade.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "upgrade.annual_switched",  # a monthly subscription moved to its annual plan with the incentive
    "upgrade.trial_started",  # a free trial of a higher plan began
    "upgrade.trial_reminded",  # the "your trial ends in two days" message was queued
    "upgrade.trial_confirmed",  # the customer kept the higher plan: billed as a plan change
    "upgrade.trial_reverted",  # the trial ended (on its own, or the subscription no longer allows it)
    "suggestion.shown",  # an upsell or cross-sell was shown (once per customer and suggestion per 24 h)
    "suggestion.accepted",  # the customer took a suggestion shown to them in the last 30 days
)

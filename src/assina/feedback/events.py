"""The durable events the feedback app records (``assina.events``); the customer's timeline and
webhooks read them.

- ``survey.sent``: a survey was sent to a customer (subject: the survey request).
- ``survey_response.recorded``: a response arrived (e-mail click, portal, API, import, cancellation).
- ``survey_response.updated``: its score or comment changed (a second click, the comment page).
- ``survey.opted_out``: the customer asked for no more surveys.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "survey.sent",
    "survey_response.recorded",
    "survey_response.updated",
    "survey.opted_out",
)

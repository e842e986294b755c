"""/survey_responses and /metrics/feedback. Mounted by ``assina.api.main``."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["feedback"])
metrics = Router(tags=["metrics"])

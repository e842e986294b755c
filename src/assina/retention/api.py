"""/metrics/retention. Mounted by ``assina.api.main``."""

from __future__ import annotations

from ninja import Router

metrics = Router(tags=["metrics"])

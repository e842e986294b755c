"""The engagement app's API routes. Mounted by ``assina.api.main``."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["engagement"])

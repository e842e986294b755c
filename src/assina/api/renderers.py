"""JSON out: Django's encoder (datetimes, decimals, UUIDs) without spaces."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from django.core.serializers.json import DjangoJSONEncoder
from ninja.renderers import BaseRenderer


def _default(value):
    if isinstance(value, datetime):  # API times: ISO 8601 in UTC with a Z
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return DjangoJSONEncoder().default(value)


def render_json(data) -> str:
    return json.dumps(data, default=_default, separators=(",", ":"), ensure_ascii=False)


class JsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return render_json(data)

"""JSON out: Django's encoder (datetimes, decimals, UUIDs) without spaces."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from ninja.renderers import BaseRenderer


class JsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)

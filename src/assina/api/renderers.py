"""JSON out, without spaces: orjson (C) when installed, the standard library otherwise.

Both give the same text: datetimes as ISO 8601 in UTC with a Z (orjson hands dates and times to
``_default`` instead of formatting them itself), decimals, UUIDs and lazy strings as Django's
encoder writes them, non-ASCII characters as they are. Whatever orjson refuses (an integer over
64 bits, say) goes through the standard library, so the output never depends on the library.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from django.core.serializers.json import DjangoJSONEncoder
from ninja.renderers import BaseRenderer

try:  # a C encoder: a tenth of the standard library's time on an API object
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; this keeps the API up without it
    orjson = None

_ENCODER = DjangoJSONEncoder()


def _default(value):
    if isinstance(value, datetime):  # API times: ISO 8601 in UTC with a Z
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return _ENCODER.default(value)


def _stdlib(data) -> bytes:
    return json.dumps(data, default=_default, separators=(",", ":"), ensure_ascii=False).encode()


if orjson is not None:
    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    def render_json(data) -> bytes:
        try:
            return orjson.dumps(data, default=_default, option=_OPTIONS)
        except TypeError:  # what orjson cannot encode (orjson.JSONEncodeError is a TypeError)
            return _stdlib(data)
else:  # pragma: no cover
    render_json = _stdlib


class JsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return render_json(data)

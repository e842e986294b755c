"""The API object: OpenAPI post-processing and browsable docs that work offline."""

from __future__ import annotations

import json
from pathlib import Path

import ninja
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from ninja import NinjaAPI
from ninja.openapi.docs import DocsBase
from ninja.security import HttpBearer

from .errors import PROBLEM_CONTENT_TYPE, TITLES

NINJA_STATIC = Path(ninja.__file__).parent / "static" / "ninja"
DOC_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
              "swagger-ui-init.js": "text/javascript", "favicon.png": "image/png"}

PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "An RFC 9457 problem. Branch on `code` (stable); `title` and `detail` follow Accept-Language.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:assina:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable machine-readable code (see docs/api.md)"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                                                       "message": {"type": "string"}, "type": {"type": "string"}}},
        },
    },
}
# What an endpoint receives (OpenAPI 3.1 ``webhooks``): the body built by assina.webhooks.delivery
# from the event's public shape (assina.events.public), signed per Standard Webhooks.
WEBHOOK_EVENT_SCHEMA = {
    "title": "WebhookEvent",
    "description": "An event as a webhook body. `data` is the event's `data` as `GET /events/{id}` shows it, plus "
                   "`object`, `object_id` (the event's subject) and `customer`. Ids carry their prefix, times are "
                   "ISO 8601 UTC with a Z, amounts are minor units next to their currency (docs/webhooks.md).",
    "type": "object",
    "required": ["id", "type", "timestamp", "data"],
    "properties": {
        "id": {"type": "string", "description": "the event's id, also the webhook-id header", "examples": ["evt_1234"]},
        "type": {"type": "string", "examples": ["invoice.paid"]},
        "timestamp": {"type": "string", "format": "date-time", "description": "when the event happened (business clock)"},
        "data": {
            "type": "object",
            "required": ["object", "object_id", "customer"],
            "properties": {
                "object": {"type": "string", "description": "the subject's kind, as the API names it", "examples": ["invoice"]},
                "object_id": {"type": "string", "description": "the subject's id, as the API writes it", "examples": ["in_981"]},
                "customer": {"type": ["string", "null"], "description": "the customer it concerns", "examples": ["cus_42"]},
            },
            "additionalProperties": True,
        },
    },
}
WEBHOOK_HEADERS = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "the event's id: the same on every retry (deduplicate on it)"},
    {"name": "webhook-timestamp", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Unix seconds of sending"},
    {"name": "webhook-signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "v1,<base64 HMAC-SHA256>; two, space-separated, while a rotated secret still signs"},
]
WEBHOOKS = {"event": {"post": {
    "summary": "An event, sent to each webhook endpoint whose event_types match it",
    "operationId": "webhook_event",
    "parameters": WEBHOOK_HEADERS,
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookEvent"}}}},
    "responses": {"2XX": {"description": "received; any other answer (or none within 15 s) is retried"}},
}}}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}}}
# The problems any operation can answer, and those only writes can.
ALL_PROBLEMS = (400, 401, 404, 414, 422, 429)
WRITE_PROBLEMS = (402, 403, 409, 413)
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "any unique string (e.g. a UUID): a retry with the same key replays the first response for 24 h",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


class ApiKeyBearer(HttpBearer):
    """Documents the bearer scheme; the key itself was checked by ``assina.api.guard``."""

    def __call__(self, request):
        # The guard has parsed the header and checked the key already: no second parse.
        return getattr(request, "api_key", None)

    def authenticate(self, request, token):
        return getattr(request, "api_key", None)


class OfflineSwagger(DocsBase):
    """Swagger UI from the files django-ninja ships, served by this app: no CDN."""

    def render_page(self, request, api, **kwargs):
        base = reverse(f"{api.urls_namespace}:openapi-json", kwargs=kwargs).rsplit("/", 1)[0] + "/docs/assets/"
        config = {"url": reverse(f"{api.urls_namespace}:openapi-json", kwargs=kwargs), "layout": "BaseLayout",
                  "deepLinking": True, "persistAuthorization": True}
        html = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{api.title}</title>
<link rel="stylesheet" href="{base}swagger-ui.css"><link rel="icon" href="{base}favicon.png"></head>
<body data-csrf-token="" data-api-csrf="">
<script type="application/json" id="swagger-settings">{json.dumps(config)}</script>
<div id="swagger-ui"></div>
<script src="{base}swagger-ui-bundle.js"></script><script src="{base}swagger-ui-init.js"></script>
</body></html>"""
        return HttpResponse(html)


def doc_asset(request, name: str):
    if name not in DOC_ASSETS:
        raise Http404(name)
    response = FileResponse(open(NINJA_STATIC / name, "rb"), content_type=DOC_ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response


def _problem_response(status: int) -> dict:
    response = {"description": str(TITLES[status]),
                "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    if status == 429:
        response["headers"] = RETRY_AFTER
    return response


class AssinaAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        """``<app>_<function>`` (``assina.invoices.api.pay`` → ``invoices_pay``), unless the route names its own."""
        module = operation.view_func.__module__.removeprefix("assina.")
        parts = [p for p in module.split(".") if p != "api"]
        return "_".join(parts + [operation.view_func.__name__])

    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        schema["components"]["schemas"]["WebhookEvent"] = WEBHOOK_EVENT_SCHEMA
        schema["webhooks"] = WEBHOOKS
        for path_item in schema.get("paths", {}).values():
            for method, operation in path_item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                responses = operation.setdefault("responses", {})
                statuses = ALL_PROBLEMS + (WRITE_PROBLEMS if method != "get" else ())
                for status in statuses:
                    current = responses.get(status) or responses.get(str(status))
                    if current is None or "content" not in current:
                        responses.pop(status, None)
                        responses[str(status)] = _problem_response(status)
                    elif PROBLEM_CONTENT_TYPE not in current["content"]:
                        current["content"] = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                if method == "post":
                    params = operation.setdefault("parameters", [])
                    if not any(p.get("name") == "Idempotency-Key" for p in params):
                        params.append(IDEMPOTENCY_PARAMETER)
        return schema

"""The /api/v1 API: the routers of the apps, assembled, and what applies to all of them.

Each app's routes live in its ``api.py``; this module only mounts them (and the guard, the
errors, the renderer and the docs that every route shares).
"""

from __future__ import annotations

from assina.analytics.api import router as metrics_router
from assina.catalog.api import coupons, plans, products, promotion_codes
from assina.customers.api import router as customers_router
from assina.events.api import router as events_router
from assina.feedback.api import metrics as feedback_metrics
from assina.feedback.api import router as feedback_router
from assina.engagement.api import router as engagement_router
from assina.invoices.api import router as invoices_router
from assina.payments.api import router as payment_methods_router
from assina.playbooks.api import router as playbooks_router
from assina.portal.api import router as portal_router
from assina.repricing.api import router as repricing_router
from assina.retention.api import metrics as retention_metrics
from assina.selling.api import router as selling_router
from assina.subscriptions.api import router as subscriptions_router
from assina.success.api import router as success_router
from assina.usage.api import router as usage_router
from assina.webhooks.api import router as webhooks_router
from assina.workspace.api import router as workspace_router

from . import errors
from .guard import guard
from .openapi import ApiKeyBearer, AssinaAPI, OfflineSwagger
from .renderers import JsonRenderer

DESCRIPTION = """The REST API of Assina. Authenticate with an API key: `Authorization: Bearer sk_sandbox_…`
(create one with `assina apikey create --scope write` or in the admin).

- Amounts are integers in the currency's minor unit (4990 BRL is R$ 49,90), always with their currency.
- Times are ISO 8601 in UTC (`2027-01-31T10:00:00Z`).
- Lists are pages in id order: pass `next_cursor` as `starting_after`; filter by `created[gte]`, `created[lt]`...
- Send an `Idempotency-Key` with every POST: a retry replays the first response for 24 h.
- Errors are RFC 9457 `application/problem+json` with a stable `code`, in the language of `Accept-Language`.
- Each key has a rate limit; past it you get 429 with `Retry-After`.
"""

api = AssinaAPI(
    title="Assina API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="assina_api",
    auth=ApiKeyBearer(),
    docs=OfflineSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    renderer=JsonRenderer(),
)
api.add_decorator(guard, mode="view")
errors.install(api)

# The most requested routes first: Django tries URL patterns in order.
api.add_router("/subscriptions", subscriptions_router)
api.add_router("/customers", customers_router)
api.add_router("/customers", payment_methods_router)
api.add_router("/products", products)
api.add_router("/plans", plans)
api.add_router("/coupons", coupons)
api.add_router("/promotion_codes", promotion_codes)
api.add_router("/invoices", invoices_router)
api.add_router("/events", events_router)
api.add_router("/usage", usage_router)
api.add_router("/webhook_endpoints", webhooks_router)
api.add_router("/metrics", metrics_router)
api.add_router("/metrics", retention_metrics)
api.add_router("/metrics", feedback_metrics)
api.add_router("/portal_sessions", portal_router)
api.add_router("/survey_responses", feedback_router)
# Each of these routers carries its full paths under /api/v1 (several share /customers/{id}/…).
api.add_router("", selling_router)
api.add_router("", repricing_router)
api.add_router("", engagement_router)
api.add_router("", success_router)
api.add_router("", playbooks_router)
api.add_router("", workspace_router)
api.add_router("", "assina.upgrades.api.router")  # GET /customers/{id}/suggestions (issue 19)

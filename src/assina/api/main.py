"""The /api/v1 API: its resources, the routers other apps mount in it, and what applies to all."""

from __future__ import annotations


from . import errors
from .guard import guard
from .openapi import ApiKeyBearer, AssinaAPI, OfflineSwagger
from .renderers import JsonRenderer
from .resources import coupons, customers, events, invoices, payment_methods, plans, subscriptions

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
api.add_router("/subscriptions", subscriptions.router)
api.add_router("/customers", customers.router)
api.add_router("/customers", payment_methods.router)
api.add_router("/products", plans.products)
api.add_router("/plans", plans.plans)
api.add_router("/coupons", coupons.coupons)
api.add_router("/promotion_codes", coupons.promotion_codes)
api.add_router("/invoices", invoices.router)
api.add_router("/events", events.router)


def _mount_other_apps() -> None:
    """Routers of the apps that build on the API (they exist from the start, maybe empty)."""
    from assina.analytics.api import router as metrics_router
    from assina.usage.api import router as usage_router
    from assina.webhooks.api import router as webhooks_router

    api.add_router("/usage", usage_router)
    api.add_router("/webhook_endpoints", webhooks_router)
    api.add_router("/metrics", metrics_router)


_mount_other_apps()

"""Which payment gateway this installation uses (``ASSINA_GATEWAY``)."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from .gateway import PaymentGateway


def get_gateway() -> PaymentGateway:
    return _gateway(settings.ASSINA_GATEWAY, settings.ASSINA_STRIPE_API_KEY, settings.ASSINA_STRIPE_API_BASE)


@lru_cache(maxsize=4)
def _gateway(name: str, api_key: str, api_base: str) -> PaymentGateway:
    if name == "stripe":
        from .stripe_gateway import StripeGateway

        return StripeGateway(api_key=api_key, api_base=api_base or None)
    from .sandbox import SandboxGateway

    return SandboxGateway()

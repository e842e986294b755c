from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


def private_addresses_in_live_mode(app_configs, **kwargs):
    """``ASSINA_WEBHOOK_ALLOW_PRIVATE=1`` is for development: on a live server it would let any
    API key point the worker at the machine's own services and network (docs/webhooks.md)."""
    from django.conf import settings

    if settings.ASSINA_MODE == "live" and getattr(settings, "ASSINA_WEBHOOK_ALLOW_PRIVATE", False):
        return [checks.Warning("ASSINA_WEBHOOK_ALLOW_PRIVATE=1 in live mode: webhooks may reach loopback and private "
                               "addresses", hint="Unset it; it is meant for development and tests.",
                               id="assina.webhooks.W001")]
    return []


class WebhooksConfig(AppConfig):
    name = "assina.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from .jobs import register

        register()
        checks.register(private_addresses_in_live_mode, checks.Tags.security)

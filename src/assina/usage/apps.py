from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsageConfig(AppConfig):
    name = "assina.usage"
    label = "usage"
    verbose_name = _("Usage")

    def ready(self):
        from assina.subscriptions.metered import register_usage_source

        from .billing import metered_lines

        # The billing run closes periods in subscriptions, below this app: it asks for the
        # usage lines through this port instead of importing usage.
        register_usage_source(metered_lines)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "assina.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from assina.jobs import register_job

        from .delivery import has_work, run

        # After billing and the other producers of events at each stop of the clock.
        register_job("webhook_deliveries", run, has_work=has_work, order=900, follows=True)

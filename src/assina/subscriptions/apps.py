from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "assina.subscriptions"
    label = "subscriptions"
    verbose_name = _("Subscriptions")

    def ready(self):
        from . import jobs, reactions

        # How a subscription follows what invoices and payments state (see assina.dispatch).
        reactions.register()
        jobs.register()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "assina.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self):
        from . import jobs, reactions

        jobs.register()
        # How payments follows what invoices state (see assina.dispatch).
        reactions.register()

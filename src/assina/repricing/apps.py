from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RepricingConfig(AppConfig):
    name = "assina.repricing"
    label = "repricing"
    verbose_name = _("Price increases")

    def ready(self):
        from . import jobs

        jobs.register()

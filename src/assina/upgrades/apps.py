from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UpgradesConfig(AppConfig):
    name = "assina.upgrades"
    label = "upgrades"
    verbose_name = _("Upgrades and annual billing")

    def ready(self):
        from . import jobs

        jobs.register()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlaybooksConfig(AppConfig):
    name = "assina.playbooks"
    label = "playbooks"
    verbose_name = _("Playbooks")

    def ready(self):
        from . import jobs

        jobs.register()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "assina.retention"
    label = "retention"
    verbose_name = _("Retention")

    def ready(self):
        from . import jobs

        jobs.register()

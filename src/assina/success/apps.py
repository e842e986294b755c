from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuccessConfig(AppConfig):
    name = "assina.success"
    label = "success"
    verbose_name = _("Customer health")

    def ready(self) -> None:
        from .jobs import register

        register()

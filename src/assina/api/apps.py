from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "assina.api"
    label = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        from .jobs import register

        register()

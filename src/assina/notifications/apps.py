from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "assina.notifications"
    label = "notifications"
    verbose_name = _("Customer messages")

    def ready(self) -> None:
        from .jobs import register

        register()

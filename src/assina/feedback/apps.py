from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "assina.feedback"
    label = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from .jobs import register

        register()

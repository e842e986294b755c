from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "assina.events"
    label = "events"
    verbose_name = _("Events")

    def ready(self) -> None:
        # Registers the ``in_list`` lookup used by the billing run's bulk queries.
        import assina.db  # noqa: F401

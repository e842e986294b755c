from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _record_mode(sender, using, **kwargs):
    # Every migrate (and a test database's creation or flush) leaves the database's mode recorded.
    from .installation import record_mode

    record_mode(using)


class ClockConfig(AppConfig):
    name = "assina.clock"
    label = "clock"
    verbose_name = _("Test clock")

    def ready(self):
        post_migrate.connect(_record_mode, sender=self, dispatch_uid="assina.clock.record_mode")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkspaceConfig(AppConfig):
    name = "assina.workspace"
    label = "workspace"
    verbose_name = _("Customer workspace")

    def ready(self) -> None:
        # Health bands, churn risk and NPS categories in saved segments (campaigns use them too).
        from . import criteria

        criteria.register()

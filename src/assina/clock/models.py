from django.db import models
from django.utils.translation import gettext_lazy as _


class ClockState(models.Model):
    """The database's clock. Only sandbox databases may freeze and move it.

    One row (id=1). When ``frozen_at`` is empty the clock reads the system time.
    """

    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("test clock")
        verbose_name_plural = _("test clock")

    def __str__(self) -> str:
        return str(self.frozen_at or _("system time"))

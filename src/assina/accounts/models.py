"""Failed admin sign-ins, counted per user name and per client address in the database, so
every web process sees the same count (see ``assina.accounts.throttle``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginThrottle(models.Model):
    # "user:<name>" or "ip:<address>". Wall-clock times: a sign-in happens now, whatever a
    # sandbox's test clock says.
    key = models.CharField(_("key"), max_length=200, unique=True)
    failures = models.PositiveIntegerField(_("failed sign-ins"), default=0)
    last_failure_at = models.DateTimeField(_("last failure at"))
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in throttle")
        verbose_name_plural = _("sign-in throttles")

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"

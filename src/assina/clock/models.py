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


class Installation(models.Model):
    """What this database is: one row (id=1), written by ``assina migrate`` the first time.

    The mode belongs to the database, not to the environment: a process whose ``ASSINA_MODE``
    differs refuses to start or act (``assina.clock.installation``). A sandbox database becomes
    live only through ``assina mode set live``; a live one never goes back.
    """

    class Mode(models.TextChoices):
        SANDBOX = "sandbox", _("sandbox")
        LIVE = "live", _("live")

    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices)
    # Signs the links in a sandbox's messages: random per database, never a published key.
    # Empty in live mode, whose links are signed with ASSINA_SECRET_KEY.
    link_signing_key = models.CharField(_("link signing key"), max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), editable=False)
    switched_to_live_at = models.DateTimeField(_("switched to live at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("installation")
        verbose_name_plural = _("installation")

    def __str__(self) -> str:
        return str(self.get_mode_display())

"""The imports app's tables.

- ``ImportRun``: one ``assina import`` of a file that wrote something (customers, subscriptions or
  events): what it brought and when, so the owner can see where imported history came from.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        SUBSCRIPTIONS = "subscriptions", _("Subscriptions")
        EVENTS = "events", _("Engagement events")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    # SHA-256 of the file's text: the same file imported twice is recognisable.
    digest = models.CharField(_("digest"), max_length=64)
    rows = models.PositiveIntegerField(_("rows"))
    created = models.PositiveIntegerField(_("created"))
    unchanged = models.PositiveIntegerField(_("unchanged"))
    updated = models.PositiveIntegerField(_("updated"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.created})"

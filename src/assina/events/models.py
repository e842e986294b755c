"""The append-only log of everything that happened, written in the same transaction as the change.

Emails, webhooks and analytics read this table; nothing is sent from inside a request.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    # BigAutoField ids grow monotonically; consumers read events in id order.
    id = models.BigAutoField(_("id"), primary_key=True)
    type = models.CharField(_("type"), max_length=64, db_index=True)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    customer_id = models.BigIntegerField(_("customer id"), null=True, blank=True, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=32)
    subject_id = models.BigIntegerField(_("subject id"))
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="event_subject_idx")]

    def __str__(self) -> str:
        return f"#{self.id} {self.type}"

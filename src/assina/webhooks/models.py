"""Webhook endpoints, one delivery row per (endpoint, event), and every attempt's response.

The delivery rows are the queue: the worker sends what is due, records each attempt, and
schedules the next one. Nothing is held only in memory.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Event types sent to this endpoint: exact names ("invoice.paid") or prefixes ("invoice.*");
    # empty sends every event.
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    secret = models.CharField(_("signing secret"), max_length=100)
    # After a rotation the old secret keeps signing (next to the new one) until this time.
    previous_secret = models.CharField(_("previous secret"), max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(_("previous secret valid until"), null=True, blank=True)
    # Start of the current run of failed attempts (None once one succeeds).
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("disabled because"), max_length=200, blank=True)
    # The highest event id when it was created: it receives the events after it, not the history.
    starts_after_event_id = models.BigIntegerField(_("receives events after id"), default=0)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """An event to send to an endpoint. Per endpoint, deliveries are sent in id order (the order
    events were fanned out, which follows event ids): a delivery waits until every older one of
    its endpoint has succeeded or given up."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint"))
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+", verbose_name=_("event"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # Wall-clock time a worker took it (a crashed worker's claim expires).
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_response_status = models.PositiveIntegerField(_("last response status"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # 1, 2, 3... per endpoint in the order the deliveries succeeded: the order the receiver saw.
    delivered_sequence = models.PositiveIntegerField(_("delivered as number"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_unique")]
        indexes = [models.Index(fields=["endpoint", "status", "id"], name="webhook_delivery_queue_idx")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"

    @property
    def webhook_id(self) -> str:
        """The ``webhook-id`` header: the same on every retry and redelivery of this event."""
        return f"evt_{self.event_id}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("delivery"))
    attempted_at = models.DateTimeField(_("attempted at"))
    response_status = models.PositiveIntegerField(_("response status"), null=True, blank=True)
    response_body = models.TextField(_("response body (excerpt)"), blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    manual = models.BooleanField(_("manual redelivery"), default=False)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-id"]

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300


class FannedOutEvent(models.Model):
    """Marks an event whose deliveries were created (primary key = event id: at most once)."""

    event_id = models.BigIntegerField(_("event id"), primary_key=True)

    class Meta:
        verbose_name = _("fanned-out event")
        verbose_name_plural = _("fanned-out events")


class FanoutCheckpoint(models.Model):
    """The highest event id fanned out at a wall-clock time. The fan-out scan starts below the
    newest checkpoint older than the safety window, so its cost stays bounded while an event
    whose transaction committed late (lower id, later commit) is still found."""

    max_event_id = models.BigIntegerField(_("highest event id"))
    taken_at = models.DateTimeField(_("taken at"))

    class Meta:
        verbose_name = _("fan-out checkpoint")
        verbose_name_plural = _("fan-out checkpoints")
        ordering = ["-taken_at"]

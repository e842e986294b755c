"""Customer messages: the outbox, editable templates, marketing consent, segments and campaigns.

The outbox (``Message``) is the truth about mail: a row is written (rendered, with its status)
before anything is sent, and its unique ``key`` says which fact it tells the customer about
("payment failed: attempt 123"), so producing the same message twice is impossible.
"""

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

MESSAGE_LOCALES = [("en", _("English")), ("pt-BR", _("Brazilian Portuguese"))]


class Message(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", pgettext_lazy("message status", "Sent")
        FAILED = "failed", _("Failed (permanent)")
        INVALID = "invalid", _("Invalid recipient")
        SUPPRESSED = "suppressed", _("Suppressed (no consent)")
        SKIPPED = "skipped", _("Skipped")

    class Kind(models.TextChoices):
        TRANSACTIONAL = "transactional", _("Transactional")
        MARKETING = "marketing", _("Marketing")
        TEST = "test", _("Test")

    # What the message is about, e.g. "payment_failed:attempt:123": unique, so a fact is told once.
    key = models.CharField(_("key"), max_length=200, unique=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="messages", verbose_name=_("customer"))
    to_email = models.CharField(_("recipient"), max_length=254)
    template = models.CharField(_("template"), max_length=40, db_index=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    locale = models.CharField(_("locale"), max_length=8)
    subject = models.CharField(_("subject"), max_length=300)
    html = models.TextField(_("HTML"))
    text = models.TextField(_("text"))
    campaign = models.ForeignKey("Campaign", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="messages", verbose_name=_("campaign"))
    event_id = models.BigIntegerField(_("event"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When the message fell due (its Date header); and when to try (again) to send it.
    due_at = models.DateTimeField(_("due at"))
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # A worker's claim (wall-clock time, not the test clock): a crashed worker's claim expires.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    provider_response = models.CharField(_("provider response"), max_length=500, blank=True)
    # Stable across retries, so a receiver can drop a copy sent again after a crash.
    message_id = models.CharField(_("Message-ID"), max_length=200)
    unsubscribe_url = models.CharField(_("unsubscribe link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="message_due_idx"),
                   # Onboarding steps follow the welcome message by days (reminders.next_due).
                   models.Index(fields=["template", "due_at"], name="message_template_due_idx")]

    def __str__(self) -> str:
        return f"{self.template} → {self.to_email}"


class EventReceipt(models.Model):
    """One row per event the mail producer has handled (it made messages or decided none were
    needed). Event ids can commit out of order, so "processed" is a row, never an id cursor."""

    event_id = models.BigIntegerField(_("event"), primary_key=True)
    processed_at = models.DateTimeField(_("processed at"))

    class Meta:
        verbose_name = _("processed event")
        verbose_name_plural = _("processed events")


class ProducerState(models.Model):
    """Bookkeeping of the mail job (one row): how far the scan for unprocessed events may skip,
    and up to when time-driven reminders have been looked for."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # Events with id <= scan_floor are all handled; it only moves to an id that was already the
    # highest visible one ASSINA_EMAIL_CLAIM_SECONDS ago (no transaction stays open that long).
    scan_floor = models.BigIntegerField(default=0)
    floor_candidate = models.BigIntegerField(default=0)
    floor_candidate_seen = models.DateTimeField(null=True, blank=True)
    reminders_until = models.DateTimeField(null=True, blank=True)
    # The highest event id when reminders were last looked for: a later event about a
    # subscription may make a reminder due the same day (a short trial), so it calls for a pass.
    reminders_event_id = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("mail job state")
        verbose_name_plural = _("mail job state")


class MessageTemplate(models.Model):
    """A message's template in one language. Rows start as copies of the files shipped in
    ``notifications/templates/notifications/emails``; an edited row wins over the file."""

    key = models.CharField(_("message"), max_length=40)
    locale = models.CharField(_("locale"), max_length=8, choices=MESSAGE_LOCALES)
    subject = models.CharField(_("subject"), max_length=300)
    html = models.TextField(_("HTML body"), help_text=_("Django template syntax; the layout (logo, colours, footer) is added around it."))
    text = models.TextField(_("plain text body"), blank=True,
                            help_text=_("Leave empty to derive the plain text part from the HTML body."))
    is_default = models.BooleanField(_("as shipped"), default=True)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["key", "locale"]
        constraints = [models.UniqueConstraint(fields=["key", "locale"], name="message_template_unique_key_locale")]

    def __str__(self) -> str:
        return f"{self.key} ({self.locale})"


class MarketingConsent(models.Model):
    class Status(models.TextChoices):
        GRANTED = "granted", _("Granted")
        REVOKED = "revoked", _("Revoked (unsubscribed)")

    customer = models.OneToOneField("customers.Customer", primary_key=True, on_delete=models.CASCADE,
                                    related_name="marketing_consent", verbose_name=_("customer"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    source = models.CharField(_("source"), max_length=40, blank=True)
    campaign = models.ForeignKey("Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="unsubscribes",
                                 verbose_name=_("unsubscribed from campaign"))
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("marketing consent")
        verbose_name_plural = _("marketing consents")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.status}"


# The values a segment's health and NPS filters take (evaluated by the apps above, segments.py).
HEALTH_BANDS = ("healthy", "watch", "at_risk")
NPS_CATEGORIES = ("promoter", "passive", "detractor")


class Segment(models.Model):
    """A saved audience. Empty filters match everyone."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    plans = models.JSONField(_("plans"), default=list, blank=True, help_text=_("Plan codes of an active, trialing or past-due subscription."))
    statuses = models.JSONField(_("subscription statuses"), default=list, blank=True)
    countries = models.JSONField(_("countries"), default=list, blank=True)
    locales = models.JSONField(_("locales"), default=list, blank=True)
    min_tenure_days = models.PositiveIntegerField(_("customer for at least (days)"), null=True, blank=True)
    max_tenure_days = models.PositiveIntegerField(_("customer for at most (days)"), null=True, blank=True)
    min_mrr = models.BigIntegerField(_("MRR at least (minor units)"), null=True, blank=True)
    max_mrr = models.BigIntegerField(_("MRR at most (minor units)"), null=True, blank=True)
    active_within_days = models.PositiveIntegerField(_("last activity within (days)"), null=True, blank=True)
    inactive_for_days = models.PositiveIntegerField(_("no activity for (days)"), null=True, blank=True)
    # Evaluated by the apps above through ``segments.register_criterion`` (health and churn risk
    # from customer success, NPS from feedback): see ``segments.EXTENDED``.
    health_bands = models.JSONField(_("health bands"), default=list, blank=True,
                                    help_text=_("healthy, watch or at_risk (the latest health score's band)."))
    min_churn_risk = models.PositiveSmallIntegerField(_("churn risk at least (%)"), null=True, blank=True,
                                                      validators=[MaxValueValidator(100)])
    max_churn_risk = models.PositiveSmallIntegerField(_("churn risk at most (%)"), null=True, blank=True,
                                                      validators=[MaxValueValidator(100)])
    nps_categories = models.JSONField(_("NPS categories"), default=list, blank=True,
                                      help_text=_("promoter, passive or detractor (the customer's latest NPS answer)."))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = {}
        for field, allowed in (("health_bands", HEALTH_BANDS), ("nps_categories", NPS_CATEGORIES)):
            value = getattr(self, field)
            if not isinstance(value, list) or any(v not in allowed for v in value):
                errors[field] = _("a list of: %(allowed)s") % {"allowed": ", ".join(allowed)}
        if self.min_churn_risk is not None and self.max_churn_risk is not None and self.min_churn_risk > self.max_churn_risk:
            errors["max_churn_risk"] = _("the highest churn risk is below the lowest")
        if errors:
            raise ValidationError(errors)


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        QUEUED = "queued", _("Queued")

    name = models.CharField(_("name"), max_length=120)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("segment"))
    subject_en = models.CharField(_("subject (English)"), max_length=300)
    html_en = models.TextField(_("HTML body (English)"))
    text_en = models.TextField(_("plain text (English)"), blank=True)
    subject_pt_br = models.CharField(_("subject (Portuguese)"), max_length=300, blank=True)
    html_pt_br = models.TextField(_("HTML body (Portuguese)"), blank=True)
    text_pt_br = models.TextField(_("plain text (Portuguese)"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name

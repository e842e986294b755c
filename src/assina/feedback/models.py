"""Surveys, responses and the themes of their comments (issue 17).

- ``SurveySettings`` (one row): the triggers the owner sets and the throttle.
- ``SurveyRequest``: one survey sent to one customer (by e-mail or shown in the portal), with
  the random token its links carry. ``trigger_key`` is unique: a trigger fires once per fact
  ("signup:42", "renewal:7:2027-01-01", "support:TICKET-9").
- ``SurveyResponse``: one answer. A response to a request is unique per request (a second
  click changes its score); one brought in by the API or an import is unique by its
  ``idempotency_key`` (customer, survey, time, source), so sending it again changes nothing.
- ``Theme`` and ``ThemeAssignment``: the pain points and which comments raise them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Survey(models.TextChoices):
    NPS = "nps", _("NPS (0–10)")
    CSAT = "csat", _("CSAT (1–5)")
    NOTE = "note", _("Comment without a score")


class SurveySettings(models.Model):
    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # The mailing triggers start off: an installation (and its customers) get no survey until the
    # owner turns one on.
    after_signup = models.BooleanField(_("NPS after signup"), default=False)
    after_signup_days = models.PositiveIntegerField(_("days after signup"), default=30)
    before_renewal = models.BooleanField(_("NPS before an annual renewal"), default=False)
    before_renewal_days = models.PositiveIntegerField(_("days before the renewal"), default=30)
    after_support = models.BooleanField(_("CSAT after a support interaction"), default=True)
    on_cancellation = models.BooleanField(_("cancellation reasons count as feedback"), default=True)
    nps_throttle_days = models.PositiveIntegerField(_("at most one NPS survey per customer every (days)"), default=90)
    link_days = models.PositiveIntegerField(_("survey links work for (days)"), default=60)

    class Meta:
        verbose_name = _("survey settings")
        verbose_name_plural = _("survey settings")

    def __str__(self) -> str:
        return str(_("Survey settings"))


class Trigger(models.TextChoices):
    SIGNUP = "signup", _("After signup")
    RENEWAL = "renewal", _("Before an annual renewal")
    SUPPORT = "support", _("After a support interaction")
    MANUAL = "manual", _("Sent to a segment")


class SurveyRequest(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="survey_requests",
                                 verbose_name=_("customer"))
    survey = models.CharField(_("survey"), max_length=8, choices=Survey.choices)
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices)
    trigger_key = models.CharField(_("trigger key"), max_length=200, unique=True)
    token = models.CharField(_("token"), max_length=64, unique=True)
    sent_at = models.DateTimeField(_("sent at"), db_index=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("survey sent")
        verbose_name_plural = _("surveys sent")
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "survey", "sent_at"], name="feedback_request_throttle_idx")]

    def __str__(self) -> str:
        return f"{self.survey} → {self.customer_id}"


class SurveyResponse(models.Model):
    class Source(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PORTAL = "portal", _("Portal")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        CANCELLATION = "cancellation", _("Cancellation")
        SUPPORT = "support", _("Support note")

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="survey_responses",
                                 verbose_name=_("customer"))
    survey = models.CharField(_("survey"), max_length=8, choices=Survey.choices)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), db_index=True)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    language = models.CharField(_("language"), max_length=5, blank=True)
    request = models.OneToOneField(SurveyRequest, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="response", verbose_name=_("survey sent"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    # The themes are computed again when the comment changes (None: not yet).
    themed_at = models.DateTimeField(_("themes found at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    # Who answered, as they were when they answered (the report's breakdowns; see ScoreTally):
    # the plan of their newest subscription, country, locale and signup month (YYYYMM).
    plan_code = models.CharField(_("plan when answering"), max_length=64, blank=True)
    country = models.CharField(_("country when answering"), max_length=2, blank=True)
    locale = models.CharField(_("locale when answering"), max_length=10, blank=True)
    cohort = models.PositiveIntegerField(_("signup month"), default=0)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-submitted_at", "-id"]
        # Covering the report's two GROUP BYs (by month, by customer): index-only scans.
        indexes = [models.Index(fields=["submitted_at", "survey", "score", "customer"], name="feedback_response_report_idx")]

    def __str__(self) -> str:
        return f"{self.survey} {self.score} ({self.customer_id})"


class ScoreTally(models.Model):
    """How many scored responses have each (UTC month, plan, survey, score) overall
    (``dimension`` "all", ``value`` "") and per country, locale and cohort (``dimension`` one of
    those, ``value`` the customer's when they answered): the NPS report sums a few thousand rows
    instead of reading every response. One response counts once in each of the four dimensions.

    Kept in the same transaction as every response write (a score change moves one count from
    the old score to the new one); ``assina feedback tallies`` compares it with the responses and
    ``--rebuild`` recomputes it."""

    month = models.PositiveIntegerField(_("month (YYYYMM)"))
    plan_code = models.CharField(_("plan"), max_length=64, blank=True)
    dimension = models.CharField(_("breakdown"), max_length=8)
    value = models.CharField(_("value"), max_length=64, blank=True)
    survey = models.CharField(_("survey"), max_length=8, choices=Survey.choices)
    score = models.PositiveSmallIntegerField(_("score"))
    n = models.IntegerField(_("responses"), default=0)

    class Meta:
        verbose_name = _("score count")
        verbose_name_plural = _("score counts")
        constraints = [models.UniqueConstraint(fields=["month", "plan_code", "dimension", "value", "survey", "score"],
                                               name="feedback_tally_dimension_key")]


class SurveyOptOut(models.Model):
    customer = models.OneToOneField("customers.Customer", primary_key=True, on_delete=models.CASCADE,
                                    related_name="survey_opt_out", verbose_name=_("customer"))
    at = models.DateTimeField(_("opted out at"))

    class Meta:
        verbose_name = _("survey opt-out")
        verbose_name_plural = _("survey opt-outs")


class Theme(models.Model):
    class Kind(models.TextChoices):
        BASELINE = "baseline", _("Shipped with Assina")
        CUSTOM = "custom", _("Added by the owner")
        DISCOVERED = "discovered", _("Discovered in the comments")

    slug = models.SlugField(_("code"), max_length=60, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_pt_br = models.CharField(_("name (Portuguese)"), max_length=120, blank=True)
    keywords_en = models.JSONField(_("keywords (English)"), default=list, blank=True,
                                   help_text=_("Words or short phrases; a comment that uses one of them raises the theme."))
    keywords_pt_br = models.JSONField(_("keywords (Portuguese)"), default=list, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CUSTOM)
    assigned_to = models.CharField(_("assigned to"), max_length=120, blank=True)
    addressed_at = models.DateTimeField(_("addressed at"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("theme")
        verbose_name_plural = _("themes")
        ordering = ["kind", "slug"]

    def __str__(self) -> str:
        return self.name_en


class ThemeAssignment(models.Model):
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="theme_assignments",
                                 verbose_name=_("response"))
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("theme"))

    class Meta:
        verbose_name = _("theme of a comment")
        verbose_name_plural = _("themes of comments")
        constraints = [models.UniqueConstraint(fields=["response", "theme"], name="feedback_theme_once_per_response")]


class Digest(models.Model):
    """One week's digest of rising themes to the owner (kept even when nothing rose, so the
    week is done): at most one per week."""

    week_start = models.DateField(_("week starting"), unique=True)
    sent_at = models.DateTimeField(_("made at"))
    themes = models.PositiveIntegerField(_("rising themes"), default=0)

    class Meta:
        verbose_name = _("weekly digest")
        verbose_name_plural = _("weekly digests")

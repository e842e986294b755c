"""The success app's tables: health scores, their history, the owner's weights and the churn models.

- ``HealthSettings``: one row (id 1); the weight of each component and the bands' thresholds.
- ``HealthScore``: each customer's current score 0–100, band, reasons and churn probability
  (one row per customer, replaced at each computation). Playbooks and the workspace read it.
- ``HealthScoreDay``: the score's history, one row per customer and day on which the score or
  the band changed (the first computation writes one for everybody).
- ``ChurnModel``: a model trained on the business's history, its backtest against the tenure-only
  baseline, and whether it is in use (only when it beats the baseline).

Reasons and factors are stored as codes with their figures (``{"code": "usage_down", "pct": 60}``)
and put in words in the reader's language at display time (``assina.success.wording``).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Band(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    WATCH = "watch", _("Watch")
    AT_RISK = "at_risk", _("At risk")


class RiskSource(models.TextChoices):
    MODEL = "model", _("Churn model")
    RULES = "rules", _("Health rules")


class HealthSettings(models.Model):
    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # Weights are relative: each component's share is its weight over the sum of the weights.
    weight_usage_trend = models.PositiveSmallIntegerField(_("weight: usage trend (30 days against the 30 before)"), default=25)
    weight_recency = models.PositiveSmallIntegerField(_("weight: recency of activity"), default=20)
    weight_onboarding = models.PositiveSmallIntegerField(_("weight: onboarding completion"), default=10)
    weight_payments = models.PositiveSmallIntegerField(_("weight: payment health"), default=20)
    weight_feedback = models.PositiveSmallIntegerField(_("weight: NPS and CSAT"), default=10)
    weight_support = models.PositiveSmallIntegerField(_("weight: support load"), default=10)
    weight_tenure = models.PositiveSmallIntegerField(_("weight: tenure"), default=5)
    healthy_from = models.PositiveSmallIntegerField(_("healthy from (score)"), default=70)
    at_risk_below = models.PositiveSmallIntegerField(_("at risk below (score)"), default=40)
    # A customer is "at risk" on the list when their churn probability reaches this (model in use).
    risk_threshold = models.FloatField(_("churn probability counted as at risk"), default=0.25)
    retrain_days = models.PositiveSmallIntegerField(_("retrain the churn model every (days)"), default=7)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("health settings")
        verbose_name_plural = _("health settings")

    def __str__(self) -> str:
        return str(_("Health settings"))

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        weights = [getattr(self, f.name) for f in self._meta.fields if f.name.startswith("weight_")]
        if not any(w or 0 for w in weights):
            raise ValidationError(_("At least one weight must be above zero."))
        if not (self.at_risk_below or 0) <= (self.healthy_from or 0) <= 100:
            raise ValidationError(_("The at-risk threshold must not be above the healthy threshold, nor that above 100."))
        if not 0 < (self.risk_threshold or 0) < 1:
            raise ValidationError(_("The churn probability counted as at risk is between 0 and 1."))


class HealthScore(models.Model):
    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="health",
                                    verbose_name=_("customer"))
    score = models.PositiveSmallIntegerField(_("health score"))
    band = models.CharField(_("band"), max_length=8, choices=Band.choices)
    # Each component's value 0–1 (1 = healthy), by name: usage_trend, recency, onboarding, payments,
    # feedback, support, tenure.
    components = models.JSONField(_("components"), default=dict)
    # Codes with figures, worst first: [{"code": "usage_down", "pct": 60}, {"code": "payment_failed"}].
    reasons = models.JSONField(_("reasons"), default=list)
    # Probability of churning in the next 30 days (the model's when in use, else from the health rules).
    churn_probability = models.FloatField(_("churn probability (30 days)"), null=True, blank=True)
    churn_factors = models.JSONField(_("churn factors"), default=list)
    risk_source = models.CharField(_("risk from"), max_length=5, choices=RiskSource.choices, default=RiskSource.RULES)
    # Monthly recurring revenue of the customer's active subscriptions, minor units (what is at risk).
    mrr = models.BigIntegerField(_("MRR"), default=0)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("health score")
        verbose_name_plural = _("health scores")
        indexes = [
            models.Index(fields=["band", "score"], name="success_health_band_idx"),
            models.Index(fields=["churn_probability"], name="success_health_risk_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.score} ({self.band})"


class HealthScoreDay(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("customer"), db_index=False)
    day = models.DateField(_("day"))
    score = models.PositiveSmallIntegerField(_("health score"))
    band = models.CharField(_("band"), max_length=8, choices=Band.choices)
    churn_probability = models.FloatField(_("churn probability (30 days)"), null=True, blank=True)

    class Meta:
        verbose_name = _("health score history")
        verbose_name_plural = _("health score history")
        ordering = ["customer", "day"]
        constraints = [models.UniqueConstraint(fields=["customer", "day"], name="success_health_day_unique")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.day}: {self.score}"


class ChurnModel(models.Model):
    trained_at = models.DateTimeField(_("trained at"))
    # Logistic regression on standardised features: {"features": [...], "mean": [...], "scale": [...],
    # "coef": [...], "intercept": x} — scored with NumPy (assina.core.churn), no pickle.
    parameters = models.JSONField(_("parameters"), default=dict)
    # The backtest: windows, sample counts, ROC AUC, top-decile lift, calibration (model and baseline).
    backtest = models.JSONField(_("backtest"), default=dict)
    beats_baseline = models.BooleanField(_("beats the tenure-only baseline"), default=False)
    in_use = models.BooleanField(_("in use"), default=False)
    n_train = models.PositiveIntegerField(_("training samples"), default=0)
    n_test = models.PositiveIntegerField(_("test samples"), default=0)

    class Meta:
        verbose_name = _("churn model")
        verbose_name_plural = _("churn models")
        ordering = ["-trained_at", "-id"]

    def __str__(self) -> str:
        return f"{self.trained_at:%Y-%m-%d %H:%M}"


class BandTally(models.Model):
    """NPS/CSAT answers counted per month submitted, health band (as of the last scoring), the
    answer's plan, survey and score: the feedback report's breakdown by health band sums it instead
    of joining every response to the scores. Rebuilt after each scoring (``feedback_bands``)."""

    month = models.PositiveIntegerField(_("month"))  # YYYYMM, UTC
    band = models.CharField(_("band"), max_length=8)  # a Band, or "unscored"
    plan_code = models.CharField(_("plan when answering"), max_length=64, blank=True)
    survey = models.CharField(_("survey"), max_length=8)
    score = models.PositiveSmallIntegerField(_("score"))
    responses = models.PositiveIntegerField(_("responses"))

    class Meta:
        verbose_name = _("answers by health band")
        verbose_name_plural = _("answers by health band")
        constraints = [models.UniqueConstraint(fields=["month", "band", "plan_code", "survey", "score"],
                                               name="success_band_tally_unique")]

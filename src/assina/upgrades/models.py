"""The owner's offers (switch a monthly plan to annual with an incentive; plans that can be tried
for free) and the temporary upgrades customers started.

A temporary upgrade never touches billing: the subscription keeps its plan and its price while
the trial runs, and the trial's plan is the plan for access (``services.access_plan``, the
``upgrade.trial_*`` events and their webhooks). So a trial is never charged and a renewal that
falls inside it bills the plan the customer pays for, as always.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

TRIAL_LENGTHS = [(7, _("7 days")), (14, _("14 days"))]


class AnnualOffer(models.Model):
    """Switching from a monthly plan to an annual one, with an incentive on the first year."""

    class Incentive(models.TextChoices):
        PERCENT = "percent", _("A percentage off the first year")
        MONTHS_FREE = "months_free", _("Months free on the first year")

    monthly_plan = models.OneToOneField("catalog.Plan", on_delete=models.CASCADE, related_name="+", verbose_name=_("monthly plan"))
    annual_plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="+", verbose_name=_("annual plan"))
    incentive = models.CharField(_("incentive"), max_length=12, choices=Incentive.choices, default=Incentive.PERCENT)
    percent_off = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, null=True, blank=True,
                                      validators=[MinValueValidator(0), MaxValueValidator(100)],
                                      help_text=_("Typically 10 to 20. Taken off the first year's price."))
    months_free = models.PositiveSmallIntegerField(_("months free"), null=True, blank=True,
                                                   validators=[MinValueValidator(1), MaxValueValidator(11)],
                                                   help_text=_("N twelfths of the first year's price are taken off it."))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("annual billing offer")
        verbose_name_plural = _("annual billing offers")
        ordering = ["monthly_plan__code"]

    def __str__(self) -> str:
        return f"{self.monthly_plan.code} → {self.annual_plan.code}"


class TrialPlan(models.Model):
    """A higher plan customers of a cheaper plan (same currency and interval) may try for free."""

    plan = models.OneToOneField("catalog.Plan", on_delete=models.CASCADE, related_name="+", verbose_name=_("plan that can be tried"))
    days = models.PositiveSmallIntegerField(_("length"), choices=TRIAL_LENGTHS, default=14)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("plan that can be tried")
        verbose_name_plural = _("plans that can be tried")
        ordering = ["plan__code"]

    def __str__(self) -> str:
        return f"{self.plan.code} ({self.days})"


class TemporaryUpgrade(models.Model):
    """A customer's free trial of a higher plan. ``next_action_at`` is when the job must look at it
    again (the reminder, then the end); empty once confirmed or reverted."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("subscription"))
    from_plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="+", verbose_name=_("from plan"))
    to_plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="+", verbose_name=_("trial plan"))
    started_at = models.DateTimeField(_("started at"))
    ends_at = models.DateTimeField(_("ends at"))
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    reverted_at = models.DateTimeField(_("reverted at"), null=True, blank=True)
    next_action_at = models.DateTimeField(_("next action at"), null=True, blank=True)

    class Meta:
        verbose_name = _("temporary upgrade")
        verbose_name_plural = _("temporary upgrades")
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["customer", "to_plan"], name="one_temporary_upgrade_per_customer_and_plan")]
        indexes = [models.Index(fields=["next_action_at", "id"], name="temporary_upgrade_due_idx")]

    def __str__(self) -> str:
        return f"{self.from_plan.code} → {self.to_plan.code}"

    @property
    def running(self) -> bool:
        return self.confirmed_at is None and self.reverted_at is None

"""Price migrations: a plan's new price announced to its existing subscribers with a choice.

A ``PriceMigration`` names the plan, its new version (the new price), who is in it, the date
from which the new price applies (at least 30 days after the notice) and the options offered.
Each subscription in it is a ``PriceMigrationMember``: notified once, reminded 7 days before its
change lands, and armed (its choice, or the owner's default, scheduled through the
subscriptions app) once its current period is the one that ends at its first renewal on or
after the effective date (``target_at``). Billing then applies the scheduled change at that
renewal and bills the new period; the member's outcome is read back after it (``landed_at``).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Choice(models.TextChoices):
    ACCEPT = "accept", _("Keep the plan at the new price")
    SWITCH = "switch", _("Switch to the cheaper plan")
    ANNUAL = "annual", _("Keep the old price with annual billing")


class PriceMigration(models.Model):
    class Audience(models.TextChoices):
        ALL = "all", _("All subscribers of the plan")
        SEGMENT = "segment", _("A saved segment")
        BEFORE = "before", _("Those who subscribed before a date")

    class Status(models.TextChoices):
        NOTIFIED = "notified", _("Notified")
        DONE = "done", _("Done")

    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="+", verbose_name=_("plan"))
    new_version = models.ForeignKey("catalog.PlanVersion", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("new price"))
    audience = models.CharField(_("who"), max_length=8, choices=Audience.choices, default=Audience.ALL)
    segment = models.ForeignKey("notifications.Segment", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("segment"))
    subscribed_before = models.DateTimeField(_("subscribed before"), null=True, blank=True)
    effective_at = models.DateTimeField(_("effective from"))
    loyalty_percent = models.DecimalField(_("loyalty discount (%)"), max_digits=5, decimal_places=2, null=True, blank=True,
                                          validators=[MinValueValidator(0), MaxValueValidator(100)])
    loyalty_periods = models.PositiveSmallIntegerField(_("loyalty discount periods"), null=True, blank=True)
    loyalty_coupon = models.CharField(_("loyalty coupon"), max_length=64, blank=True)
    switch_plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("cheaper plan offered"))
    annual_plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("annual plan offered"))
    annual_version = models.ForeignKey("catalog.PlanVersion", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("annual price kept"))
    default_choice = models.CharField(_("default when no answer"), max_length=8, choices=Choice.choices,
                                      default=Choice.ACCEPT)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NOTIFIED)
    members_count = models.PositiveIntegerField(_("subscriptions"), default=0)
    created_at = models.DateTimeField(_("created at"))
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("price migration")
        verbose_name_plural = _("price migrations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"pm_{self.pk} {self.plan.code} v{self.new_version.version}"

    def offers(self) -> list[str]:
        return [Choice.ACCEPT.value] + ([Choice.SWITCH.value] if self.switch_plan_id else []) + \
            ([Choice.ANNUAL.value] if self.annual_version_id else [])


class PriceMigrationMember(models.Model):
    """One subscription in a migration. ``next_action_at``: when the job must look at it again
    (the reminder, arming its choice, reading the outcome after its renewal); empty when done."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted the new price")
        SWITCHED = "switched", _("Switched to the cheaper plan")
        ANNUAL = "annual", _("Switched to annual at the old price")
        CANCELLED = "cancelled", _("Cancelled")
        OTHER = "other", _("Changed otherwise")

    migration = models.ForeignKey(PriceMigration, on_delete=models.CASCADE, related_name="members", verbose_name=_("migration"))
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("subscription"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    old_version = models.ForeignKey("catalog.PlanVersion", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("price before"))
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    currency = models.CharField(_("currency"), max_length=3)
    mrr_before = models.BigIntegerField(_("MRR before"), default=0)
    target_at = models.DateTimeField(_("changes at"))
    remind_at = models.DateTimeField(_("reminder at"), null=True, blank=True)
    arm_at = models.DateTimeField(_("scheduled at"))
    choice = models.CharField(_("choice"), max_length=8, choices=Choice.choices, blank=True)
    chosen_at = models.DateTimeField(_("chosen at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    armed_choice = models.CharField(_("scheduled choice"), max_length=8, choices=Choice.choices, blank=True)
    armed_at = models.DateTimeField(_("scheduled on"), null=True, blank=True)
    loyalty_applied = models.BooleanField(_("loyalty discount applied"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    mrr_after = models.BigIntegerField(_("MRR after"), null=True, blank=True)
    landed_at = models.DateTimeField(_("landed at"), null=True, blank=True)
    next_action_at = models.DateTimeField(_("next action at"), null=True, blank=True)

    class Meta:
        verbose_name = _("price migration subscription")
        verbose_name_plural = _("price migration subscriptions")
        ordering = ["migration", "id"]
        constraints = [models.UniqueConstraint(fields=["migration", "subscription"], name="price_migration_member_unique")]
        indexes = [models.Index(fields=["next_action_at", "id"], name="price_migration_due_idx"),
                   models.Index(fields=["subscription", "landed_at"], name="price_migration_sub_idx"),
                   models.Index(fields=["customer", "landed_at"], name="price_migration_customer_idx")]

    def __str__(self) -> str:
        return f"pm_{self.migration_id} sub_{self.subscription_id}"

    @property
    def effective_choice(self) -> str:
        return self.choice or self.migration.default_choice

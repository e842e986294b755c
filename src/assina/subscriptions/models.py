"""Subscriptions, their priced items and their scheduled changes.

The row is the truth about future work: ``next_action_at`` says when the worker (or the test
clock) must look at it again — a renewal, a trial end, a scheduled change, a period-end
cancellation or a resume. No queue holds work that the table does not.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from assina.catalog.models import INTERVALS
from assina.core.states import SubscriptionStatus

STATUSES = [
    (SubscriptionStatus.INCOMPLETE.value, _("Incomplete")),
    (SubscriptionStatus.TRIALING.value, _("Trialing")),
    (SubscriptionStatus.ACTIVE.value, _("Active")),
    (SubscriptionStatus.PAST_DUE.value, _("Past due")),
    (SubscriptionStatus.UNPAID.value, _("Unpaid")),
    (SubscriptionStatus.PAUSED.value, _("Paused")),
    (SubscriptionStatus.CANCELED.value, _("Canceled")),
]


class Subscription(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("customer"))
    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan"))
    status = models.CharField(_("status"), max_length=12, choices=STATUSES, db_index=True)
    currency = models.CharField(_("currency"), max_length=3)
    interval = models.CharField(_("interval"), max_length=8, choices=INTERVALS)
    interval_count = models.PositiveSmallIntegerField(_("interval count"), default=1)
    # Periods are computed from this anchor (Jan 31 -> Feb 28 -> Mar 31), never by adding a month.
    billing_anchor = models.DateTimeField(_("billing anchor"))
    # The first moment that is billed under the current anchor (start, trial end or resume).
    billing_starts_at = models.DateTimeField(_("billing starts at"))
    started_at = models.DateTimeField(_("started at"))
    trial_end = models.DateTimeField(_("trial end"), null=True, blank=True)
    current_period_start = models.DateTimeField(_("current period start"))
    current_period_end = models.DateTimeField(_("current period end"))
    cancel_at_period_end = models.BooleanField(_("cancel at period end"), default=False)
    canceled_at = models.DateTimeField(_("canceled at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=200, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    resumes_at = models.DateTimeField(_("resumes at"), null=True, blank=True)
    coupon = models.ForeignKey("catalog.Coupon", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("coupon"))
    discount_applies_from = models.DateTimeField(_("discount from"), null=True, blank=True)
    discount_applies_until = models.DateTimeField(_("discount until"), null=True, blank=True)
    payment_method = models.ForeignKey("payments.PaymentMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("payment method"))
    next_action_at = models.DateTimeField(_("next action at"), null=True, blank=True)
    # Held for the operator (bounded catch-up, ``catch_up.py``): more periods were due at once
    # than one pass may bill. Nothing is billed while set (its next action time is empty);
    # ``release`` bills the missed periods or skips them.
    catch_up_held_at = models.DateTimeField(_("held for catch-up since"), null=True, blank=True)
    # While past due: access is kept until this time (the dunning grace period).
    grace_until = models.DateTimeField(_("access kept until"), null=True, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    # Brought in by ``assina import subscriptions``: history that is never billed or charged (its
    # next action time stays empty) but counts in analytics, cohorts, health and the churn model.
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["id"]
        indexes = [models.Index(fields=["next_action_at", "id"], name="subscription_due_idx")]

    def __str__(self) -> str:
        return f"sub_{self.pk}"


class SubscriptionItem(models.Model):
    """One priced line of a subscription: the plan itself or an add-on, at a fixed plan version."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items", verbose_name=_("subscription"))
    plan_version = models.ForeignKey("catalog.PlanVersion", on_delete=models.PROTECT, related_name="+", verbose_name=_("plan version"))
    quantity = models.PositiveIntegerField(_("quantity"), default=1)

    class Meta:
        verbose_name = _("subscription item")
        verbose_name_plural = _("subscription items")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.plan_version} x{self.quantity}"


class ScheduledChange(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPLIED = "applied", _("Applied")
        CANCELED = "canceled", _("Canceled")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="scheduled_changes", verbose_name=_("subscription"))
    effective_at = models.DateTimeField(_("effective at"))
    # {"plan": "pro", "quantity": 3}
    change = models.JSONField(_("change"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("created at"))
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("scheduled change")
        verbose_name_plural = _("scheduled changes")
        ordering = ["effective_at", "id"]


class SkippedDelivery(models.Model):
    """A delivery the customer skipped: that period of a plan that ships goods is not billed
    (its invoice has one line at 0) and nothing ships; the period still advances. At most the
    plan's ``max_skips_per_year`` per calendar year of the period's start."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="skipped_deliveries", verbose_name=_("subscription"))
    period_start = models.DateTimeField(_("period start"))
    period_end = models.DateTimeField(_("period end"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("skipped delivery")
        verbose_name_plural = _("skipped deliveries")
        ordering = ["period_start", "id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "period_start"], name="skipped_delivery_unique")]

    def __str__(self) -> str:
        return f"sub_{self.subscription_id} @ {self.period_start:%Y-%m-%d}"

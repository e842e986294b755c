"""The playbooks app's tables.

- ``Playbook``: when a trigger fires for a customer (health below X, churn risk above Y, no
  activity for N days, a detractor response, a failed payment, an onboarding milestone missed by
  day N), run its actions (an e-mail, a coupon, a task for the owner, a webhook), at most once per
  customer per ``period_days``.
- ``PlaybookRun``: one firing for one customer, what triggered it and what each action did; on
  the customer's timeline through its ``playbook.run`` event.
- ``PlaybookOffer``: the coupon a run offers the customer on their portal home, until they accept
  it (then it is applied to their subscription from its next invoice), decline it, or it expires.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Trigger(models.TextChoices):
    HEALTH_BELOW = "health_below", _("Health score falls below X")
    RISK_ABOVE = "risk_above", _("Churn risk rises above Y %")
    INACTIVE = "inactive", _("No activity for N days")
    DETRACTOR = "detractor", _("A detractor response (NPS 0-6)")
    PAYMENT_FAILED = "payment_failed", _("A failed payment")
    MILESTONE_MISSED = "milestone_missed", _("An onboarding milestone missed by day N")


class Playbook(models.Model):
    name = models.CharField(_("name"), max_length=120)
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    threshold = models.FloatField(
        _("threshold"), null=True, blank=True,
        help_text=_("Health below: a score 0-100. Risk above: a percentage 0-100. No activity, milestone missed: days."))
    milestone = models.ForeignKey("engagement.OnboardingMilestone", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("onboarding milestone"))
    period_days = models.PositiveSmallIntegerField(_("at most once per customer every (days)"), default=30)
    email_campaign = models.ForeignKey(
        "notifications.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("e-mail to send"), help_text=_("A campaign used as the e-mail's template (subject and text in both languages)."))
    coupon = models.ForeignKey("catalog.Coupon", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("coupon to offer in the portal"),
                               help_text=_("Shown on the customer's portal home with an Accept button; once accepted, "
                                           "it applies to their subscription from its next invoice."))
    offer_days = models.PositiveSmallIntegerField(_("the offer is valid for (days)"), default=14,
                                                  help_text=_("After that the offer disappears from the portal."))
    task_title = models.CharField(_("task for the owner"), max_length=200, blank=True)
    task_due_days = models.PositiveSmallIntegerField(_("task due in (days)"), default=3)
    call_webhook = models.BooleanField(_("call the webhooks"), default=False,
                                       help_text=_("Endpoints subscribed to playbook.webhook receive the customer and the trigger."))
    active = models.BooleanField(_("active"), default=True)
    # Outcomes are compared with customers who met the trigger before this moment.
    created_at = models.DateTimeField(_("created at"))
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        limits = {Trigger.HEALTH_BELOW: (0, 100), Trigger.RISK_ABOVE: (0, 100), Trigger.INACTIVE: (1, 3650),
                  Trigger.MILESTONE_MISSED: (0, 3650)}
        if self.trigger in limits:
            low, high = limits[self.trigger]
            if self.threshold is None and not (self.trigger == Trigger.MILESTONE_MISSED and self.milestone_id):
                raise ValidationError({"threshold": _("this trigger needs a threshold")})
            if self.threshold is not None and not low <= self.threshold <= high:
                raise ValidationError({"threshold": _("between %(low)d and %(high)d for this trigger") % {"low": low, "high": high}})
        if self.trigger == Trigger.MILESTONE_MISSED and not self.milestone_id:
            raise ValidationError({"milestone": _("choose the onboarding milestone")})
        if not (self.email_campaign_id or self.coupon_id or self.task_title.strip() or self.call_webhook):
            raise ValidationError(_("choose at least one action: an e-mail, a coupon, a task or the webhooks"))
        if self.period_days < 1:
            raise ValidationError({"period_days": _("at least one day")})
        if self.coupon_id and self.offer_days < 1:
            raise ValidationError({"offer_days": _("at least one day")})


class PlaybookRun(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="runs", verbose_name=_("playbook"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"))
    fired_at = models.DateTimeField(_("fired at"))
    # What met the trigger: {"score": 35}, {"probability": 0.41}, {"last_activity": "..."}...
    reason = models.JSONField(_("reason"), default=dict)
    # [{"action": "task", "outcome": "done", "detail": "..."}]
    actions = models.JSONField(_("actions"), default=list)

    class Meta:
        verbose_name = _("playbook run")
        verbose_name_plural = _("playbook runs")
        ordering = ["-fired_at", "-id"]
        indexes = [models.Index(fields=["playbook", "customer", "fired_at"], name="playbook_run_customer_idx")]

    def __str__(self) -> str:
        return f"{self.playbook} → cus_{self.customer_id}"


class PlaybookOffer(models.Model):
    """A coupon offered to a customer by a playbook's run, on their portal home. Open while
    neither accepted nor declined and before ``expires_at``, and while its subscription runs."""

    run = models.OneToOneField(PlaybookRun, on_delete=models.PROTECT, related_name="offer", verbose_name=_("playbook run"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"))
    # The subscription the coupon goes on when accepted (the customer's running one at the offer).
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("subscription"))
    coupon = models.ForeignKey("catalog.Coupon", on_delete=models.PROTECT, related_name="+", verbose_name=_("coupon"))
    created_at = models.DateTimeField(_("offered at"))
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined at"), null=True, blank=True)

    class Meta:
        verbose_name = _("playbook offer")
        verbose_name_plural = _("playbook offers")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "expires_at"], name="playbook_offer_customer_idx")]

    def __str__(self) -> str:
        return f"{self.coupon_id} → cus_{self.customer_id}"

    def state(self, at) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.declined_at is not None:
            return "declined"
        return "expired" if self.expires_at <= at else "open"

"""The cancel flow's records and the owner's rules for it (issue 16).

- ``CancelReason``: the owner's wording, order and visibility of each reason of Stripe's
  taxonomy (one row per code, made on first use with the defaults).
- ``CancelOffer``: the offer shown for a reason, per variant ("a", and optionally "b" for an
  A/B test). One row per (reason, variant).
- ``RetentionSettings``: one row: shuffle the reasons, and how many offers one customer may
  accept in a window of days.
- ``CancelSession``: one customer's pass through the flow for one subscription, step by step,
  with its outcome; the retention analytics read it (``saved`` = an offer was accepted, and
  the 30-day check fills ``save_checked_at`` / ``still_paying_at_30_days``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# Stripe's cancellation reasons (its customer portal's taxonomy), in its order.
REASONS = (
    ("too_expensive", _("It's too expensive")),
    ("missing_features", _("Some features are missing")),
    ("switched_service", _("I'm switching to another service")),
    ("unused", _("I don't use it enough")),
    ("customer_service", _("Customer service was less than expected")),
    ("too_complex", _("Ease of use was less than expected")),
    ("low_quality", _("Quality was less than expected")),
    ("other", _("Other reason")),
)
REASON_CODES = tuple(code for code, _label in REASONS)


class OfferKind(models.TextChoices):
    PAUSE = "pause", _("Pause")
    PLAN_CHANGE = "plan_change", _("Cheaper plan")
    DISCOUNT = "discount", _("Discount")
    FEEDBACK = "feedback", _("Tell us more (feedback)")
    NONE = "none", _("No offer")


class CancelReason(models.Model):
    code = models.CharField(_("reason"), max_length=32, choices=REASONS, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0,
                                                help_text=_("Reasons are listed by position, lowest first."))
    hidden = models.BooleanField(_("hidden"), default=False, help_text=_("A hidden reason is not offered to customers."))
    # Blank: the reason's own wording, translated.
    label_en = models.CharField(_("label (English)"), max_length=120, blank=True,
                                help_text=_("Leave empty to use the standard wording."))
    label_pt_br = models.CharField(_("label (Brazilian Portuguese)"), max_length=120, blank=True,
                                   help_text=_("Leave empty to use the standard wording."))

    class Meta:
        verbose_name = _("cancellation reason")
        verbose_name_plural = _("cancellation reasons")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return str(dict(REASONS).get(self.code, self.code))


class CancelOffer(models.Model):
    class Variant(models.TextChoices):
        A = "a", _("Variant A")
        B = "b", _("Variant B")

    reason = models.CharField(_("reason"), max_length=32, choices=REASONS)
    variant = models.CharField(_("variant"), max_length=1, choices=Variant.choices, default=Variant.A,
                               help_text=_("Give a reason a second offer (variant B) to test which keeps more customers: "
                                           "each customer sees one of them, always the same."))
    active = models.BooleanField(_("active"), default=True)
    kind = models.CharField(_("offer"), max_length=12, choices=OfferKind.choices)
    # pause: how many billing periods (1 to 3).
    pause_periods = models.PositiveSmallIntegerField(_("pause length (periods)"), null=True, blank=True)
    # plan_change: a plan's code; blank = the next cheaper plan in the same currency and interval.
    plan_code = models.CharField(_("cheaper plan"), max_length=64, blank=True,
                                 help_text=_("A plan's code; empty: the next cheaper plan in the same currency and interval."))
    # discount (and feedback's optional discount): percent off for a number of periods (none: forever).
    percent_off = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, null=True, blank=True)
    discount_periods = models.PositiveSmallIntegerField(_("discount length (periods)"), null=True, blank=True,
                                                        help_text=_("Empty: forever."))

    class Meta:
        verbose_name = _("cancellation offer")
        verbose_name_plural = _("cancellation offers")
        ordering = ["reason", "variant"]
        constraints = [models.UniqueConstraint(fields=["reason", "variant"], name="retention_offer_reason_variant")]

    def __str__(self) -> str:
        return f"{dict(REASONS).get(self.reason, self.reason)} · {self.get_variant_display()}: {self.get_kind_display()}"

    def clean(self) -> None:
        """The terms each kind needs, within bounds (the admin shows these on the form)."""
        from django.core.exceptions import ValidationError

        from assina.catalog.models import Plan

        errors = {}
        if self.kind == OfferKind.PAUSE and not (self.pause_periods and 1 <= self.pause_periods <= 3):
            errors["pause_periods"] = _("A pause lasts 1, 2 or 3 periods.")
        if self.kind == OfferKind.DISCOUNT and self.percent_off is None:
            errors["percent_off"] = _("A discount needs its percentage off.")
        if self.percent_off is not None and not (0 < self.percent_off <= 100):
            errors["percent_off"] = _("The percentage off must be more than 0 and at most 100.")
        if self.discount_periods is not None and not 1 <= self.discount_periods <= 120:
            errors["discount_periods"] = _("A discount lasts from 1 to 120 periods (empty: forever).")
        if self.kind == OfferKind.PLAN_CHANGE and self.plan_code and not Plan.objects.filter(
                code=self.plan_code, kind=Plan.Kind.BASE, active=True).exists():
            errors["plan_code"] = _("No active plan has this code.")
        if errors:
            raise ValidationError(errors)


class RetentionSettings(models.Model):
    """One row (pk 1), made on first use."""

    shuffle_reasons = models.BooleanField(_("shuffle the reasons"), default=False,
                                          help_text=_("Show the reasons in a random order (the same order throughout one "
                                                      "visit), so that the first ones are not picked for being first."))
    offer_limit = models.PositiveSmallIntegerField(_("offers a customer may accept"), default=1,
                                                   help_text=_("Within the window below; past it the cancel flow shows no "
                                                               "offer. 0: never show an offer."))
    offer_window_days = models.PositiveSmallIntegerField(_("window (days)"), default=365)

    class Meta:
        verbose_name = _("cancel flow settings")
        verbose_name_plural = _("cancel flow settings")

    def __str__(self) -> str:
        return str(_("Cancel flow settings"))


class CancelSession(models.Model):
    class Outcome(models.TextChoices):
        OPEN = "open", _("In progress")
        CANCELED = "canceled", _("Canceled")
        SAVED = "saved", _("Saved (accepted an offer)")
        ABANDONED = "abandoned", _("Abandoned")

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("subscription"))
    portal_session = models.ForeignKey("portal.PortalSession", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", verbose_name=_("portal session"))
    started_at = models.DateTimeField(_("started at"))
    updated_at = models.DateTimeField(_("last step at"))
    reason = models.CharField(_("reason"), max_length=32, choices=REASONS, blank=True)
    reason_text = models.TextField(_("in their words"), blank=True)
    # The reason codes in the order the customer saw them (position bias can be studied).
    reason_order = models.JSONField(_("reasons shown, in order"), default=list, blank=True)
    variant = models.CharField(_("variant"), max_length=1, blank=True, choices=CancelOffer.Variant.choices)
    offer = models.ForeignKey(CancelOffer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("offer rule"))
    offer_kind = models.CharField(_("offer"), max_length=12, choices=OfferKind.choices, blank=True)
    # What was offered, as it was offered (the rule may change later), e.g.
    # {"percent_off": "20", "periods": 3}, {"periods": 1, "resumes_at": "..."}, {"plan": "basic"}.
    offer_terms = models.JSONField(_("offer terms"), default=dict, blank=True)
    offer_shown_at = models.DateTimeField(_("offer shown at"), null=True, blank=True)
    offer_accepted_at = models.DateTimeField(_("offer accepted at"), null=True, blank=True)
    offer_declined_at = models.DateTimeField(_("offer declined at"), null=True, blank=True)
    feedback_text = models.TextField(_("feedback"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN, db_index=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # The subscription's monthly recurring revenue when the flow started (minor units).
    mrr = models.BigIntegerField(_("MRR at start"), default=0)
    currency = models.CharField(_("currency"), max_length=3)
    # The 30-day validation of a save (the retention analytics' job fills these).
    save_checked_at = models.DateTimeField(_("save checked at"), null=True, blank=True)
    still_paying_at_30_days = models.BooleanField(_("still paying 30 days later"), null=True, blank=True)

    class Meta:
        verbose_name = _("cancel session")
        verbose_name_plural = _("cancel sessions")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["outcome", "updated_at"], name="retention_session_idle_idx"),
            models.Index(fields=["customer", "offer_accepted_at"], name="retention_session_offers_idx"),
        ]

    def __str__(self) -> str:
        return f"cancel session {self.pk}"

"""Usage events sent by the business's application, and what each closed period billed of them.

Events are written in bulk (no model instances on the hot path); the unique constraint
(customer, event_id) is what makes re-sending a batch harmless.

An event is billed once: the billing run marks it with the subscription and period that billed
it (``billed_subscription_id``, ``billed_period_start``) in the same transaction as the invoice.
An event that arrives after its period was billed is still unmarked at the next billing of the
customer's subscription: it is then billed as late usage (``late``) and reported (``usage.late``).
No cursor of "last event seen" is involved, so events committed out of order are never skipped.

On SQLite a batch stores its events as ``pending``: outside the window index, which gets them in
bulk a few batches later or when billing starts (``assina.usage.settle``).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class UsageEvent(models.Model):
    id = models.BigAutoField(_("id"), primary_key=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"), db_index=False)
    metric_code = models.CharField(_("metric"), max_length=64)
    # The sender's id of the event: re-sending the same id for the same customer stores nothing.
    event_id = models.CharField(_("event id"), max_length=128)
    value = models.BigIntegerField(_("value"), default=1)
    timestamp = models.DateTimeField(_("timestamp"))
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    received_at = models.DateTimeField(_("received at"))
    billed_subscription_id = models.BigIntegerField(_("billed by subscription"), null=True, blank=True)
    billed_period_start = models.DateTimeField(_("billed with the period starting"), null=True, blank=True)
    late = models.BooleanField(_("late"), default=False,
                               help_text=_("Arrived after its period was billed: billed on a later invoice."))
    # Stored by a batch on SQLite and not yet in the window index: see ``assina.usage.settle``.
    pending = models.BooleanField(_("pending"), default=False, db_default=False,
                                  help_text=_("Not yet in the index by customer: written there in bulk a few batches later."))

    class Meta:
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        ordering = ["-id"]
        # The sender's id first: senders mostly number their events in order (a counter, a ULID, a
        # time-ordered UUID), so a batch's entries land on a few neighbouring index pages instead
        # of one page per customer (each page written to the WAL at every commit). Lookups by
        # customer use the window index below.
        constraints = [models.UniqueConstraint(fields=["event_id", "customer"], name="usage_event_unique_id")]
        indexes = [
            # Marking a closing period's events: customer + metric + time range. Pending events
            # (recent batches on SQLite) are not in it yet: they are found by the index below.
            models.Index(fields=["customer", "metric_code", "timestamp"], name="usage_event_window_idx",
                         condition=models.Q(pending=False)),
            models.Index(fields=["id"], name="usage_event_pending_idx", condition=models.Q(pending=True)),
            # Aggregating what a period billed; unbilled rows (all new ones) stay out of it.
            models.Index(fields=["billed_subscription_id", "billed_period_start"], name="usage_event_billed_idx",
                         condition=models.Q(billed_subscription_id__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.metric_code} {self.value} @ {self.timestamp:%Y-%m-%d %H:%M:%S}"


class UsageCharge(models.Model):
    """What one period of a subscription billed for one metric (the quantity and its amount).

    Late usage for that period adds to it (``late_amount``), so a later late event is priced on
    the period's whole quantity (graduated tiers, maximum, distinct counts stay right).
    """

    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("subscription"))
    metric_code = models.CharField(_("metric"), max_length=64)
    period_start = models.DateTimeField(_("period start"))
    period_end = models.DateTimeField(_("period end"))
    quantity = models.BigIntegerField(_("quantity"))
    amount = models.BigIntegerField(_("amount"))
    late_quantity = models.BigIntegerField(_("late quantity"), default=0)
    late_amount = models.BigIntegerField(_("late amount"), default=0)
    currency = models.CharField(_("currency"), max_length=3)
    # Usage during a free trial is counted but not charged (late usage for it neither).
    free = models.BooleanField(_("free (trial)"), default=False)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("usage charge")
        verbose_name_plural = _("usage charges")
        ordering = ["-period_start", "subscription_id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "metric_code", "period_start"], name="usage_charge_unique_period")]

    def __str__(self) -> str:
        return f"sub_{self.subscription_id} {self.metric_code} {self.period_start:%Y-%m-%d}"

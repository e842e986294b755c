from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentMethod(models.Model):
    """A card kept at the gateway. Only its token and what a receipt shows are stored here."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="payment_methods", verbose_name=_("customer"))
    gateway = models.CharField(_("gateway"), max_length=32)
    token = models.CharField(_("token"), max_length=128, unique=True)
    brand = models.CharField(_("brand"), max_length=32)
    last4 = models.CharField(_("last 4 digits"), max_length=4)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"))
    exp_year = models.PositiveSmallIntegerField(_("expiry year"))
    created_at = models.DateTimeField(_("created at"))
    detached_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    # The expiry month the customer was last told about (payment_method.expiring is sent once per card).
    expiring_notified_at = models.DateTimeField(_("expiry notice sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4} ({self.exp_month:02d}/{self.exp_year})"


class PaymentAttempt(models.Model):
    """One try to collect an invoice. Written BEFORE the gateway is called, with a deterministic
    idempotency key (invoice + attempt number), so a crash between the call and its result is
    reconciled through the gateway by that key instead of charging again."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.PROTECT, related_name="attempts", verbose_name=_("invoice"))
    number = models.PositiveIntegerField(_("attempt number"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    payment_method = models.ForeignKey(PaymentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="attempts", verbose_name=_("payment method"))
    gateway = models.CharField(_("gateway"), max_length=32)
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    decline_code = models.CharField(_("decline code"), max_length=48, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    gateway_charge_id = models.CharField(_("gateway charge id"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("created at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # What dunning decided after this attempt failed: the next retry, or nothing (a hard decline
    # waits for a new card; the last retry leads to the final action).
    next_retry_at = models.DateTimeField(_("next retry at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["invoice", "number"], name="payment_attempt_unique_number")]

    def __str__(self) -> str:
        return self.idempotency_key


class SandboxCard(models.Model):
    """The sandbox gateway's own record of an attached test card (it plays the remote provider)."""

    token = models.CharField(_("token"), max_length=128, unique=True)
    behaviour = models.CharField(_("behaviour"), max_length=32)
    brand = models.CharField(_("brand"), max_length=32)
    last4 = models.CharField(_("last 4 digits"), max_length=4)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"))
    exp_year = models.PositiveSmallIntegerField(_("expiry year"))
    # Scheduled changes of behaviour: [[ISO time, decline code or "" to succeed], ...]; the
    # last entry at or before a charge's time decides it (a card that runs dry, then is topped up).
    schedule = models.JSONField(_("schedule"), default=list, blank=True)
    detached = models.BooleanField(_("detached"), default=False)

    class Meta:
        verbose_name = _("sandbox card")
        verbose_name_plural = _("sandbox cards")


class SandboxCharge(models.Model):
    """The sandbox gateway's ledger, keyed by idempotency key like a real provider's."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    charge_id = models.CharField(_("charge id"), max_length=64, unique=True)
    token = models.CharField(_("token"), max_length=128)
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    succeeded = models.BooleanField(_("succeeded"))
    decline_code = models.CharField(_("decline code"), max_length=48, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("sandbox charge")
        verbose_name_plural = _("sandbox charges")


class SandboxRefund(models.Model):
    """The sandbox gateway's refunds, keyed by idempotency key."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    refund_id = models.CharField(_("refund id"), max_length=64, unique=True)
    charge_id = models.CharField(_("charge id"), max_length=64, db_index=True)
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("sandbox refund")
        verbose_name_plural = _("sandbox refunds")


class Refund(models.Model):
    """Money given back to the card of a successful attempt. Written pending before the gateway
    is called (deterministic key: invoice + refund number), like attempts; a credit note
    documents it once the gateway confirms."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.PROTECT, related_name="refunds", verbose_name=_("invoice"))
    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment"))
    number = models.PositiveIntegerField(_("refund number"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    gateway_refund_id = models.CharField(_("gateway refund id"), max_length=128, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    credit_note = models.OneToOneField("invoices.CreditNote", null=True, blank=True, on_delete=models.PROTECT, related_name="refund", verbose_name=_("credit note"))
    created_at = models.DateTimeField(_("created at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="refund_unique_number"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class GatewayCustomer(models.Model):
    """The customer's id at a remote gateway (Stripe ``cus_...``), created on first use."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("customer"))
    gateway = models.CharField(_("gateway"), max_length=32)
    remote_id = models.CharField(_("remote id"), max_length=128)

    class Meta:
        verbose_name = _("gateway customer")
        verbose_name_plural = _("gateway customers")
        constraints = [models.UniqueConstraint(fields=["customer", "gateway"], name="gateway_customer_unique")]


FINAL_ACTIONS = [
    ("cancel", _("Cancel the subscription")),
    ("unpaid", _("Mark unpaid and suspend access")),
    ("pause", _("Pause the subscription")),
]


class DunningPolicy(models.Model):
    """How failed payments are retried and what happens when they never succeed.

    One row (pk=1), edited in the admin; until it exists the settings' defaults apply
    (ASSINA_DUNNING_*). Retry days count from the first failure of an invoice.
    """

    retry_days = models.CharField(_("retry schedule (days after the first failure)"), max_length=200,
                                  help_text=_("Comma-separated days, increasing, e.g. 1, 3, 5, 7, 10, 14."))
    hard_decline_codes = models.TextField(
        _("hard decline codes"), help_text=_("Never retried: the customer is asked for a new card. Comma-separated."))
    soft_decline_codes = models.TextField(
        _("soft decline codes"), help_text=_("Retried on the schedule. Codes in neither list are treated as soft."))
    grace_days = models.PositiveIntegerField(
        _("grace period (days)"), help_text=_("How long a past-due subscription keeps access after its first failed payment."))
    final_action = models.CharField(_("final action"), max_length=10, choices=FINAL_ACTIONS,
                                    help_text=_("What happens when the last retry fails."))
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dunning policy")
        verbose_name_plural = _("dunning policy")

    def __str__(self) -> str:
        return str(_("Dunning policy"))

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

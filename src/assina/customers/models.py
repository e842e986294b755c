from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

LOCALES = [("en", _("English")), ("pt-BR", _("Brazilian Portuguese"))]


class Customer(models.Model):
    email = models.EmailField(_("email"), unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    locale = models.CharField(_("locale"), max_length=8, choices=LOCALES, default="en")
    currency = models.CharField(_("currency"), max_length=3)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    country = models.CharField(_("country"), max_length=2, blank=True)
    tax_id = models.CharField(_("tax id"), max_length=64, blank=True)
    # {"line1", "line2", "city", "state", "postal_code", "country"}: where a plan that ships goods delivers.
    shipping_address = models.JSONField(_("shipping address"), default=dict, blank=True)
    # The customer's id in the system the business came from (an import, a checkout integration).
    external_id = models.CharField(_("external id"), max_length=128, blank=True, db_index=True)
    # Brought in by ``assina import customers``: history from before Assina.
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    # Money the business owes the customer (minor units, >= 0), used before charging a card.
    # It is the running sum of BalanceTransaction rows, kept here for fast reads.
    credit_balance = models.BigIntegerField(_("credit balance"), default=0)
    default_payment_method = models.ForeignKey(
        "payments.PaymentMethod", verbose_name=_("default payment method"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))
    # When the customer's personal data was erased (assina.privacy); their money records remain.
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(credit_balance__gte=0), name="customer_credit_balance_non_negative")]
        # Whether an address is taken in any case of its letters (``queries.email_taken``) is
        # asked in the write transaction of every checkout: without this index, a scan of every
        # customer under the write lock.
        indexes = [models.Index(Upper("email"), name="customer_email_upper")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class BalanceTransaction(models.Model):
    """A ledger line of the customer's credit balance (positive adds credit, negative uses it)."""

    class Kind(models.TextChoices):
        PRORATION_CREDIT = "proration_credit", _("Proration credit")
        APPLIED_TO_INVOICE = "applied_to_invoice", _("Applied to invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")
        ADJUSTMENT = "adjustment", _("Manual adjustment")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="balance_transactions", verbose_name=_("customer"))
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    invoice = models.ForeignKey("invoices.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("invoice"))
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("balance transaction")
        verbose_name_plural = _("balance transactions")
        ordering = ["id"]

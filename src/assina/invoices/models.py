"""Invoices, their lines, credit notes, carried-over items and the gapless number sequences."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from assina.core.invoice_states import InvoiceStatus
from assina.core.invoicing import LineKind

INVOICE_STATUSES = [
    (InvoiceStatus.DRAFT.value, _("Draft")),
    (InvoiceStatus.OPEN.value, _("Open")),
    (InvoiceStatus.PAID.value, _("Paid")),
    # Not the "Void" of the admin action: a status is an adjective in Portuguese ("Anulada").
    (InvoiceStatus.VOID.value, pgettext_lazy("invoice status", "Void")),
    (InvoiceStatus.UNCOLLECTIBLE.value, _("Uncollectible")),
]
LINE_KINDS = [
    (LineKind.SUBSCRIPTION.value, _("Subscription")),
    (LineKind.ADDON.value, _("Add-on")),
    (LineKind.DISCOUNT.value, _("Discount")),
    (LineKind.PRORATION.value, _("Proration")),
    (LineKind.CREDIT.value, _("Credit")),
    (LineKind.BUNDLE_PART.value, _("Bundle part")),
    (LineKind.SHIPPING.value, _("Shipping")),
]


class NumberSequence(models.Model):
    """Next number of a gapless sequence (``invoice-2027``, ``credit-note-2027``).

    Numbers are taken with a row lock inside the transaction that creates the documents, so a
    rollback gives them back and no number is ever skipped or used twice.
    """

    key = models.CharField(_("key"), max_length=32, unique=True)
    next_value = models.BigIntegerField(_("next value"), default=1)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")

    def __str__(self) -> str:
        return f"{self.key}: {self.next_value}"


class Invoice(models.Model):
    class Reason(models.TextChoices):
        SUBSCRIPTION_CREATE = "subscription_create", _("New subscription")
        SUBSCRIPTION_CYCLE = "subscription_cycle", _("Renewal")
        SUBSCRIPTION_UPDATE = "subscription_update", _("Subscription change")
        MANUAL = "manual", _("Manual")

    number = models.CharField(_("number"), max_length=32, unique=True, null=True, blank=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="invoices", verbose_name=_("customer"))
    subscription = models.ForeignKey("subscriptions.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("subscription"))
    status = models.CharField(_("status"), max_length=16, choices=INVOICE_STATUSES, db_index=True)
    billing_reason = models.CharField(_("billing reason"), max_length=24, choices=Reason.choices)
    currency = models.CharField(_("currency"), max_length=3)
    # The subscription period this invoice bills in advance; empty for change-only invoices.
    period_start = models.DateTimeField(_("period start"), null=True, blank=True)
    period_end = models.DateTimeField(_("period end"), null=True, blank=True)
    subtotal = models.BigIntegerField(_("subtotal"), default=0)
    discount = models.BigIntegerField(_("discount"), default=0)
    total = models.BigIntegerField(_("total"), default=0)
    credit_applied = models.BigIntegerField(_("credit applied"), default=0)
    amount_due = models.BigIntegerField(_("amount due"), default=0)
    amount_paid = models.BigIntegerField(_("amount paid"), default=0)
    created_at = models.DateTimeField(_("created at"))
    finalized_at = models.DateTimeField(_("finalized at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    attempt_count = models.PositiveIntegerField(_("payment attempts"), default=0)
    next_payment_attempt = models.DateTimeField(_("next payment attempt"), null=True, blank=True)
    # Dunning (assina.payments.dunning): "" never failed, retrying, awaiting_method (hard
    # decline: waits for a new card), recovered, exhausted (the final action was taken).
    dunning_status = models.CharField(_("dunning"), max_length=16, blank=True, default="")
    dunning_started_at = models.DateTimeField(_("first failed payment"), null=True, blank=True)
    # When the final action is due if the invoice is still unpaid then.
    dunning_final_at = models.DateTimeField(_("final action due at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["next_payment_attempt"], name="invoice_next_attempt_idx"),
            models.Index(fields=["dunning_final_at"], name="invoice_dunning_final_idx"),
        ]
        constraints = [
            # The database itself refuses a second invoice for the same subscription period.
            models.UniqueConstraint(fields=["subscription", "period_start"], name="invoice_unique_subscription_period"),
        ]

    def __str__(self) -> str:
        return self.number or _("draft #%(id)s") % {"id": self.pk}


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name=_("invoice"))
    kind = models.CharField(_("kind"), max_length=16, choices=LINE_KINDS)
    description = models.CharField(_("description"), max_length=300)
    item_code = models.CharField(_("item"), max_length=64, blank=True)
    quantity = models.BigIntegerField(_("quantity"), default=1)
    unit_amount = models.BigIntegerField(_("unit amount"), null=True, blank=True)
    amount = models.BigIntegerField(_("amount"))
    period_start = models.DateTimeField(_("period start"), null=True, blank=True)
    period_end = models.DateTimeField(_("period end"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description


class PendingItem(models.Model):
    """A charge or credit carried to the customer's next invoice (e.g. a proration)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="pending_items", verbose_name=_("customer"))
    subscription = models.ForeignKey("subscriptions.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="pending_items", verbose_name=_("subscription"))
    kind = models.CharField(_("kind"), max_length=16, choices=LINE_KINDS)
    description = models.CharField(_("description"), max_length=300)
    item_code = models.CharField(_("item"), max_length=64, blank=True)
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    period_start = models.DateTimeField(_("period start"), null=True, blank=True)
    period_end = models.DateTimeField(_("period end"), null=True, blank=True)
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("billed on invoice"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("pending item")
        verbose_name_plural = _("pending items")
        ordering = ["id"]


class CreditNote(models.Model):
    """Reduces what an invoice asks for after it was finalized; the amount goes to the
    customer's credit balance (refunds to the card come with the payments issue)."""

    number = models.CharField(_("number"), max_length=32, unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes", verbose_name=_("invoice"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="credit_notes", verbose_name=_("customer"))
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="credit_note_amount_positive")]

    def __str__(self) -> str:
        return self.number

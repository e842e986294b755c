"""Refunds to the card, full or partial, each documented by a credit note.

Like a charge, a refund is three steps: a pending ``Refund`` row with a deterministic
idempotency key (invoice + refund number) is committed first, then the gateway is called with
that key, then the result is applied (the credit note is numbered in that last transaction).
A crash in between leaves a pending refund that ``reconcile_refunds`` sends again with the same
key, which the gateway deduplicates: money is never given back twice.

The invoice stays ``paid`` (its ``amount_paid`` is what was collected); what was given back is
the sum of its succeeded refunds. Credit to the customer's balance instead of the card is a
plain credit note (``assina.invoices.services.create_credit_note``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from assina.core.invoice_states import InvoiceStatus
from assina.events.services import record
from assina.i18n import CustomerTexts, status_word
from assina.invoices.models import CreditNote, Invoice
from assina.invoices.numbering import business_year, take_numbers
from assina.invoices.services import customer_locale

from .gateway import RefundRequest
from .gateways import get_gateway
from .models import PaymentAttempt, Refund
from .services import PaymentError


def refund_key(invoice_id: int, number: int) -> str:
    return f"assina_inv_{invoice_id}_refund_{number}"


def refundable(invoice: Invoice) -> tuple[PaymentAttempt | None, int]:
    """The payment that paid ``invoice`` and how much of it can still be given back."""
    payment = (PaymentAttempt.objects.filter(invoice=invoice, status=PaymentAttempt.Status.SUCCEEDED)
               .exclude(gateway_charge_id="").order_by("pk").first())
    if payment is None:
        return None, 0
    given = Refund.objects.filter(attempt=payment).exclude(status=Refund.Status.FAILED).aggregate(s=Sum("amount"))["s"] or 0
    credited = CreditNote.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"] or 0
    pending_notes = Refund.objects.filter(invoice=invoice, status=Refund.Status.PENDING).aggregate(s=Sum("amount"))["s"] or 0
    # Never more than was charged, nor more than the invoice has left to credit.
    left = min(min(payment.amount, invoice.amount_paid) - given, invoice.total - credited - pending_notes)
    return payment, max(left, 0)


def refund_invoice(invoice_id: int, at: datetime, *, amount: int | None = None, reason: str = "") -> Refund:
    """Give back ``amount`` (minor units; all that is left when None) of what paid the invoice."""
    if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0):
        raise PaymentError(_("a refund must be a positive amount"))
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None:
            raise PaymentError(_("unknown invoice %(invoice)s") % {"invoice": invoice_id})
        if invoice.status != InvoiceStatus.PAID.value:
            raise PaymentError(_("invoice %(invoice)s is %(status)s; only paid invoices can be refunded")
                               % {"invoice": invoice, "status": status_word(invoice.status)})
        if Refund.objects.filter(invoice=invoice, status=Refund.Status.PENDING).exists():
            raise PaymentError(_("a refund of invoice %(invoice)s is already in progress") % {"invoice": invoice})
        payment, left = refundable(invoice)
        if payment is None:
            raise PaymentError(_("invoice %(invoice)s was not paid by card; nothing can be refunded to a card")
                               % {"invoice": invoice})
        amount = left if amount is None else amount
        if amount <= 0 or amount > left:
            raise PaymentError(_("the refund (%(amount)s) exceeds what can still be refunded on invoice %(invoice)s (%(left)s)")
                               % {"amount": amount, "invoice": invoice, "left": left})
        number = Refund.objects.filter(invoice=invoice).count() + 1
        refund = Refund.objects.create(invoice=invoice, attempt=payment, number=number,
                                       idempotency_key=refund_key(invoice.pk, number), amount=amount,
                                       currency=invoice.currency, reason=reason[:200], created_at=at)
    _send(refund, at)
    refund.refresh_from_db()
    if refund.status == Refund.Status.FAILED:
        from assina.i18n import gateway_message

        raise PaymentError(_("the gateway refused the refund: %(message)s") % {"message": gateway_message(refund.message)})
    return refund


def _send(refund: Refund, at: datetime) -> None:
    result = get_gateway().refund(RefundRequest(idempotency_key=refund.idempotency_key, charge_id=refund.attempt.gateway_charge_id,
                                                amount=refund.amount, currency=refund.currency, at=at))
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("invoice").get(pk=refund.pk)
        if refund.status != Refund.Status.PENDING:
            return  # applied by another worker
        refund.completed_at = at
        if not result.succeeded:
            refund.status = Refund.Status.FAILED
            refund.message = result.message[:300]
            refund.save(update_fields=["status", "message", "completed_at"])
            record("refund.failed", refund, at, _data(refund), customer_id=refund.invoice.customer_id)
            return
        invoice = refund.invoice
        note_number = take_numbers("credit-note", business_year(at), 1)[0]
        text = CustomerTexts().text(customer_locale(invoice.customer_id), N_("Refund to card"))
        note = CreditNote.objects.create(number=note_number, invoice=invoice, customer_id=invoice.customer_id,
                                         amount=refund.amount, currency=refund.currency,
                                         reason=(refund.reason or text)[:200], created_at=at)
        refund.status = Refund.Status.SUCCEEDED
        refund.gateway_refund_id = result.refund_id
        refund.credit_note = note
        refund.save(update_fields=["status", "gateway_refund_id", "credit_note", "completed_at"])
        record("credit_note.created", note, at, {"invoice": invoice.pk, "amount": refund.amount, "currency": refund.currency,
                                                 "number": note_number, "to_balance": 0, "refund": refund.pk})
        record("refund.succeeded", refund, at, {**_data(refund), "credit_note": note_number},
               customer_id=invoice.customer_id)


def _data(refund: Refund) -> dict:
    return {"invoice": refund.invoice_id, "number": refund.invoice.number, "amount": refund.amount,
            "currency": refund.currency, "refund": refund.pk, "message": refund.message}


def reconcile_refunds(at: datetime, limit: int = 100) -> int:
    """Send again (same key) refunds a crash left pending."""
    pending = list(Refund.objects.filter(status=Refund.Status.PENDING).select_related("attempt", "invoice").order_by("pk")[:limit])
    for refund in pending:
        _send(refund, at)
    return len(pending)


def refund_json(refund: Refund) -> dict:
    return {"id": refund.pk, "invoice": refund.invoice.number, "amount": refund.amount, "currency": refund.currency,
            "status": refund.status, "idempotency_key": refund.idempotency_key,
            "credit_note": refund.credit_note.number if refund.credit_note_id else None,
            "gateway_refund_id": refund.gateway_refund_id}

"""/invoices: list, get, pay now, void, download as PDF. Mounted by ``assina.api.main``."""

from __future__ import annotations

from typing import Literal

from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from assina.api.errors import ApiProblem
from assina.api.ids import ident, load
from assina.api.pagination import object_pk, paginate
from assina.api.schemas import Amount, Currency, ListQuery, Page, Timestamp
from assina.core.invoice_states import InvoiceStatus
from assina.customers.api import load_customer
from assina.payments.models import PaymentAttempt
from assina.payments.services import pay_invoice
from assina.time import now

from .models import Invoice, InvoiceLine
from .services import void_invoice

router = Router(tags=["invoices"])
PREFIX = "in_"
StatusName = Literal[tuple(s.value for s in InvoiceStatus)]  # type: ignore[misc]


class LineOut(Schema):
    kind: str
    description: str
    item: str
    quantity: int
    unit_amount: Amount | None
    amount: Amount
    period_start: Timestamp | None
    period_end: Timestamp | None


class InvoiceOut(Schema):
    id: str = Field(examples=["in_1"])
    object: str = "invoice"
    number: str | None
    customer: str
    subscription: str | None
    status: StatusName
    billing_reason: str
    currency: Currency
    period_start: Timestamp | None
    period_end: Timestamp | None
    subtotal: Amount
    discount: Amount
    total: Amount
    credit_applied: Amount
    amount_due: Amount
    amount_paid: Amount
    attempt_count: int
    next_payment_attempt: Timestamp | None
    lines: list[LineOut]
    created_at: Timestamp
    finalized_at: Timestamp | None
    paid_at: Timestamp | None
    voided_at: Timestamp | None


class InvoiceFilters(ListQuery):
    customer: str | None = Field(None, max_length=40)
    subscription: str | None = Field(None, max_length=40)
    status: StatusName | None = None


INVOICES = Invoice.objects.prefetch_related(Prefetch("lines", InvoiceLine.objects.order_by("id")))


def invoice_out(inv: Invoice) -> dict:
    return {
        "id": ident(PREFIX, inv.pk), "number": inv.number, "customer": ident("cus_", inv.customer_id),
        "subscription": ident("sub_", inv.subscription_id), "status": inv.status, "billing_reason": inv.billing_reason,
        "currency": inv.currency, "period_start": inv.period_start, "period_end": inv.period_end, "subtotal": inv.subtotal,
        "discount": inv.discount, "total": inv.total, "credit_applied": inv.credit_applied, "amount_due": inv.amount_due,
        "amount_paid": inv.amount_paid, "attempt_count": inv.attempt_count, "next_payment_attempt": inv.next_payment_attempt,
        "lines": [{"kind": l.kind, "description": l.description, "item": l.item_code, "quantity": l.quantity,
                   "unit_amount": l.unit_amount, "amount": l.amount, "period_start": l.period_start,
                   "period_end": l.period_end} for l in inv.lines.all()],
        "created_at": inv.created_at, "finalized_at": inv.finalized_at, "paid_at": inv.paid_at, "voided_at": inv.voided_at,
    }


def _load(invoice_id: str) -> Invoice:
    return load(INVOICES, PREFIX, invoice_id, _("invoice"))


@router.get("", response=Page[InvoiceOut], summary="List invoices")
def list_invoices(request, query: Query[InvoiceFilters]):
    rows = INVOICES
    if query.customer:
        rows = rows.filter(customer_id=load_customer(query.customer).pk)
    if query.subscription:
        rows = rows.filter(subscription_id=object_pk("sub_", query.subscription) or 0)
    if query.status:
        rows = rows.filter(status=query.status)
    return paginate(rows, query, cursor_pk=lambda c: object_pk(PREFIX, c), serialize=invoice_out,
                    ident=lambda i: ident(PREFIX, i.pk))


@router.get("/{invoice_id}", response=InvoiceOut, summary="Get an invoice")
def get(request, invoice_id: str):
    return invoice_out(_load(invoice_id))


@router.post("/{invoice_id}/pay", response=InvoiceOut, summary="Try to collect an open invoice now",
             description="Charges the subscription's card or the customer's default one. A declined card answers "
                         "402 with the decline code; the invoice stays open.")
def pay(request, invoice_id: str):
    invoice = _load(invoice_id)
    attempt = pay_invoice(invoice.pk, now())
    if attempt is not None and attempt.status == PaymentAttempt.Status.FAILED:
        from assina.i18n import gateway_message

        raise ApiProblem(402, attempt.decline_code or "card_declined", gateway_message(attempt.message) if attempt.message
                         else _("the payment was declined"))
    return invoice_out(_load(invoice_id))


@router.post("/{invoice_id}/void", response=InvoiceOut, summary="Void an open invoice")
def void(request, invoice_id: str):
    invoice = _load(invoice_id)
    void_invoice(invoice.pk, now())
    return invoice_out(_load(invoice_id))


# Keyed by the int status, as ``response={200: None}`` is: ninja then merges this into that response;
# a "200" string key would sit beside it and openapi.json would carry "200" twice.
PDF_RESPONSE = {200: {"description": "the invoice as a PDF, in the customer's language and currency",
                      "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/{invoice_id}/pdf", response={200: None}, summary="Download an invoice as a PDF",
            description="Number, dates, customer, every line with its period, discounts and totals, written in the "
                        "customer's language (en or pt-BR) with amounts in the invoice's currency. A draft says so.",
            openapi_extra={"responses": PDF_RESPONSE})
def pdf(request, invoice_id: str):
    from .pdf import pdf_filename, render_invoice_pdf

    invoice = _load(invoice_id)
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(invoice)}"'
    return response

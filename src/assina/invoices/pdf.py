"""An invoice as a PDF (fpdf2), in the customer's language, currency and time zone.

What it shows: the business, the invoice number and status, when it was issued and paid, the
period, who it bills, every line as it was issued (the line texts are stored translated into
the customer's language when the invoice is issued) with its period, then subtotal, discount,
total, credit applied, amount paid and amount due, formatted with Babel for the customer's
locale (pt-BR: "R$ 1.234,56"; en: "R$1,234.56"), and the credit notes issued on it.

The labels are the invoice fields' own translated names (the admin's), so the PDF adds no
message of its own to translate. fpdf2's core fonts are used (nothing to ship or find on
disk) with the Windows-1252 encoding: Latin-1 plus curly quotes, dashes, the euro sign...,
which covers English and Portuguese ("ç ã é õ"); a character outside it is written as "?"
rather than failing the download.

Times come from the invoice (the PDF's creation date is its issue time): the same invoice
always gives the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from assina.core.invoicing import LineKind
from assina.core.money import Money
from assina.i18n import format_money, is_english

from .models import Invoice

ENCODING = "windows-1252"
MARGIN = 18  # mm
BRAND_GREY = (90, 90, 90)


def _language(locale: str | None) -> str:
    return "en" if is_english(locale) else "pt-br"


def _babel_locale(locale: str | None) -> str:
    return "en" if is_english(locale) else "pt_BR"


def _safe(text: str) -> str:
    """``text`` with what Windows-1252 cannot write replaced by "?" (core fonts only have those)."""
    return str(text).encode(ENCODING, errors="replace").decode(ENCODING)


class _Formats:
    """Amounts and dates as the customer writes them."""

    def __init__(self, invoice: Invoice) -> None:
        customer = invoice.customer
        self.locale = customer.locale or "en"
        self.currency = invoice.currency
        try:
            self.zone = ZoneInfo(customer.time_zone or "UTC")
        except (KeyError, ValueError):
            self.zone = ZoneInfo("UTC")

    def money(self, amount: int) -> str:
        return format_money(Money(int(amount), self.currency), self.locale)

    def date(self, value: datetime | None) -> str:
        from babel.dates import format_date

        if value is None:
            return ""
        return format_date(value.astimezone(self.zone).date(), "medium", locale=_babel_locale(self.locale))

    def period(self, start: datetime | None, end: datetime | None) -> str:
        if start is None or end is None:
            return ""
        return f"{self.date(start)} – {self.date(end)}"


def _label(model, field: str) -> str:
    return capfirst(str(model._meta.get_field(field).verbose_name))


def render_invoice_pdf(invoice: Invoice, *, compress: bool = True) -> bytes:
    """The PDF of ``invoice`` (a draft too: it says so instead of a number)."""
    from fpdf import FPDF

    invoice = (Invoice.objects.select_related("customer")
               .prefetch_related("lines", "credit_notes").get(pk=invoice.pk))
    fmt = _Formats(invoice)
    with translation.override(_language(fmt.locale)):
        texts = _texts(invoice, fmt)

    pdf = FPDF(format="A4", unit="mm")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_compression(compress)
    pdf.set_creation_date(invoice.finalized_at or invoice.created_at)
    pdf.set_title(_safe(texts["title"]))
    pdf.set_author(_safe(settings.ASSINA_BUSINESS_NAME))
    pdf.set_lang("pt-BR" if _language(fmt.locale) == "pt-br" else "en")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.add_page()
    width = pdf.w - 2 * MARGIN

    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(width / 2, 9, _safe(settings.ASSINA_BUSINESS_NAME))
    pdf.cell(width / 2, 9, _safe(texts["title"]), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.set_text_color(*BRAND_GREY)
    pdf.cell(width, 5, _safe(texts["status"]), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(4)

    top = pdf.get_y()
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(width / 2, 6, _safe(texts["customer_label"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for row in texts["customer"]:
        pdf.cell(width / 2, 5, _safe(row), new_x="LMARGIN", new_y="NEXT")
    bottom = pdf.get_y()
    pdf.set_y(top)
    label_width, value_width = 0.16 * width, 0.34 * width
    for label, value in texts["facts"]:
        pdf.set_x(MARGIN + width / 2)
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(label_width, 5, _safe(label))
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(value_width, 5, _safe(value), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(bottom, pdf.get_y()) + 6)

    # Lines: the description (wrapped) with its period below in grey, the amount on the right.
    amount_width = 0.22 * width
    text_width = width - amount_width
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(240, 240, 240)
    pdf.cell(text_width, 7, _safe(texts["headers"][0]), fill=True)
    pdf.cell(amount_width, 7, _safe(texts["headers"][1]), align="R", fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(220, 220, 220)
    for description, period, amount in texts["lines"]:
        pdf.ln(1)
        y = pdf.get_y()
        pdf.set_font("Helvetica", "", 10)
        pdf.set_x(MARGIN + text_width)
        pdf.cell(amount_width, 5, _safe(amount), align="R")
        pdf.set_xy(MARGIN, y)
        pdf.multi_cell(text_width - 4, 5, _safe(description), new_x="LMARGIN", new_y="NEXT")
        if period:
            pdf.set_font("Helvetica", "", 8)
            pdf.set_text_color(*BRAND_GREY)
            pdf.cell(text_width, 4, _safe(period), new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
        pdf.ln(1)
        pdf.line(MARGIN, pdf.get_y(), MARGIN + width, pdf.get_y())
    pdf.ln(3)

    for label, value, bold in texts["totals"]:
        pdf.set_x(MARGIN + width / 2)
        pdf.set_font("Helvetica", "B" if bold else "", 10)
        pdf.cell(width / 2 - amount_width, 6, _safe(label))
        pdf.cell(amount_width, 6, _safe(value), align="R", new_x="LMARGIN", new_y="NEXT")

    if texts["credit_notes"]:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(width, 6, _safe(texts["credit_notes_label"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for number, reason, amount in texts["credit_notes"]:
            pdf.cell(text_width, 5, _safe(f"{number} · {reason}" if reason else number))
            pdf.cell(amount_width, 5, _safe(amount), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _texts(invoice: Invoice, fmt: _Formats) -> dict:
    """Every text of the PDF, in the active (the customer's) language."""
    from assina.customers.models import Customer
    from assina.invoices.models import CreditNote, InvoiceLine

    customer = invoice.customer
    title = f"{_('Invoice')} {invoice.number}" if invoice.number else capfirst(str(invoice))
    facts = [(_label(Invoice, "number"), invoice.number or "—"),
             (_label(Invoice, "finalized_at"), fmt.date(invoice.finalized_at or invoice.created_at))]
    if invoice.period_start and invoice.period_end:
        facts.append((_("Period"), fmt.period(invoice.period_start, invoice.period_end)))
    if invoice.paid_at:
        facts.append((_label(Invoice, "paid_at"), fmt.date(invoice.paid_at)))
    facts.append((_label(Invoice, "currency"), invoice.currency))
    who = [customer.name, customer.email]
    if customer.tax_id:
        who.append(f"{_label(Customer, 'tax_id')}: {customer.tax_id}")
    if customer.country:
        who.append(customer.country)
    # A bundle's parts sit under the bundle's line, indented, without an amount or a period of
    # their own (the bundle's line carries both).
    lines = [(f"    {line.description}", "", "") if line.kind == LineKind.BUNDLE_PART.value else
             (line.description, fmt.period(line.period_start, line.period_end), fmt.money(line.amount))
             for line in sorted(invoice.lines.all(), key=lambda line: line.pk)]
    totals = [(_label(Invoice, "subtotal"), fmt.money(invoice.subtotal), False)]
    if invoice.discount:
        totals.append((_label(Invoice, "discount"), fmt.money(invoice.discount), False))
    totals.append((_label(Invoice, "total"), fmt.money(invoice.total), True))
    if invoice.credit_applied:
        totals.append((_label(Invoice, "credit_applied"), fmt.money(-invoice.credit_applied), False))
    # What was paid, or what is still asked for (amount_due keeps the asked amount once paid).
    if invoice.amount_paid or invoice.status == "paid":
        totals.append((_label(Invoice, "amount_paid"), fmt.money(invoice.amount_paid), invoice.status == "paid"))
    if invoice.status in ("open", "draft"):
        totals.append((_label(Invoice, "amount_due"), fmt.money(invoice.amount_due), True))
    notes = [(note.number, note.reason, fmt.money(-note.amount))
             for note in sorted(invoice.credit_notes.all(), key=lambda note: note.pk)]
    return {
        "title": title,
        "status": f"{_label(Invoice, 'status')}: {invoice.get_status_display()}",
        "customer_label": _label(Invoice, "customer"),
        "customer": [row for row in who if row],
        "facts": facts,
        "headers": (_label(InvoiceLine, "description"), _label(InvoiceLine, "amount")),
        "lines": lines,
        "totals": totals,
        "credit_notes_label": capfirst(str(CreditNote._meta.verbose_name_plural)),
        "credit_notes": notes,
    }


def pdf_filename(invoice: Invoice) -> str:
    return f"invoice-{invoice.number or f'draft-{invoice.pk}'}.pdf"


__all__ = ["render_invoice_pdf", "pdf_filename"]

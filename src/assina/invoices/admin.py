from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from assina.admin_actions import (
    customer_column,
    ReadOnlyAdmin,
    ReadOnlyInline,
    admin_link,
    format_money,
    money_field,
    parse_money_input,
    service_action,
)
from assina.core.errors import DomainError
from assina.time import now as clock_now
from assina.i18n import gateway_message, localized_message
from assina.payments.admin import dunning_label
from assina.payments.models import PaymentAttempt, Refund
from assina.payments.refunds import refund_invoice, refundable
from assina.payments.services import pay_invoice

from .models import CreditNote, Invoice, InvoiceLine, NumberSequence, PendingItem
from .services import create_credit_note, mark_uncollectible, void_invoice


# --- giving money back from an invoice's page --------------------------------------------
# A partial or full refund to the card, or a credit note for an amount, through the same services
# as the API and the CLI. The form carries how many refunds and credit notes the invoice had when
# it was opened and is refused if that changed: a double click or a second tab never gives the
# money back twice.
class GiveBackForm(forms.Form):
    KINDS = (("refund", _("Refund to the card")),
             ("credit_note", _("Credit note (an open invoice asks for less; otherwise the customer's balance is credited)")))
    kind = forms.ChoiceField(label=_("how"), choices=KINDS, widget=forms.RadioSelect, initial="refund")
    amount = forms.CharField(label=_("amount"), max_length=20, help_text=_("For example 10,00 or 10.00."))
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)
    seen = forms.CharField(widget=forms.HiddenInput)


def _seen(invoice: Invoice) -> str:
    """What the form was opened on: the invoice's refunds and credit notes so far."""
    return f"{Refund.objects.filter(invoice=invoice).count()}-{CreditNote.objects.filter(invoice=invoice).count()}"


class InvoiceOperationsMixin:
    change_form_template = "admin/invoices/invoice/change_form.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.give_back_view)
        return [path("<int:invoice_id>/give-back/", view, name="invoices_invoice_give_back"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        invoice = Invoice.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if invoice is not None:
            extra["title"] = _("Invoice %(number)s") % {"number": invoice}  # what the customer and owner call it
        if invoice is not None and self.has_operate_permission(request) and invoice.status in ("open", "paid"):
            extra["give_back_url"] = reverse("admin:invoices_invoice_give_back", args=[invoice.pk])
        return super().change_view(request, object_id, form_url, extra)

    def give_back_view(self, request, invoice_id: int):
        invoice = Invoice.objects.select_related("customer").filter(pk=invoice_id).first()
        if invoice is None:
            raise Http404
        if not self.has_operate_permission(request):
            raise PermissionDenied
        form = GiveBackForm(request.POST or None, initial={"seen": _seen(invoice), "kind": "refund"})
        if request.method == "POST" and form.is_valid():
            amount = parse_money_input(form, "amount", invoice.currency)
            if form.cleaned_data["seen"] != _seen(invoice):
                form.add_error(None, _("This invoice was refunded or credited since this page was opened; "
                                       "look at it again before giving more back."))
            elif amount is not None:
                try:
                    self._give_back(invoice, form.cleaned_data["kind"], amount, form.cleaned_data["reason"])
                except DomainError as exc:
                    form.add_error(None, localized_message(exc))
                else:
                    messages.success(request, _("%(amount)s given back on invoice %(invoice)s.")
                                     % {"amount": format_money(amount, invoice.currency), "invoice": invoice})
                    return HttpResponseRedirect(reverse("admin:invoices_invoice_change", args=[invoice.pk]))
        _payment, left = refundable(invoice)
        credited = sum(CreditNote.objects.filter(invoice=invoice).values_list("amount", flat=True))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": invoice,
                   "title": _("Refund or credit invoice %(invoice)s") % {"invoice": invoice}, "form": form,
                   "invoice": invoice, "refundable": format_money(left, invoice.currency),
                   "creditable": format_money(invoice.total - credited, invoice.currency),
                   "back_url": reverse("admin:invoices_invoice_change", args=[invoice.pk])}
        return TemplateResponse(request, "admin/invoices/invoice/give_back.html", context)

    @staticmethod
    def _give_back(invoice: Invoice, kind: str, amount: int, reason: str) -> None:
        if kind == "refund":
            refund_invoice(invoice.pk, clock_now(), amount=amount, reason=reason)
        else:
            create_credit_note(invoice.pk, amount, reason, clock_now())


def _invoice_currency(line) -> str:
    return line.invoice.currency


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ("kind", "description", "quantity", "unit_amount_display", "amount_display", "period_start", "period_end")
    show_change_link = False
    unit_amount_display = money_field("unit_amount", _("unit amount"), currency=_invoice_currency)
    amount_display = money_field("amount", _("amount"), currency=_invoice_currency)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice")


class PaymentAttemptInline(ReadOnlyInline):
    model = PaymentAttempt
    fields = ("number", "status", "amount_display", "payment_method", "decline_code", "message_display", "created_at",
              "completed_at", "next_retry_at")
    amount_display = money_field("amount", _("amount"))

    @admin.display(description=_("message"))
    def message_display(self, obj):
        return gateway_message(obj.message)


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("number", "status", "amount_display", "credit_note", "reason", "created_at")
    amount_display = money_field("amount", _("amount"))


class CreditNoteInline(ReadOnlyInline):
    model = CreditNote
    fields = ("number", "amount_display", "reason", "created_at")
    amount_display = money_field("amount", _("amount"))


def _collect(invoice: Invoice) -> str | None:
    attempt = pay_invoice(invoice.pk, clock_now())
    if attempt is None:
        return _("nothing to collect.")
    if attempt.status != PaymentAttempt.Status.SUCCEEDED:
        return _("the payment failed: %(message)s") % {"message": gateway_message(attempt.message) or attempt.decline_code}
    return None


@admin.register(Invoice)
class InvoiceAdmin(InvoiceOperationsMixin, ReadOnlyAdmin):
    # What fits a 1366 px screen; the billing reason and currency are filters on the right.
    list_display = ("__str__", "customer_name", "status", "total_display", "amount_due_display", "created_at")
    customer_name = customer_column
    ordering = ("-created_at", "-pk")  # newest first
    list_filter = ("status", "billing_reason", "currency")
    search_fields = ("number", "customer__email", "customer__name", "=subscription__id")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "subscription__plan")
    fieldsets = (
        (None, {"fields": ("number", "pdf_link", "customer_link", "subscription_link", "status", "billing_reason",
                           "currency", "period_start", "period_end")}),
        (_("Amounts"), {"fields": ("subtotal_display", "discount_display", "total_display", "credit_applied_display",
                                   "amount_due_display", "amount_paid_display")}),
        (_("Dates"), {"fields": ("created_at", "finalized_at", "paid_at", "voided_at")}),
        (_("Dunning"), {"fields": ("dunning_display", "dunning_started_at", "attempt_count", "last_decline",
                                   "next_payment_attempt", "dunning_final_at")}),
    )
    readonly_fields = ("pdf_link", "customer_link", "subscription_link", "subtotal_display", "discount_display", "total_display",
                       "credit_applied_display", "amount_due_display", "amount_paid_display", "dunning_display",
                       "last_decline")
    inlines = (InvoiceLineInline, PaymentAttemptInline, RefundInline, CreditNoteInline)
    subtotal_display = money_field("subtotal", _("subtotal"))
    discount_display = money_field("discount", _("discount"))
    total_display = money_field("total", _("total"))
    credit_applied_display = money_field("credit_applied", _("credit applied"))
    amount_due_display = money_field("amount_due", _("amount due"))
    amount_paid_display = money_field("amount_paid", _("amount paid"))
    actions = (
        service_action("void", _("Void"), lambda invoice: void_invoice(invoice.pk, clock_now()),
                       ngettext_lazy("%(count)d invoice voided.", "%(count)d invoices voided.", "count")),
        service_action("mark_uncollectible", _("Mark uncollectible"),
                       lambda invoice: mark_uncollectible(invoice.pk, clock_now()),
                       ngettext_lazy("%(count)d invoice marked uncollectible.",
                                     "%(count)d invoices marked uncollectible.", "count")),
        service_action("collect_now", _("Try to collect now"), _collect,
                       ngettext_lazy("%(count)d invoice: payment attempted.",
                                     "%(count)d invoices: payment attempted.", "count")),
        service_action("refund_in_full", _("Refund to the card in full"),
                       lambda invoice: refund_invoice(invoice.pk, clock_now()),
                       ngettext_lazy("%(count)d invoice refunded.", "%(count)d invoices refunded.", "count")),
    )

    def get_urls(self):
        pdf_view = self.admin_site.admin_view(self.pdf_view)
        return [path("<int:invoice_id>/pdf/", pdf_view, name="invoices_invoice_pdf"), *super().get_urls()]

    def pdf_view(self, request, invoice_id: int):
        """The invoice as the customer gets it (GET /api/v1/invoices/{id}/pdf), for staff who may view it."""
        from .pdf import pdf_filename, render_invoice_pdf

        invoice = Invoice.objects.filter(pk=invoice_id).first()
        if invoice is None:
            raise Http404
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{pdf_filename(invoice)}"'
        return response

    @admin.display(description="PDF")
    def pdf_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        from .pdf import pdf_filename

        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>',
                           reverse("admin:invoices_invoice_pdf", args=[obj.pk]), pdf_filename(obj))

    @admin.display(description=_("dunning"))
    def dunning_display(self, obj):
        return dunning_label(obj.dunning_status)

    @admin.display(description=_("last decline code"))
    def last_decline(self, obj):
        attempt = obj.attempts.filter(status=PaymentAttempt.Status.FAILED).order_by("-number").first()
        return attempt.decline_code if attempt else "-"

    @admin.display(description=_("customer"), ordering="customer__email")
    def customer_link(self, obj):
        return admin_link(obj.customer)

    @admin.display(description=_("subscription"))
    def subscription_link(self, obj):
        return admin_link(obj.subscription)


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyAdmin):
    list_display = ("id", "invoice", "kind", "description", "quantity", "amount_display")
    list_filter = ("kind",)
    search_fields = ("invoice__number", "description", "item_code")
    list_select_related = ("invoice",)
    fields = ("invoice", "kind", "description", "item_code", "quantity", "unit_amount_display", "amount_display",
              "period_start", "period_end")

    unit_amount_display = money_field("unit_amount", _("unit amount"), currency=_invoice_currency)
    amount_display = money_field("amount", _("amount"), currency=_invoice_currency)


@admin.register(PendingItem)
class PendingItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "subscription", "kind", "description", "amount_display", "invoice", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("customer__email", "description")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "subscription__plan", "invoice")
    fields = ("customer", "subscription", "kind", "description", "item_code", "amount_display", "period_start",
              "period_end", "invoice", "created_at")
    amount_display = money_field("amount", _("amount"))


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = ("number", "invoice", "customer", "amount_display", "reason", "created_at")
    list_filter = ("currency",)
    search_fields = ("number", "invoice__number", "customer__email")
    date_hierarchy = "created_at"
    list_select_related = ("invoice", "customer")
    fields = ("number", "invoice", "customer", "amount_display", "reason", "created_at")
    amount_display = money_field("amount", _("amount"))


@admin.register(NumberSequence)
class NumberSequenceAdmin(ReadOnlyAdmin):
    list_display = ("key", "next_value")
    search_fields = ("key",)

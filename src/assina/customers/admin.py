from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.formats import number_format
from django.utils.translation import ngettext

from assina.admin_actions import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceAddForm,
    ServiceAdmin,
    admin_link,
    field_label,
    format_money,
    interval_label,
    money_field,
)
from assina.core.errors import DomainError
from assina.core.states import LIVE
from assina.customers.services import check_changes, set_shipping_address, update_customer
from assina.i18n import localized_message
from assina.time import now as clock_now
from assina.invoices.models import Invoice
from assina.payments.admin import dunning_label
from assina.payments.models import PaymentAttempt, PaymentMethod
from assina.payments.new_customer import create_customer
from assina.portal import admin as portal_admin
from assina.privacy.erase import erase_customer
from assina.retention.admin import CancelSessionInline
from assina.feedback.admin import SurveyResponseInline
from assina.subscriptions.models import Subscription
from assina.subscriptions.terms import current_mrr

from .models import LOCALES, BalanceTransaction, Customer

# Stripe's test cards that the sandbox gateway understands.
TEST_CARDS_HELP = _("Sandbox only. 4242424242424242 is accepted; 4000000000000341 is attached but every charge fails; "
                    "4000000000000002 is declined. Leave empty to add a card later.")


class CustomerAddForm(ServiceAddForm):
    email = forms.EmailField(label=field_label(Customer, "email"))
    name = forms.CharField(label=field_label(Customer, "name"), max_length=200, required=False)
    locale = forms.ChoiceField(label=field_label(Customer, "locale"), choices=LOCALES, initial="en")
    currency = forms.CharField(label=field_label(Customer, "currency"), max_length=3,
                               initial=lambda: settings.ASSINA_DEFAULT_CURRENCY)
    time_zone = forms.CharField(label=field_label(Customer, "time_zone"), max_length=64, initial=lambda: settings.TIME_ZONE)
    country = forms.CharField(label=field_label(Customer, "country"), max_length=2, required=False,
                              help_text=_("Two-letter ISO 3166 code, e.g. BR."))
    tax_id = forms.CharField(label=field_label(Customer, "tax_id"), max_length=64, required=False)
    card = forms.CharField(label=_("test card number"), max_length=19, required=False, help_text=TEST_CARDS_HELP)

    class Meta(ServiceAddForm.Meta):
        model = Customer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if settings.ASSINA_MODE != "sandbox":
            # Live card numbers never pass through Assina: the gateway's own page collects them.
            del self.fields["card"]

    def create(self, data: dict) -> Customer:
        return create_customer(
            email=data["email"], at=clock_now(), name=data["name"], locale=data["locale"], currency=data["currency"],
            time_zone=data["time_zone"], country=data["country"], tax_id=data["tax_id"],
            card=(data.get("card") or "").replace(" ", "") or None,
        )


ADDRESS_LABELS = {"line1": _("street and number"), "line2": _("complement"), "city": _("city"), "state": _("state"),
                  "postal_code": _("postal code"), "country": _("shipping country")}


class CustomerChangeForm(forms.ModelForm):
    """The edit form: the customers service checks the changed fields (ISO 3166 country, locale)
    exactly as it does for the API and the add form, and its error is shown on the form. The
    shipping address (issue 19) goes through ``set_shipping_address`` when it changed."""

    ship_line1 = forms.CharField(label=capfirst(ADDRESS_LABELS["line1"]), required=False, max_length=200)
    ship_line2 = forms.CharField(label=capfirst(ADDRESS_LABELS["line2"]), required=False, max_length=200)
    ship_city = forms.CharField(label=capfirst(ADDRESS_LABELS["city"]), required=False, max_length=100)
    ship_state = forms.CharField(label=capfirst(ADDRESS_LABELS["state"]), required=False, max_length=100)
    ship_postal_code = forms.CharField(label=capfirst(ADDRESS_LABELS["postal_code"]), required=False, max_length=20)
    ship_country = forms.CharField(label=capfirst(ADDRESS_LABELS["country"]), required=False, max_length=2,
                                   help_text=_("Where plans that ship goods deliver; two letters, e.g. BR."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = (self.instance.shipping_address or {}) if self.instance.pk else {}
        for name in ADDRESS_LABELS:
            if f"ship_{name}" in self.fields:
                self.fields[f"ship_{name}"].initial = current.get(name, "")

    def _clean_address(self, data: dict) -> None:
        typed = {name: (data.get(f"ship_{name}") or "").strip() for name in ADDRESS_LABELS}
        current = self.instance.shipping_address or {}
        if not any(typed.values()) or all(typed[n] == current.get(n, "") for n in ADDRESS_LABELS):
            return
        try:
            set_shipping_address(self.instance.pk, typed, clock_now())
        except DomainError as exc:
            self.add_error("ship_line1", localized_message(exc))

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        self._clean_address(data)
        if self.errors:
            return data
        try:
            changes = check_changes({f: data[f] for f in self.changed_data if f in CustomerAdmin.editable_fields})
        except DomainError as exc:
            raise forms.ValidationError(localized_message(exc)) from None
        data.update(changes)
        return data


class PaymentMethodInline(ReadOnlyInline):
    model = PaymentMethod
    ordering = ("-created_at", "-pk")  # newest first
    fields = ("brand", "last4", "exp_month", "exp_year", "gateway", "created_at", "detached_at", "expiring_notified_at")


class SubscriptionInline(ReadOnlyInline):
    model = Subscription
    ordering = ("-started_at", "-pk")  # newest first
    fk_name = "customer"
    fields = ("plan", "status", "access", "billing", "current_period_end", "cancel_at_period_end", "started_at")

    @admin.display(description=_("access"), boolean=True)
    def access(self, obj):
        from assina.subscriptions.lifecycle import has_access

        return has_access(obj, clock_now())

    @admin.display(description=_("billing period"))
    def billing(self, obj):
        return interval_label(obj.interval, obj.interval_count)


class InvoiceInline(ReadOnlyInline):
    model = Invoice
    ordering = ("-created_at", "-pk")  # newest first
    fk_name = "customer"
    fields = ("number", "status", "billing_reason", "total_display", "amount_due_display", "created_at")
    total_display = money_field("total", _("total"))
    amount_due_display = money_field("amount_due", _("amount due"))


class BalanceTransactionInline(ReadOnlyInline):
    model = BalanceTransaction
    ordering = ("-created_at", "-pk")  # newest first
    fk_name = "customer"
    fields = ("created_at", "kind", "amount_display", "invoice", "description")
    amount_display = money_field("amount", _("amount"))


class CustomerSummaryMixin:
    """A customer's page starts with who they are to the business: status, plan, MRR, total paid
    and balance; their subscriptions and invoices below are listed newest first."""

    change_form_template = "admin/customers/customer/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        customer = Customer.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if customer is not None:
            extra["title"] = customer.name or customer.email
            extra["summary"] = customer_summary(customer)
        return super().change_view(request, object_id, form_url, extra)


def customer_summary(customer: Customer) -> dict:
    subs = list(Subscription.objects.filter(customer=customer).select_related("plan").order_by("-started_at", "-pk"))
    live = [s for s in subs if s.status in LIVE or s.status == "paused"]
    shown = live[0] if live else (subs[0] if subs else None)
    mrr = sum(current_mrr(live, clock_now()).values()) if live else 0
    paid = sum(Invoice.objects.filter(customer=customer).values_list("amount_paid", flat=True))
    return {
        "status": shown.get_status_display() if shown else _("no subscription"),
        "plans": ", ".join(dict.fromkeys(s.plan.name for s in live)) or "-",
        "mrr": format_money(mrr, customer.currency),
        "paid": format_money(paid, customer.currency),
        "balance": format_money(customer.credit_balance, customer.currency),
        "since": customer.created_at,
        **_lifetime_value(customer),
    }


def _lifetime_value(customer: Customer) -> dict:
    """The forecast's value of this customer (docs/forecasting.md): what their remaining lifetime
    is expected to bring, discounted; "-" when they pay nothing now or no model fits yet."""
    from assina.analytics import forecasts  # here: its models import SciPy, slow for every command and worker

    forecast = forecasts.clv(customer=customer.pk)
    if not forecast["customers"]:
        return {"clv": "-", "expected_months": "-"}
    value = forecast["customers"][0]
    months = value["expected_months"]
    return {"clv": format_money(value["clv"], forecast["currency"]),
            "expected_months": number_format(months, 1) if months is not None else "-"}


@admin.register(Customer)
class CustomerAdmin(CustomerSummaryMixin, ServiceAdmin):
    form = CustomerChangeForm
    add_form = CustomerAddForm
    add_fieldsets = (
        (None, {"fields": ("email", "name", "locale", "currency", "time_zone", "country", "tax_id")}),
        (_("Payment"), {"fields": ("card",)}),
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None and settings.ASSINA_MODE != "sandbox":
            return fieldsets[:1]  # live mode: no card number field (issue 14: the card page collects cards)
        if obj is not None:
            shipping = tuple(f"ship_{name}" for name in ADDRESS_LABELS)
            return [(None, {"fields": [f for f in fieldsets[0][1]["fields"] if f not in shipping]}),
                    (_("Shipping address"), {"fields": shipping})]
        return fieldsets
    # What fits a 1366 px screen; language and currency are filters on the right.
    list_display = ("email", "name", "country", "credit_balance_display", "created_at")
    ordering = ("-created_at", "-pk")
    list_filter = ("locale", "currency", "country")
    search_fields = ("email", "name", "tax_id", "=id")
    date_hierarchy = "created_at"
    fields = ("email", "name", "locale", "currency", "time_zone", "country", "tax_id", "credit_balance_display",
              "default_payment_method", "metadata", "created_at", "erased_at", "payment_attempts", "portal_access")
    # Only descriptive fields are edited in place; money and identity go through the services.
    editable_fields = ("name", "locale", "country", "tax_id")
    readonly_fields = ("email", "currency", "time_zone", "credit_balance_display", "default_payment_method",
                       "metadata", "created_at", "erased_at", "payment_attempts", "portal_access")
    inlines = (PaymentMethodInline, SubscriptionInline, InvoiceInline, BalanceTransactionInline, CancelSessionInline,
               SurveyResponseInline)
    credit_balance_display = money_field("credit_balance", _("credit balance"))
    actions = ("erase_personal_data", portal_admin.end_portal_access)

    # "End portal access" (issue 16): the action above, and a button on the customer's page.
    portal_access = portal_admin.portal_access_field

    def has_end_portal_access_permission(self, request) -> bool:
        return portal_admin.may_revoke(request)

    def get_urls(self):
        return portal_admin.end_access_urls(self.admin_site) + super().get_urls()

    @admin.action(description=_("Erase personal data (LGPD/GDPR)…"), permissions=["operate"])
    def erase_personal_data(self, request, queryset):
        """A confirmation page first (a GET never changes anything); then each customer is erased
        through assina.privacy, a refusal (a subscription still billing) shown for that customer."""
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(request, "admin/customers/customer/erase_confirmation.html", {
                **self.admin_site.each_context(request), "opts": self.opts, "customers": list(queryset),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME, "title": _("Erase personal data"),
            })
        erased = 0
        for customer in queryset:
            label = str(customer)
            try:
                erase_customer(customer.pk, clock_now())
            except DomainError as exc:
                self.message_user(request, f"{label}: {localized_message(exc)}", messages.ERROR)
                continue
            erased += 1
        if erased:
            self.message_user(request, ngettext("%(count)d customer's personal data erased.",
                                                "%(count)d customers' personal data erased.", erased) % {"count": erased},
                              messages.SUCCESS)
        return None

    @admin.display(description=_("payment attempts"))
    def payment_attempts(self, obj):
        """The latest attempts with their decline codes and what dunning does next."""
        from django.utils import formats, timezone
        from django.utils.html import format_html, format_html_join

        def when(value):
            return formats.localize(timezone.localtime(value)) if value else "-"

        attempts = (PaymentAttempt.objects.filter(invoice__customer=obj).select_related("invoice")
                    .order_by("-created_at", "-pk")[:20])
        if not attempts:
            return "-"
        header = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                             _("invoice"), _("attempt"), _("status"), _("amount"), _("decline code"), _("next retry"),
                             _("dunning"))
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (admin_link(a.invoice), a.number, a.get_status_display(), format_money(a.amount, a.currency), a.decline_code or "-",
             when(a.next_retry_at), dunning_label(a.invoice.dunning_status)) for a in attempts))
        return format_html("<table>{}{}</table>", header, rows)

    def save_model(self, request, obj, form, change):
        if change:  # through the service: the same checks, the row locked, one customer.updated event
            changed = [f for f in form.changed_data if f in self.editable_fields]
            if changed:
                update_customer(obj.pk, {f: form.cleaned_data[f] for f in changed}, at=clock_now())

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BalanceTransaction)
class BalanceTransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer_link", "kind", "amount_display", "invoice", "description", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("customer__email", "description", "invoice__number")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "invoice")
    fields = ("customer_link", "kind", "amount_display", "invoice_link", "description", "created_at")
    amount_display = money_field("amount", _("amount"))

    @admin.display(description=_("customer"), ordering="customer__email")
    def customer_link(self, obj):
        return admin_link(obj.customer)

    @admin.display(description=_("invoice"))
    def invoice_link(self, obj):
        return admin_link(obj.invoice)


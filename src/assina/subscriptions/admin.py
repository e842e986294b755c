from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from assina.admin_actions import (
    customer_column,
    plan_column,
    IntervalFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceAddForm,
    ServiceAdmin,
    admin_link,
    datetime_field,
    field_label,
    format_money,
    interval_label,
    money_field,
    service_action,
)
from assina.catalog.models import Plan
from assina.core.errors import DomainError
from assina.core.states import SubscriptionStatus
from assina.customers.services import get_customer
from assina.i18n import localized_message
from assina.invoices.models import Invoice

from . import services
from .admin_operations import SubscriptionOperationsMixin
from .release import release_catch_up
from .models import ScheduledChange, Subscription, SubscriptionItem

S = SubscriptionStatus


def parse_addons(text: str) -> list[tuple[str, int]]:
    """``"seats:3, support"`` -> ``[("seats", 3), ("support", 1)]``."""
    addons = []
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        code, _sep, quantity = part.partition(":")
        quantity = quantity.strip() or "1"
        if not quantity.isdigit():
            raise forms.ValidationError(_("%(value)s: the quantity after ':' must be a whole number.") % {"value": part})
        addons.append((code.strip(), int(quantity)))
    return addons


class SubscriptionAddForm(ServiceAddForm):
    customer = forms.CharField(label=field_label(Subscription, "customer"), max_length=254,
                               help_text=_("The customer's email or id."))
    plan = forms.ModelChoiceField(label=field_label(Subscription, "plan"), to_field_name="code",
                                  queryset=Plan.objects.filter(kind=Plan.Kind.BASE, active=True))
    quantity = forms.IntegerField(label=field_label(SubscriptionItem, "quantity"), min_value=1, initial=1)
    addons = forms.CharField(label=_("add-ons"), required=False, max_length=500,
                             help_text=_("Add-on codes with quantities, e.g. \"extra-seats:3, support\"."))
    coupon = forms.CharField(label=_("coupon or promotion code"), max_length=64, required=False)
    trial_days = forms.IntegerField(label=_("trial days"), min_value=0, required=False,
                                    help_text=_("Empty: the plan's trial."))
    start = datetime_field(field_label(Subscription, "started_at"), required=False,
                           help_text=_("Empty: now. A past time backdates the subscription, at most one billing period; "
                                     "a future one is refused."))

    class Meta(ServiceAddForm.Meta):
        model = Subscription

    def clean(self):
        data = self.cleaned_data
        if "customer" in data:
            try:
                data["customer_obj"] = get_customer(data["customer"].strip())
            except DomainError as exc:
                self.add_error("customer", localized_message(exc))
        if "addons" in data:
            try:
                data["addon_list"] = parse_addons(data["addons"])
            except forms.ValidationError as exc:
                self.add_error("addons", exc)
        return super().clean()

    def create(self, data: dict) -> Subscription:
        return services.create_subscription(
            customer=data["customer_obj"], plan_code=data["plan"].code, start=data["start"], quantity=data["quantity"],
            coupon_code=data["coupon"].strip() or None, addons=data["addon_list"], trial_days=data["trial_days"],
        )


class SubscriptionItemInline(ReadOnlyInline):
    model = SubscriptionItem
    fields = ("plan_version", "quantity", "unit_price")
    show_change_link = False

    @admin.display(description=_("unit price"))
    def unit_price(self, obj):
        return format_money(obj.plan_version.unit_amount, obj.plan_version.currency)


class ScheduledChangeInline(ReadOnlyInline):
    model = ScheduledChange
    fields = ("effective_at", "change", "status", "created_at", "applied_at")
    show_change_link = False


class SubscriptionInvoiceInline(ReadOnlyInline):
    model = Invoice
    fk_name = "subscription"
    fields = ("number", "status", "billing_reason", "period_start", "total_display", "amount_due_display")
    total_display = money_field("total", _("total"))
    amount_due_display = money_field("amount_due", _("amount due"))


def sub_reference(sub: Subscription) -> str:
    """How operators and the CLI name a subscription: sub_42."""
    return f"sub_{sub.pk}"


def _payment_warning(sub: Subscription) -> str | None:
    sub.refresh_from_db()
    if sub.status in (S.PAST_DUE.value, S.INCOMPLETE.value):
        return _("the payment failed; the subscription is %(status)s.") % {"status": sub.get_status_display()}
    return None


class HeldFilter(admin.SimpleListFilter):
    """Subscriptions held for catch-up (too many periods were due at once): the operator's list."""

    title = _("held for catch-up")
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(catch_up_held_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(catch_up_held_at__isnull=True)
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(SubscriptionOperationsMixin, ServiceAdmin):
    add_form = SubscriptionAddForm
    add_fieldsets = (
        (None, {"fields": ("customer", "plan", "quantity", "addons")}),
        (_("Options"), {"fields": ("coupon", "trial_days", "start")}),
    )
    # What fits a 1366 px screen; the interval and cancel-at-period-end are filters on the right.
    list_display = ("reference", "customer_name", "plan_name", "status", "current_period_end", "started_at")
    customer_name = customer_column
    plan_name = plan_column
    ordering = ("-started_at", "-pk")  # newest first
    list_filter = ("status", HeldFilter, "cancel_at_period_end", "plan", IntervalFilter, "currency")
    search_fields = ("customer__email", "customer__name", "plan__code", "=id")
    date_hierarchy = "started_at"
    list_select_related = ("customer", "plan")
    fieldsets = (
        (None, {"fields": ("customer_link", "plan", "status", "currency", "billing", "metadata")}),
        (_("Period"), {"fields": ("started_at", "billing_anchor", "billing_starts_at", "trial_end",
                                  "current_period_start", "current_period_end", "next_action_at",
                                  "catch_up_held_at")}),
        (_("Cancellation and pause"), {"fields": ("cancel_at_period_end", "canceled_at", "ended_at", "cancel_reason",
                                                  "paused_at", "resumes_at")}),
        (_("Discount and payment"), {"fields": ("coupon", "discount_applies_from", "discount_applies_until",
                                                "payment_method")}),
    )
    readonly_fields = ("customer_link", "billing")
    inlines = (SubscriptionItemInline, ScheduledChangeInline, SubscriptionInvoiceInline)
    actions = (
        service_action("cancel_at_period_end", _("Cancel at period end"),
                       lambda sub: services.cancel_at_period_end(sub.pk),
                       ngettext_lazy("%(count)d subscription will cancel at period end.",
                                     "%(count)d subscriptions will cancel at period end.", "count"), label=sub_reference),
        service_action("reactivate", _("Reactivate (undo cancel at period end)"),
                       lambda sub: services.reactivate(sub.pk),
                       ngettext_lazy("%(count)d subscription reactivated.", "%(count)d subscriptions reactivated.", "count"), label=sub_reference),
        service_action("cancel_now", _("Cancel now"),
                       lambda sub: services.cancel_now(sub.pk),
                       ngettext_lazy("%(count)d subscription canceled.", "%(count)d subscriptions canceled.", "count"), label=sub_reference),
        service_action("cancel_now_with_credit", _("Cancel now and credit unused time"),
                       lambda sub: services.cancel_now(sub.pk, prorate=True),
                       ngettext_lazy("%(count)d subscription canceled.", "%(count)d subscriptions canceled.", "count"), label=sub_reference),
        service_action("pause", _("Pause"),
                       lambda sub: services.pause(sub.pk),
                       ngettext_lazy("%(count)d subscription paused.", "%(count)d subscriptions paused.", "count"), label=sub_reference),
        service_action("resume", _("Resume"),
                       lambda sub: _payment_warning(services.resume(sub.pk)),
                       ngettext_lazy("%(count)d subscription resumed.", "%(count)d subscriptions resumed.", "count"), label=sub_reference),
        service_action("release_bill", _("Release from catch-up: bill the missed periods"),
                       lambda sub: _payment_warning(release_catch_up(sub.pk, "bill")),
                       ngettext_lazy("%(count)d subscription released; its missed periods are billed.",
                                     "%(count)d subscriptions released; their missed periods are billed.", "count"),
                       label=sub_reference),
        service_action("release_skip", _("Release from catch-up: skip the missed periods (no charge)"),
                       lambda sub: _payment_warning(release_catch_up(sub.pk, "skip")),
                       ngettext_lazy("%(count)d subscription released; its missed periods are not billed.",
                                     "%(count)d subscriptions released; their missed periods are not billed.", "count"),
                       label=sub_reference),
    )

    @admin.display(description=_("subscription"), ordering="pk")
    def reference(self, obj):
        return sub_reference(obj)

    @admin.display(description=_("customer"), ordering="customer__email")
    def customer_link(self, obj):
        return admin_link(obj.customer)

    @admin.display(description=_("billing period"), ordering="interval")
    def billing(self, obj):
        return interval_label(obj.interval, obj.interval_count)

    def save_model(self, request, obj, form, change):
        if not change and obj.status == S.INCOMPLETE.value:
            messages.warning(request, _("The first payment failed: the subscription is incomplete until it is paid."))

    def has_change_permission(self, request, obj=None):
        return False  # every change is an action that calls a service

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SubscriptionItem)
class SubscriptionItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "subscription", "plan_version", "quantity")
    search_fields = ("subscription__customer__email", "plan_version__plan__code")
    list_select_related = ("subscription__plan", "plan_version__plan")
    fields = ("subscription", "plan_version", "quantity", "unit_price")

    @admin.display(description=_("unit price"))
    def unit_price(self, obj):
        return format_money(obj.plan_version.unit_amount, obj.plan_version.currency)


@admin.register(ScheduledChange)
class ScheduledChangeAdmin(ReadOnlyAdmin):
    list_display = ("id", "subscription", "effective_at", "change", "status", "applied_at")
    list_filter = ("status",)
    search_fields = ("subscription__customer__email",)
    date_hierarchy = "effective_at"
    list_select_related = ("subscription__plan",)
    fields = ("subscription", "effective_at", "change", "status", "created_at", "applied_at")

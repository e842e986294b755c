from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
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
    parse_money_input,
    service_action,
)
from assina.catalog.models import Plan
from assina.core.errors import DomainError
from assina.core.states import LIVE, SubscriptionStatus
from assina.customers.services import get_customer
from assina.i18n import localized_message
from assina.invoices.models import Invoice

from . import services
from .changes import change_subscription, preview_change
from .discounts import apply_discount, remove_discount, upcoming_discount
from .release import release_catch_up
from .models import ScheduledChange, SkippedDelivery, Subscription, SubscriptionItem

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


# --- acting on one subscription from its page ----------------------------------------------
# Buttons for the operations that apply to it now, and a plan or quantity change with its
# proration previewed before it is made. Every button posts to a view that calls the same service
# as the API and the CLI; a refusal (DomainError) is shown as an error and nothing changes.
# name -> (button text, the service call, success message)
OPERATIONS: dict[str, tuple[object, Callable[[Subscription], object], object]] = {
    "cancel_at_period_end": (_("Cancel at period end"), lambda sub: services.cancel_at_period_end(sub.pk),
                             _("The subscription will end when the paid period ends.")),
    "reactivate": (_("Reactivate"), lambda sub: services.reactivate(sub.pk),
                   _("The cancellation is undone: the subscription renews as before.")),
    "pause": (_("Pause"), lambda sub: services.pause(sub.pk), _("The subscription is paused.")),
    "resume": (_("Resume"), lambda sub: services.resume(sub.pk), _("The subscription is resumed.")),
    "cancel_now": (_("Cancel now"), lambda sub: services.cancel_now(sub.pk), _("The subscription has ended.")),
    "cancel_now_with_credit": (_("Cancel now and credit unused time"), lambda sub: services.cancel_now(sub.pk, prorate=True),
                               _("The subscription has ended; the unused time is credited to the customer.")),
    "release_bill": (_("Release: bill the missed periods"), lambda sub: release_catch_up(sub.pk, "bill"),
                     _("Released from catch-up; the missed periods are billed.")),
    "release_skip": (_("Release: skip the missed periods"), lambda sub: release_catch_up(sub.pk, "skip"),
                     _("Released from catch-up; the missed periods are not billed.")),
}
# Operations that end something: the page asks the browser to confirm them.
CONFIRM = {"cancel_now", "cancel_now_with_credit", "release_skip"}


def recognisable(sub: Subscription) -> str:
    """How an owner recognises a subscription: the customer's name and the plan (sub_42 for the CLI)."""
    return f"{sub.customer.name or sub.customer.email} · {sub.plan.name}"


def available(sub: Subscription) -> list[str]:
    """The operations that make sense for the subscription as it is now (the service still decides)."""
    if getattr(sub, "catch_up_held_at", None) is not None:
        return ["release_bill", "release_skip", "cancel_now"]
    if sub.status == S.PAUSED.value:
        return ["resume", "cancel_now"]
    if sub.status not in LIVE:
        return []
    if sub.cancel_at_period_end:
        return ["reactivate", "cancel_now", "cancel_now_with_credit"]
    ops = ["cancel_at_period_end", "cancel_now", "cancel_now_with_credit"]
    if sub.status == S.ACTIVE.value:
        ops.insert(1, "pause")
    return ops


def can_change_plan(sub: Subscription) -> bool:
    return sub.status in LIVE and getattr(sub, "catch_up_held_at", None) is None


class ChangePlanForm(forms.Form):
    WHEN = (("now", _("Now, with proration on the next invoice")),
            ("now_invoice", _("Now, with proration invoiced and charged at once")),
            ("period_end", _("When the current period ends")))
    plan = forms.ModelChoiceField(label=_("plan"), to_field_name="code", queryset=Plan.objects.none())
    quantity = forms.IntegerField(label=_("quantity"), min_value=1, max_value=1_000_000)
    when = forms.ChoiceField(label=_("when"), choices=WHEN, initial="now", widget=forms.RadioSelect)

    def __init__(self, sub: Subscription, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(kind=Plan.Kind.BASE, active=True,
                                                            currency=sub.currency).order_by("name")


class DiscountForm(forms.Form):
    """A discount from the next invoice: a percentage or an amount for N periods, or a catalog coupon."""

    KINDS = (("percent", _("Percentage off")), ("amount", _("Amount off")), ("coupon", _("A coupon from the catalog")))
    kind = forms.ChoiceField(label=_("discount"), choices=KINDS, initial="percent", widget=forms.RadioSelect)
    percent_off = forms.DecimalField(label=_("percent off"), required=False, min_value=0, max_value=100,
                                     max_digits=5, decimal_places=2)
    amount_off = forms.CharField(label=_("amount off"), required=False, max_length=32,
                                 help_text=_("In the subscription's currency, e.g. 10.00"))
    periods = forms.IntegerField(label=_("for how many periods"), required=False, min_value=1, max_value=120,
                                 help_text=_("Empty: forever."))
    coupon = forms.CharField(label=_("coupon or promotion code"), required=False, max_length=64,
                             help_text=_("The coupon's own duration applies."))

    def __init__(self, sub: Subscription, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sub = sub

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == "percent" and data.get("percent_off") is None:
            self.add_error("percent_off", _("Give the percentage off."))
        if kind == "amount":
            data["amount_minor"] = parse_money_input(self, "amount_off", self.sub.currency)
            if data["amount_minor"] is None and not self.has_error("amount_off"):
                self.add_error("amount_off", _("Give the amount off."))
        if kind == "coupon" and not (data.get("coupon") or "").strip():
            self.add_error("coupon", _("Give the coupon or promotion code."))
        return data

    def apply(self) -> Subscription:
        data = self.cleaned_data
        if data["kind"] == "coupon":
            return apply_discount(self.sub.pk, coupon_code=data["coupon"].strip())
        if data["kind"] == "amount":
            return apply_discount(self.sub.pk, amount_off=data["amount_minor"], periods=data["periods"])
        return apply_discount(self.sub.pk, percent_off=data["percent_off"], periods=data["periods"])


def can_discount(sub: Subscription) -> bool:
    return sub.status in LIVE and getattr(sub, "catch_up_held_at", None) is None


class SubscriptionOperationsMixin:
    """Mixed into the subscription admin: the buttons on its page and the change-plan page."""

    change_form_template = "admin/subscriptions/subscription/change_form.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<int:object_id>/operate/<str:operation>/", wrap(self.operate_view), name="subscriptions_subscription_operate"),
                path("<int:object_id>/change-plan/", wrap(self.change_plan_view), name="subscriptions_subscription_change_plan"),
                path("<int:object_id>/discount/", wrap(self.discount_view), name="subscriptions_subscription_discount"),
                *super().get_urls()]

    def _subscription(self, request, object_id: int) -> Subscription:
        sub = Subscription.objects.select_related("plan", "customer").filter(pk=object_id).first()
        if sub is None:
            raise Http404
        if not self.has_operate_permission(request):
            raise PermissionDenied
        return sub

    def _back(self, sub: Subscription) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:subscriptions_subscription_change", args=[sub.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        sub = Subscription.objects.select_related("customer", "plan").filter(pk=object_id).first() if str(object_id).isdigit() else None
        extra = dict(extra_context or {})
        if sub is not None:
            extra["title"] = recognisable(sub)
        if sub is not None and self.has_operate_permission(request):
            extra["operations"] = [(name, OPERATIONS[name][0], name in CONFIRM,
                                    reverse("admin:subscriptions_subscription_operate", args=[sub.pk, name]))
                                   for name in available(sub)]
            if can_change_plan(sub):
                extra["change_plan_url"] = reverse("admin:subscriptions_subscription_change_plan", args=[sub.pk])
            if can_discount(sub):
                extra["discount_url"] = reverse("admin:subscriptions_subscription_discount", args=[sub.pk])
        return super().change_view(request, object_id, form_url, extra)

    def operate_view(self, request, object_id: int, operation: str):
        return require_POST(self._operate)(request, object_id, operation)

    def _operate(self, request, object_id: int, operation: str):
        sub = self._subscription(request, object_id)
        if operation not in OPERATIONS:
            raise Http404
        _label, call, done = OPERATIONS[operation]
        try:
            call(sub)
        except DomainError as exc:
            messages.error(request, localized_message(exc))
        else:
            messages.success(request, done)
            sub.refresh_from_db()
            if sub.status in (S.PAST_DUE.value, S.INCOMPLETE.value):
                messages.warning(request, _("The payment failed; the subscription is %(status)s.")
                                 % {"status": sub.get_status_display()})
        return self._back(sub)

    def change_plan_view(self, request, object_id: int):
        sub = self._subscription(request, object_id)
        item = sub.items.select_related("plan_version__plan").filter(plan_version__plan__kind=Plan.Kind.BASE).first()
        initial = {"plan": sub.plan.code, "quantity": item.quantity if item else 1, "when": "now"}
        form = ChangePlanForm(sub, request.POST or None, initial=initial)
        preview = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if "confirm" in request.POST:
                    change_subscription(sub.pk, plan_code=data["plan"].code, quantity=data["quantity"],
                                        at_period_end=data["when"] == "period_end", invoice_now=data["when"] == "now_invoice")
                    messages.success(request, _("The change is made.") if data["when"] != "period_end"
                                     else _("The change is scheduled for the end of the current period."))
                    return self._back(sub)
                preview = self._preview(sub, data)
            except DomainError as exc:
                form.add_error(None, localized_message(exc))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": sub,
                   "title": _("Change the plan or quantity: %(subscription)s") % {"subscription": recognisable(sub)},
                   "form": form, "preview": preview, "subscription": sub,
                   "back_url": reverse("admin:subscriptions_subscription_change", args=[sub.pk])}
        return TemplateResponse(request, "admin/subscriptions/subscription/change_plan.html", context)

    def discount_view(self, request, object_id: int):
        """Put a discount on the subscription from its next invoice, or remove the one it has."""
        sub = self._subscription(request, object_id)
        form = DiscountForm(sub, request.POST or None)
        if request.method == "POST":
            try:
                if "remove" in request.POST:
                    remove_discount(sub.pk)
                    messages.success(request, _("The discount stops from the next invoice."))
                    return self._back(sub)
                if form.is_valid():
                    form.apply()
                    messages.success(request, _("The discount applies from the next invoice."))
                    return self._back(sub)
            except DomainError as exc:
                form.add_error(None, localized_message(exc))
        sub.refresh_from_db()
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": sub,
                   "title": _("Discount: %(subscription)s") % {"subscription": recognisable(sub)},
                   "form": form, "subscription": sub, "has_discount": upcoming_discount(sub),
                   "current_coupon": sub.coupon.code if sub.coupon_id else None,
                   "next_invoice_at": sub.current_period_end,
                   "back_url": reverse("admin:subscriptions_subscription_change", args=[sub.pk])}
        return TemplateResponse(request, "admin/subscriptions/subscription/discount.html", context)

    @staticmethod
    def _preview(sub: Subscription, data: dict) -> dict:
        if data["when"] == "period_end":
            return {"lines": [], "net": None, "scheduled": True}
        change = preview_change(sub.pk, plan_code=data["plan"].code, quantity=data["quantity"])
        return {"lines": [(line.description, format_money(line.amount, sub.currency)) for line in change.lines],
                "net": format_money(change.net, sub.currency), "scheduled": False, "resets_period": change.resets_period}


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
        (_("Cancellation and pause"), {"fields": ("cancel_at_period_end", "canceled_at", "ended_at",
                                                  "cancel_reason_label", "paused_at", "resumes_at")}),
        (_("Discount and payment"), {"fields": ("coupon", "discount_applies_from", "discount_applies_until",
                                                "payment_method")}),
    )
    readonly_fields = ("customer_link", "billing", "cancel_reason_label")
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

    @admin.display(description=_("cancellation reason"))
    def cancel_reason_label(self, obj):
        """The reason in words ("Not using it"), never its code ("unused")."""
        from assina.analytics.presentation import reason_label

        return reason_label(obj.cancel_reason) if obj.cancel_reason else "-"

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


@admin.register(SkippedDelivery)
class SkippedDeliveryAdmin(ReadOnlyAdmin):
    """Skipped deliveries (a customer's choice in the portal, or ``assina subscription
    skip-delivery``), and the month's shipment list: who ships what where, as a page and as CSV."""

    list_display = ("subscription", "period_start", "period_end", "created_at")
    search_fields = ("subscription__customer__email",)
    date_hierarchy = "period_start"
    list_select_related = ("subscription__plan",)
    fields = ("subscription", "period_start", "period_end", "created_at")
    change_list_template = "admin/subscriptions/skippeddelivery/change_list.html"

    def get_urls(self):
        return [path("shipments/", self.admin_site.admin_view(self.shipments_view),
                     name="subscriptions_skippeddelivery_shipments"), *super().get_urls()]

    def shipments_view(self, request):
        """The deliveries of a month; ``?period=YYYY-MM&format=csv`` downloads them. The list
        holds customers' addresses: staff who may view subscriptions and customers only."""
        from django.http import HttpResponse

        from assina.time import now

        from .shipments import shipments, shipments_csv

        if not (request.user.has_perm("subscriptions.view_subscription")
                and request.user.has_perm("customers.view_customer")):
            raise PermissionDenied
        period = request.GET.get("period") or now().strftime("%Y-%m")
        error, rows = "", []
        try:
            if request.GET.get("format") == "csv":
                response = HttpResponse(shipments_csv(period), content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="shipments-{period}.csv"'
                return response
            rows = shipments(period)
        except DomainError as exc:
            error = localized_message(exc)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": _("Shipments"),
                   "period": period, "error": error,
                   "rows": [{"invoice": s.invoice, "status": s.status, "name": s.name, "email": s.email,
                             "items": "; ".join(f"{name} × {quantity}" for _code, name, quantity in s.items),
                             "address": ", ".join(v for v in s.address.values() if v),
                             "customer_url": reverse("admin:customers_customer_change", args=[s.customer_id])}
                            for s in rows]}
        return TemplateResponse(request, "admin/subscriptions/skippeddelivery/shipments.html", context,
                                status=400 if error else 200)

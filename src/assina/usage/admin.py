"""Metrics and metered prices (catalog models managed here), usage events and usage charges."""

import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from assina.admin_actions import ReadOnlyAdmin, ServiceAddForm, ServiceAdmin, format_money, parse_decimal_amount
from assina.catalog.models import PRICING_MODELS, MeteredPrice, Metric, Plan
from assina.core.errors import DomainError
from assina.core.pricing import PricingModel
from assina.i18n import localized_message

from . import services
from .models import UsageCharge, UsageEvent


class MetricAddForm(ServiceAddForm):
    code = forms.SlugField(label=_("code"), max_length=64)
    name = forms.CharField(label=_("name"), max_length=200)
    aggregation = forms.ChoiceField(label=_("aggregation"), choices=Metric.Aggregation.choices)
    unique_property = forms.CharField(label=_("counted property"), max_length=64, required=False,
                                      help_text=_("For a unique count: the event property whose distinct values are counted."))

    def create(self, data):
        return services.create_metric(code=data["code"], name=data["name"], aggregation=data["aggregation"],
                                      unique_property=data.get("unique_property") or "")


@admin.register(Metric)
class MetricAdmin(ServiceAdmin):
    add_form = MetricAddForm
    add_fieldsets = ((None, {"fields": ("code", "name", "aggregation", "unique_property")}),)
    list_display = ("code", "name", "aggregation", "unique_property", "created_at")
    fields = ("code", "name", "aggregation", "unique_property", "created_at")
    readonly_fields = ("code", "aggregation", "unique_property", "created_at")
    search_fields = ("code", "name")


class MeteredPriceAddForm(ServiceAddForm):
    plan = forms.ModelChoiceField(label=_("plan"), queryset=Plan.objects.order_by("code"),
                                  help_text=_("The price is added to the plan's newest version."))
    metric = forms.ModelChoiceField(label=_("metric"), queryset=Metric.objects.order_by("code"))
    pricing_model = forms.ChoiceField(label=_("pricing model"),
                                      choices=[c for c in PRICING_MODELS if c[0] != PricingModel.FLAT.value])
    unit_amount = forms.CharField(label=_("price per unit or package"), required=False, help_text=_("e.g. 0.05"))
    package_size = forms.IntegerField(label=_("package size"), min_value=1, initial=1)
    tiers = forms.CharField(label=_("tiers"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                            help_text=_("One tier a line: UP_TO UNIT_PRICE [FLAT_FEE], * for the last UP_TO."))

    def create(self, data):
        from assina.catalog.admin import parse_tiers

        plan = data["plan"]
        try:
            unit = parse_decimal_amount(data.get("unit_amount") or "0", plan.currency)
        except DomainError as exc:
            raise forms.ValidationError(localized_message(exc)) from None
        tiers = parse_tiers(data.get("tiers") or "", plan.currency) if data.get("tiers") else []
        return services.add_metered_price(plan_code=plan.code, metric_code=data["metric"].code,
                                          pricing_model=data["pricing_model"], unit_amount=unit, tiers=tiers,
                                          package_size=data.get("package_size") or 1)


@admin.register(MeteredPrice)
class MeteredPriceAdmin(ServiceAdmin):
    add_form = MeteredPriceAddForm
    add_fieldsets = ((None, {"fields": ("plan", "metric", "pricing_model", "unit_amount", "package_size", "tiers")}),)
    list_display = ("plan_version", "metric", "pricing_model", "price", "package_size", "created_at")
    list_select_related = ("plan_version__plan", "metric")
    fields = ("plan_version", "metric", "pricing_model", "price", "package_size", "tiers", "created_at")
    readonly_fields = fields

    @admin.display(description=_("amount"))
    def price(self, obj):
        return format_money(obj.unit_amount, obj.plan_version.currency)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # prices are never edited

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "metric_code", "value", "timestamp", "event_id", "received_at",
                    "billed_subscription_id", "late")
    list_filter = ("late", "metric_code")
    search_fields = ("=event_id", "=customer__id", "customer__email")
    list_select_related = ("customer",)
    fields = ("customer", "metric_code", "event_id", "value", "timestamp", "properties_display", "received_at",
              "billed_subscription_id", "billed_period_start", "late")
    show_full_result_count = False  # millions of rows

    @admin.display(description=_("properties"))
    def properties_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.properties, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(UsageCharge)
class UsageChargeAdmin(ReadOnlyAdmin):
    list_display = ("subscription", "metric_code", "period_start", "period_end", "quantity", "amount_display",
                    "late_quantity", "late_amount_display", "free")
    list_filter = ("metric_code", "free")
    search_fields = ("=subscription__id",)
    fields = ("subscription", "metric_code", "period_start", "period_end", "quantity", "amount_display", "late_quantity",
              "late_amount_display", "free", "created_at")

    @admin.display(description=_("amount"))
    def amount_display(self, obj):
        return format_money(obj.amount, obj.currency)

    @admin.display(description=_("late amount"))
    def late_amount_display(self, obj):
        return format_money(obj.late_amount, obj.currency)

"""The owner's configuration: which monthly plans switch to which annual plan with what
incentive, which higher plans can be tried for free and for how long; and the temporary upgrades
customers started (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from assina.catalog.models import Plan
from assina.time import now as clock_now

from .models import AnnualOffer, TemporaryUpgrade, TrialPlan

_BASE = Plan.objects.filter(kind=Plan.Kind.BASE)


class AnnualOfferForm(forms.ModelForm):
    class Meta:
        model = AnnualOffer
        fields = ("monthly_plan", "annual_plan", "incentive", "percent_off", "months_free", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["monthly_plan"].queryset = _BASE.filter(interval="month", interval_count=1)
        self.fields["annual_plan"].queryset = _BASE.filter(interval="year", interval_count=1)

    def clean(self):
        data = super().clean()
        monthly, annual = data.get("monthly_plan"), data.get("annual_plan")
        if monthly and annual and monthly.currency != annual.currency:
            self.add_error("annual_plan", _("The annual plan must bill in the monthly plan's currency (%(currency)s).")
                           % {"currency": monthly.currency})
        incentive = data.get("incentive")
        if incentive == AnnualOffer.Incentive.PERCENT:
            percent = data.get("percent_off")
            if percent is None or not 0 < percent < 100:
                self.add_error("percent_off", _("Give a percentage between 0 and 100 (typically 10 to 20)."))
            data["months_free"] = None
        elif incentive == AnnualOffer.Incentive.MONTHS_FREE:
            if not data.get("months_free"):
                self.add_error("months_free", _("Give a number of free months between 1 and 11."))
            data["percent_off"] = None
        return data


@admin.register(AnnualOffer)
class AnnualOfferAdmin(admin.ModelAdmin):
    form = AnnualOfferForm
    list_display = ("monthly_plan", "annual_plan", "incentive", "percent_off", "months_free", "active")
    list_filter = ("active", "incentive")
    list_select_related = ("monthly_plan", "annual_plan")

    def save_model(self, request, obj, form, change):
        if not obj.created_at:
            obj.created_at = clock_now()
        obj.percent_off, obj.months_free = form.cleaned_data.get("percent_off"), form.cleaned_data.get("months_free")
        super().save_model(request, obj, form, change)


class TrialPlanForm(forms.ModelForm):
    class Meta:
        model = TrialPlan
        fields = ("plan", "days", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = _BASE
        self.fields["plan"].help_text = _("Customers of a cheaper plan with the same currency and interval may try it for free.")


@admin.register(TrialPlan)
class TrialPlanAdmin(admin.ModelAdmin):
    form = TrialPlanForm
    list_display = ("plan", "days", "active")
    list_filter = ("active", "days")
    list_select_related = ("plan",)

    def save_model(self, request, obj, form, change):
        if not obj.created_at:
            obj.created_at = clock_now()
        super().save_model(request, obj, form, change)


@admin.register(TemporaryUpgrade)
class TemporaryUpgradeAdmin(admin.ModelAdmin):
    list_display = ("customer", "subscription", "from_plan", "to_plan", "started_at", "ends_at", "reminded_at",
                    "confirmed_at", "reverted_at")
    list_filter = ("to_plan",)
    search_fields = ("customer__email", "customer__name")
    list_select_related = ("customer", "subscription", "from_plan", "to_plan")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

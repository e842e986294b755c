"""The owner's health settings (weights, bands, risk threshold), and the scores and churn models to read."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import ChurnModel, HealthScore, HealthSettings


@admin.register(HealthSettings)
class HealthSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "healthy_from", "at_risk_below", "risk_threshold", "retrain_days")
    fieldsets = (
        (_("Weights"), {"fields": ("weight_usage_trend", "weight_recency", "weight_onboarding", "weight_payments",
                                   "weight_feedback", "weight_support", "weight_tenure"),
                        "description": _("Each component counts for its weight over the sum of the weights; a "
                                         "component with nothing to judge (no survey answered, no onboarding "
                                         "defined) is left out and the others share its place.")}),
        (_("Bands and risk"), {"fields": ("healthy_from", "at_risk_below", "risk_threshold", "retrain_days")}),
    )

    def has_add_permission(self, request):
        return not HealthSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from assina.time import now

        obj.updated_at = now()
        super().save_model(request, obj, form, change)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HealthScore)
class HealthScoreAdmin(ReadOnly):
    list_display = ("customer", "score", "band", "churn_probability", "risk_source", "mrr", "currency", "computed_at")
    list_filter = ("band", "risk_source")
    search_fields = ("customer__email", "customer__name")
    list_select_related = ("customer",)


@admin.register(ChurnModel)
class ChurnModelAdmin(ReadOnly):
    list_display = ("trained_at", "beats_baseline", "in_use", "n_train", "n_test")

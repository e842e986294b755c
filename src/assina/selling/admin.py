"""The owner's admin pages of checkout: the add-ons suggested per plan (at most three) and the
checkout sessions (read only: only checkout writes them)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from assina.admin_actions import ReadOnlyAdmin

from .models import CheckoutSession, CheckoutSuggestion
from .services import MAX_SUGGESTIONS


class CheckoutSuggestionForm(forms.ModelForm):
    class Meta:
        model = CheckoutSuggestion
        fields = ("plan", "addon", "position")

    def clean(self):
        data = super().clean()
        plan, addon = data.get("plan"), data.get("addon")
        if plan is None or addon is None:
            return data
        if (addon.currency, addon.interval, addon.interval_count) != (plan.currency, plan.interval, plan.interval_count):
            self.add_error("addon", _("The add-on must bill in the plan's currency and interval."))
        others = CheckoutSuggestion.objects.filter(plan=plan).exclude(pk=self.instance.pk)
        if others.count() >= MAX_SUGGESTIONS:
            self.add_error("plan", _("A plan has at most three suggested add-ons: remove one first."))
        return data


@admin.register(CheckoutSuggestion)
class CheckoutSuggestionAdmin(admin.ModelAdmin):
    form = CheckoutSuggestionForm
    list_display = ("plan", "addon", "position")
    list_select_related = ("plan", "addon")
    search_fields = ("plan__code", "addon__code")


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyAdmin):
    list_display = ("key", "plan", "origin", "status", "outcome", "customer", "subscription", "created_at", "completed_at")
    list_filter = ("status", "outcome", "origin")
    list_select_related = ("plan", "customer", "subscription")
    search_fields = ("key", "customer_email")
    fields = ("key", "plan", "origin", "status", "outcome", "customer_email", "promotion_code", "addons", "customer",
              "subscription", "success_url", "cancel_url", "created_at", "expires_at", "completed_at")

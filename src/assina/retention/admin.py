"""The owner's side of the cancel flow: the reasons (words, order, hidden), the offer per reason
and variant, the settings (shuffle, offer limit), and the cancel sessions (read-only), which also
show on each customer's page (``CancelSessionInline``, used by ``customers.admin``)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from assina.admin_actions import ReadOnlyAdmin, ReadOnlyInline, format_money

from . import rules
from .models import CancelOffer, CancelReason, CancelSession, RetentionSettings


class SeededMixin:
    """The default reasons and offers exist before the owner first looks at them."""

    def changelist_view(self, request, extra_context=None):
        rules.settings_row()
        return super().changelist_view(request, extra_context)


@admin.register(CancelReason)
class CancelReasonAdmin(SeededMixin, admin.ModelAdmin):
    list_display = ("code", "standard_label", "position", "hidden", "label_en", "label_pt_br")
    list_editable = ("position", "hidden", "label_en", "label_pt_br")
    fields = ("code", "position", "hidden", "label_en", "label_pt_br")
    readonly_fields = ("code",)

    @admin.display(description=_("standard wording"))
    def standard_label(self, obj):
        return str(obj)

    # The reasons are Stripe's eight: the owner words, orders and hides them, never adds or removes.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CancelOffer)
class CancelOfferAdmin(SeededMixin, admin.ModelAdmin):
    list_display = ("reason", "variant", "active", "kind", "pause_periods", "plan_code", "percent_off", "discount_periods")
    list_filter = ("reason", "kind", "active")
    fieldsets = (
        (None, {"fields": ("reason", "variant", "active", "kind")}),
        (_("Pause"), {"fields": ("pause_periods",)}),
        (_("Cheaper plan"), {"fields": ("plan_code",)}),
        (_("Discount (also the optional discount of “tell us more”)"), {"fields": ("percent_off", "discount_periods")}),
    )


@admin.register(RetentionSettings)
class RetentionSettingsAdmin(admin.ModelAdmin):
    """One row: the list goes straight to it."""

    fields = ("shuffle_reasons", "offer_limit", "offer_window_days")

    def changelist_view(self, request, extra_context=None):
        row = rules.settings_row()
        return HttpResponseRedirect(reverse("admin:retention_retentionsettings_change", args=[row.pk]))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SessionColumns:
    @admin.display(description=_("MRR at start"), ordering="mrr")
    def mrr_display(self, obj):
        return format_money(obj.mrr, obj.currency)


@admin.register(CancelSession)
class CancelSessionAdmin(SessionColumns, ReadOnlyAdmin):
    list_display = ("started_at", "customer", "subscription", "reason", "offer_kind", "variant", "outcome", "mrr_display",
                    "still_paying_at_30_days")
    list_filter = ("outcome", "reason", "offer_kind", "variant", "still_paying_at_30_days", "started_at")
    search_fields = ("customer__email", "customer__name", "reason_text", "feedback_text")
    list_select_related = ("customer", "subscription")
    date_hierarchy = "started_at"
    fields = ("customer", "subscription", "portal_session", "started_at", "updated_at", "reason", "reason_text",
              "reason_order", "variant", "offer", "offer_kind", "offer_terms", "offer_shown_at", "offer_accepted_at",
              "offer_declined_at", "feedback_text", "outcome", "completed_at", "mrr_display", "save_checked_at",
              "still_paying_at_30_days")


class CancelSessionInline(SessionColumns, ReadOnlyInline):
    """A customer's cancel sessions, newest first, on the customer's page."""

    model = CancelSession
    fk_name = "customer"
    ordering = ("-started_at", "-pk")
    verbose_name_plural = _("cancel flow: sessions, reasons and offers")
    fields = ("started_at", "subscription", "reason", "reason_text", "offer_kind", "variant", "offer_terms", "outcome",
              "feedback_text", "mrr_display")

"""The owner's price migrations: start one (a form that calls ``services.create_migration``, so
the checks and the notices are the same as the CLI's and the API's), see its report and its
subscriptions (read-only)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from assina.catalog.models import Plan
from assina.core.errors import DomainError
from assina.i18n import localized_message
from assina.notifications.models import Segment

from .models import Choice, PriceMigration, PriceMigrationMember
from .report import migration_report
from .services import create_migration, new_price


def _base_plans():
    return Plan.objects.filter(kind=Plan.Kind.BASE, active=True)


class MigrationForm(forms.Form):
    plan = forms.ModelChoiceField(_base_plans(), label=_("plan"), to_field_name="code")
    amount = forms.CharField(label=_("new price"), max_length=32, required=False,
                             help_text=_("In the plan's currency, with a dot: 59.90. A new version of the plan at this "
                                         "price. Empty: the plan's current version."))
    effective_at = forms.DateTimeField(label=_("effective from"),
                                       help_text=_("At least 30 days ahead (YYYY-MM-DD HH:MM, in the business time zone)."))
    audience = forms.ChoiceField(label=_("who"), choices=PriceMigration.Audience.choices)
    segment = forms.ModelChoiceField(Segment.objects.all(), label=_("segment"), required=False)
    subscribed_before = forms.DateTimeField(label=_("subscribed before"), required=False)
    loyalty_percent = forms.DecimalField(label=_("loyalty discount (%)"), max_digits=5, decimal_places=2, required=False)
    loyalty_periods = forms.IntegerField(label=_("loyalty discount periods"), min_value=1, max_value=24, required=False)
    switch_plan = forms.ModelChoiceField(_base_plans(), label=_("cheaper plan offered"), required=False, to_field_name="code")
    allow_annual = forms.BooleanField(label=_("offer to keep the old price on an annual switch"), required=False)
    annual_plan = forms.ModelChoiceField(_base_plans().filter(interval="year", interval_count=1), label=_("annual plan offered"),
                                         required=False, to_field_name="code",
                                         help_text=_("Its current price is kept. Empty: the plan's annual billing offer."))
    default_choice = forms.ChoiceField(label=_("default when no answer"),
                                       choices=[(Choice.ACCEPT.value, Choice.ACCEPT.label), (Choice.SWITCH.value, Choice.SWITCH.label)])

    def start(self) -> PriceMigration:
        """Create the migration from the cleaned data (``services.create_migration``, as the CLI
        and the API). Raises ``DomainError`` (translated) with nothing written."""
        data = self.cleaned_data
        amount = (data["amount"] or "").strip()
        return create_migration(
            plan_code=data["plan"].code, new_amount=new_price(data["plan"].code, amount) if amount else None,
            effective_at=data["effective_at"], audience=data["audience"],
            segment=data["segment"].pk if data["segment"] else None, subscribed_before=data["subscribed_before"],
            loyalty_percent=data["loyalty_percent"], loyalty_periods=data["loyalty_periods"],
            switch_plan_code=data["switch_plan"].code if data["switch_plan"] else None,
            allow_annual=data["allow_annual"], annual_plan_code=data["annual_plan"].code if data["annual_plan"] else None,
            default_choice=data["default_choice"])


@admin.register(PriceMigration)
class PriceMigrationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "plan", "effective_at", "members_count", "default_choice", "status", "created_at")
    list_filter = ("status",)
    list_select_related = ("plan", "new_version")
    readonly_fields = ("report",)
    fields = ("report",)

    def has_add_permission(self, request):
        return request.user.has_perm("repricing.add_pricemigration")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("report"))
    def report(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(migration_report(obj.pk), indent=2, ensure_ascii=False))

    def get_urls(self):
        return [path("start/", self.admin_site.admin_view(self.start_view), name="repricing_pricemigration_start"),
                *super().get_urls()]

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:repricing_pricemigration_start")

    def start_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = MigrationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                migration = form.start()
            except DomainError as refused:
                form.add_error(None, localized_message(refused))
            else:
                self.message_user(request, _("Price migration started: %(count)s subscriptions notified.")
                                  % {"count": migration.members_count}, messages.SUCCESS)
                return redirect("admin:repricing_pricemigration_change", migration.pk)
        context = {**self.admin_site.each_context(request), "title": _("Start a price migration"), "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/repricing/start.html", context)


@admin.register(PriceMigrationMember)
class PriceMigrationMemberAdmin(admin.ModelAdmin):
    list_display = ("__str__", "customer", "target_at", "choice", "armed_choice", "outcome", "mrr_before", "mrr_after")
    list_filter = ("migration", "choice", "outcome")
    search_fields = ("customer__email",)
    list_select_related = ("customer", "migration")
    readonly_fields = [f.name for f in PriceMigrationMember._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from assina.admin_actions import ReadOnlyAdmin, admin_link, format_money, money_field
from assina.time import now as clock_now
from assina.core.errors import DomainError
from assina.i18n import gateway_message, localized_message
from assina.invoices.models import Invoice

from .dunning import current_policy, parse_days, parse_grace, save_policy, settings_policy
from .models import FINAL_ACTIONS, DunningPolicy, PaymentAttempt, PaymentMethod, Refund, SandboxCard, SandboxCharge
from .reports import recovery_report
from .retries import open_dunning


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    # Cards are attached through the gateway (customers.services / payments.services), never typed here.
    list_display = ("__str__", "customer", "gateway", "created_at", "detached_at")
    list_filter = ("gateway", "brand")
    search_fields = ("customer__email", "last4", "token")
    date_hierarchy = "created_at"
    list_select_related = ("customer",)
    fields = ("customer", "gateway", "token", "brand", "last4", "exp_month", "exp_year", "created_at", "detached_at")


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyAdmin):
    list_display = ("idempotency_key", "invoice", "number", "status", "amount_display", "decline_code", "created_at",
                    "completed_at", "next_retry_at")
    list_filter = ("status", "gateway", "decline_code", "currency")
    search_fields = ("idempotency_key", "invoice__number", "invoice__customer__email", "gateway_charge_id")
    date_hierarchy = "created_at"
    list_select_related = ("invoice",)
    fields = ("invoice_link", "number", "idempotency_key", "payment_method", "gateway", "amount_display", "status",
              "decline_code", "message_display", "gateway_charge_id", "created_at", "completed_at", "next_retry_at")
    amount_display = money_field("amount", _("amount"))

    @admin.display(description=_("invoice"))
    def invoice_link(self, obj):
        return admin_link(obj.invoice)

    @admin.display(description=_("message"))
    def message_display(self, obj):
        return gateway_message(obj.message)


@admin.register(SandboxCard)
class SandboxCardAdmin(ReadOnlyAdmin):
    list_display = ("token", "brand", "last4", "behaviour", "exp_month", "exp_year")
    list_filter = ("behaviour", "brand")
    search_fields = ("token", "last4")


@admin.register(SandboxCharge)
class SandboxChargeAdmin(ReadOnlyAdmin):
    list_display = ("charge_id", "idempotency_key", "amount_display", "succeeded", "decline_code", "created_at")
    list_filter = ("succeeded", "decline_code", "currency")
    search_fields = ("charge_id", "idempotency_key", "token")
    date_hierarchy = "created_at"
    fields = ("charge_id", "idempotency_key", "token", "amount_display", "succeeded", "decline_code", "created_at")
    amount_display = money_field("amount", _("amount"))


# --- dunning -------------------------------------------------------------------------------

DUNNING_LABELS = {
    "retrying": _("Retrying"),
    "awaiting_method": _("Waiting for a new card"),
    "recovered": _("Recovered"),
    "exhausted": _("Final action taken"),
}


def dunning_label(value: str) -> str:
    return str(DUNNING_LABELS.get(value, value or "-"))


class DunningPolicyForm(forms.ModelForm):
    class Meta:
        model = DunningPolicy
        fields = ("retry_days", "hard_decline_codes", "soft_decline_codes", "grace_days", "final_action")

    def clean(self):
        data = super().clean()
        try:
            parse_days(data.get("retry_days", ""))
            parse_grace(data.get("grace_days", 0))
        except DomainError as exc:
            raise forms.ValidationError(localized_message(exc)) from None
        return data


@admin.register(DunningPolicy)
class DunningPolicyAdmin(admin.ModelAdmin):
    """One policy: the list page shows it with the recovery figures; editing validates and
    records the change like the CLI (``assina dunning policy``)."""

    form = DunningPolicyForm

    def has_add_permission(self, request):
        return not DunningPolicy.objects.filter(pk=1).exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changeform_initial_data(self, request):
        policy = settings_policy()
        return {"retry_days": ", ".join(map(str, policy.retry_days)), "hard_decline_codes": ", ".join(sorted(policy.hard_codes)),
                "soft_decline_codes": ", ".join(sorted(policy.soft_codes)), "grace_days": policy.grace_days,
                "final_action": policy.final_action}

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        save_policy(retry_days=data["retry_days"], hard_codes=data["hard_decline_codes"],
                    soft_codes=data["soft_decline_codes"], grace_days=data["grace_days"],
                    final_action=data["final_action"], at=clock_now())
        obj.pk = 1

    def changelist_view(self, request, extra_context=None):
        from django.urls import reverse

        policy = current_policy()
        exists = DunningPolicy.objects.filter(pk=1).exists()
        months = []
        for row in recovery_report()["months"]:
            currency = row["currency"]
            months.append({**row, "failed_display": format_money(row["failed_amount"], currency),
                           "recovered_display": format_money(row["recovered_amount"], currency),
                           "lost_display": format_money(row["lost_amount"], currency),
                           "in_progress_display": format_money(row["in_progress_amount"], currency),
                           "rate_display": f"{row['recovery_rate'] * 100:.1f} %" if row["recovery_rate"] is not None else "-"})
        in_dunning = [{"link": admin_link(i), "customer": i.customer.email, "amount": format_money(i.amount_due, i.currency),
                       "dunning": dunning_label(i.dunning_status), "attempts": i.attempt_count,
                       "next_retry": i.next_payment_attempt, "final_at": i.dunning_final_at}
                      for i in Invoice.objects.filter(open_dunning()).select_related("customer").order_by("dunning_started_at")[:200]]
        context = {
            **self.admin_site.each_context(request), "title": _("Dunning and recovery"), "policy": policy,
            "final_action": dict(FINAL_ACTIONS).get(policy.final_action, policy.final_action), "from_settings": not exists,
            "edit_url": reverse("admin:payments_dunningpolicy_change", args=[1]) if exists
            else reverse("admin:payments_dunningpolicy_add"),
            "months": months, "in_dunning": in_dunning, "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/payments/dunning.html", context)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("idempotency_key", "invoice", "amount_display", "status", "credit_note", "created_at")
    list_filter = ("status", "currency")
    search_fields = ("idempotency_key", "invoice__number", "invoice__customer__email")
    list_select_related = ("invoice", "credit_note")
    fields = ("invoice", "attempt", "number", "idempotency_key", "amount_display", "status", "reason", "gateway_refund_id",
              "message", "credit_note", "created_at", "completed_at")
    amount_display = money_field("amount", _("amount"))

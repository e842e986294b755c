from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from assina.admin_actions import ReadOnlyAdmin, admin_link, money_field
from assina.i18n import gateway_message

from .models import PaymentAttempt, PaymentMethod, SandboxCard, SandboxCharge


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
                    "completed_at")
    list_filter = ("status", "gateway", "decline_code", "currency")
    search_fields = ("idempotency_key", "invoice__number", "invoice__customer__email", "gateway_charge_id")
    date_hierarchy = "created_at"
    list_select_related = ("invoice",)
    fields = ("invoice_link", "number", "idempotency_key", "payment_method", "gateway", "amount_display", "status",
              "decline_code", "message_display", "gateway_charge_id", "created_at", "completed_at")
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

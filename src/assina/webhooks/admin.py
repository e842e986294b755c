"""Webhook endpoints, their deliveries and every attempt's response, in the admin.

Endpoints are created and changed through the services (so each change records its event);
deliveries are read-only and can be re-sent. A signing secret is shown once, in the message
after the endpoint is created or its secret rotated; the endpoint's page shows it masked.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from assina.admin_actions import ReadOnlyAdmin, ReadOnlyInline, ServiceAddForm, ServiceAdmin, admin_link, service_action

from . import services, signing
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def _types(text: str) -> list[str]:
    return [t for t in text.replace(",", " ").split() if t]


class EndpointAddForm(ServiceAddForm):
    url = forms.URLField(label=_("URL"), max_length=2000, assume_scheme="https")
    description = forms.CharField(label=_("description"), max_length=200, required=False)
    event_types = forms.CharField(label=_("event types"), required=False,
                                  help_text=_("Separated by spaces: invoice.paid, invoice.* or *. Empty: every event."))

    def create(self, data):
        return services.create_endpoint(url=data["url"], description=data.get("description") or "",
                                        event_types=_types(data.get("event_types") or ""))


class DeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    fields = ("event", "status", "attempts", "next_attempt_at", "last_response_status", "delivered_sequence")
    ordering = ("-id",)
    verbose_name_plural = _("latest deliveries")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("event")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceAdmin):
    add_form = EndpointAddForm
    add_fieldsets = ((None, {"fields": ("url", "description", "event_types")}),)
    list_display = ("url", "description", "enabled", "failing_since", "disabled_at", "created_at")
    list_filter = ("enabled",)
    search_fields = ("url", "description")
    fields = ("url", "description", "event_types", "enabled", "masked_secret", "previous_secret_expires_at",
              "failing_since", "disabled_at", "disabled_reason", "created_at", "updated_at")
    readonly_fields = fields
    inlines = (DeliveryInline,)
    actions = [
        "rotate_secret",
        service_action("enable", _("Enable"), lambda e: services.update_endpoint(e.pk, enabled=True),
                       ngettext_lazy("Enabled %(count)d endpoint.", "Enabled %(count)d endpoints.", "count")),
        service_action("disable", _("Disable"), lambda e: services.update_endpoint(e.pk, enabled=False),
                       ngettext_lazy("Disabled %(count)d endpoint.", "Disabled %(count)d endpoints.", "count")),
    ]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # changes go through the actions

    @admin.display(description=_("signing secret"))
    def masked_secret(self, obj):
        return signing.mask(obj.secret)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:  # the service created it in the add form: its secret, this once
            messages.warning(request, gettext("Webhook endpoint created. Copy its signing secret now, it will not be "
                                           "shown again: %(secret)s") % {"secret": obj.secret})

    @admin.action(description=_("Rotate the signing secret (the old one signs too for 24 hours)"),
                  permissions=["operate"])
    def rotate_secret(self, request, queryset):
        for endpoint in queryset.order_by("pk"):
            rotated = services.rotate_secret(endpoint.pk)
            messages.warning(request, gettext("%(url)s: new signing secret (copy it now, it will not be shown again): "
                                           "%(secret)s") % {"url": rotated.url, "secret": rotated.secret})

    def has_delete_permission(self, request, obj=None):
        return False


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ("attempted_at", "response_status", "duration_ms", "error_text", "response_body", "manual")
    show_change_link = False

    @admin.display(description=_("error"))
    def error_text(self, obj):
        return gettext(obj.error) if obj.error else ""  # the sender stores one of a few English texts


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "endpoint", "event_link", "status", "attempts", "next_attempt_at", "last_response_status",
                    "delivered_sequence")
    list_filter = ("status", "endpoint")
    list_select_related = ("endpoint", "event")
    search_fields = ("=event__id", "event__type")
    fields = ("endpoint", "event_link", "webhook_id", "status", "attempts", "next_attempt_at", "last_attempt_at",
              "last_response_status", "delivered_at", "delivered_sequence", "created_at")
    inlines = (AttemptInline,)
    show_full_result_count = False
    actions = [service_action(
        "redeliver", _("Send again (same webhook-id)"), lambda d: services.redeliver(d.endpoint_id, d.pk),
        ngettext_lazy("Queued %(count)d delivery to be sent again.", "Queued %(count)d deliveries to be sent again.", "count"))]

    @admin.display(description=_("event"))
    def event_link(self, obj):
        return admin_link(obj.event, format_html("#{} {}", obj.event_id, obj.event.type))

    @admin.display(description=_("webhook-id"))
    def webhook_id(self, obj):
        return obj.webhook_id

"""Portal sessions and links in the admin (read-only), with the owner's revoke action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import PortalLink, PortalSession, PortalSettings


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.action(description=_("Revoke every portal link and session of these customers"), permissions=["view"])
def revoke_customers(modeladmin, request, queryset):
    customers = {row.customer for row in queryset.select_related("customer")}
    for customer in customers:
        services.revoke(customer)
    modeladmin.message_user(request, ngettext("Portal access revoked for %(count)d customer.",
                                              "Portal access revoked for %(count)d customers.",
                                              len(customers)) % {"count": len(customers)}, messages.SUCCESS)


@admin.register(PortalSession)
class PortalSessionAdmin(ReadOnly):
    list_display = ("customer", "created_at", "last_seen_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("customer__email", "customer__name")
    list_select_related = ("customer",)
    exclude = ("key",)
    actions = [revoke_customers]


@admin.register(PortalLink)
class PortalLinkAdmin(ReadOnly):
    list_display = ("customer", "origin", "flow", "created_at", "expires_at", "used_at", "revoked_at")
    list_filter = ("origin", "flow")
    search_fields = ("customer__email", "customer__name")
    list_select_related = ("customer",)
    exclude = ("nonce",)
    actions = [revoke_customers]


@admin.register(PortalSettings)
class PortalSettingsAdmin(admin.ModelAdmin):
    """The portal's one settings row (issue 16: what customers may change themselves)."""

    filter_horizontal = ("plans",)

    def has_add_permission(self, request):
        return not PortalSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

"""Portal sessions and links in the admin (read-only), with the owner's revoke action; and
"End portal access" on the customers (an action on their list, a button on a customer's page),
both through ``services.revoke`` after a confirmation page, for staff who may change customers."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from assina.customers.models import Customer

from . import services
from .models import PortalLink, PortalSession, PortalSettings

REVOKE_PERMISSION = "customers.change_customer"


def may_revoke(request) -> bool:
    """Ending a customer's portal access changes what the customer can do: it takes the right to
    change customers (seeing portal sessions is not enough)."""
    return request.user.is_active and request.user.is_staff and request.user.has_perm(REVOKE_PERMISSION)


def _open_sessions(customers) -> int:
    return PortalSession.objects.filter(customer__in=customers, revoked_at__isnull=True,
                                        last_seen_at__gt=services.wall() - services.IDLE_TIMEOUT).count()


def _revoke_all(request, customers: list) -> None:
    sessions = links_ = 0
    for customer in customers:
        done = services.revoke(customer)
        sessions, links_ = sessions + done["sessions_ended"], links_ + done["links_revoked"]
    messages.success(request, ngettext(
        "Portal access ended for %(count)d customer (sessions ended: %(sessions)d, unused links revoked: %(links)d); "
        "the buttons in messages already sent no longer sign in.",
        "Portal access ended for %(count)d customers (sessions ended: %(sessions)d, unused links revoked: %(links)d); "
        "the buttons in messages already sent no longer sign in.",
        len(customers)) % {"count": len(customers), "sessions": sessions, "links": links_})


def _confirmation(request, admin_site, customers: list, *, action: str = "") -> TemplateResponse:
    return TemplateResponse(request, "admin/portal/end_access_confirmation.html", {
        **admin_site.each_context(request), "opts": Customer._meta, "customers": customers, "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME, "title": _("End portal access"),
        "sessions": _open_sessions(customers),
    })


@admin.action(description=_("End portal access…"), permissions=["end_portal_access"])
def end_portal_access(modeladmin, request, queryset):
    """On the customers' list: a confirmation page first (a GET never changes anything), then
    every session ended and every unused link and mailed button refused."""
    customers = list(queryset.order_by("pk"))
    if request.POST.get("confirm") != "yes":
        return _confirmation(request, modeladmin.admin_site, customers, action="end_portal_access")
    _revoke_all(request, customers)
    return None


def end_access_view(admin_site, request, object_id: str):
    """The customer page's button: GET asks, POST (CSRF-checked) ends the access."""
    if not may_revoke(request):
        raise PermissionDenied
    customer = Customer.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
    if customer is None:
        raise Http404
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        _revoke_all(request, [customer])
        return redirect(reverse("admin:customers_customer_change", args=[customer.pk]))
    return _confirmation(request, admin_site, [customer])


def end_access_urls(admin_site) -> list:
    """The button's page, for ``CustomerAdmin.get_urls``."""
    def view(request, object_id):
        return end_access_view(admin_site, request, object_id)

    return [path("<path:object_id>/end-portal-access/", admin_site.admin_view(view),
                 name="customers_customer_end_portal_access")]


@admin.display(description=_("portal access"))
def portal_access_field(modeladmin, obj) -> str:
    """The customer page's line (``CustomerAdmin.portal_access``): the open sessions, and the
    button that ends the access."""
    if obj is None or obj.pk is None:
        return "-"
    live = _open_sessions([obj])
    state = ngettext("%(count)d open session", "%(count)d open sessions", live) % {"count": live}
    return format_html('{} &nbsp; <a class="button" id="end-portal-access" href="{}">{}</a>', state,
                       reverse("admin:customers_customer_end_portal_access", args=[obj.pk]), _("End portal access…"))


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request) -> bool:
        return may_revoke(request)


@admin.action(description=_("Revoke every portal link and session of these customers"), permissions=["revoke"])
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

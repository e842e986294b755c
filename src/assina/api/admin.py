"""API keys in the admin: created here (the secret is shown once, in the message after saving),
listed with their last use, revoked with an action. Nothing else about a key can be edited.

Creating a key needs the ``api.create_apikey`` permission (a key may carry full API access);
renaming and revoking need the change permission, listing the view permission."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .keys import create_key, wall_clock
from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "hint", "mode", "scope", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scope", "mode")
    search_fields = ("name", "hint")
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ("name", "scope") if obj is None else ("name", "hint", "mode", "scope", "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("hint", "mode", "scope", "created_at", "last_used_at", "revoked_at")

    def has_add_permission(self, request):
        return request.user.has_perm("api.create_apikey")

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row keeps the history of its use

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        new = create_key(scope=obj.scope, name=obj.name)
        obj.pk = new.key.pk
        obj.__dict__.update({k: v for k, v in new.key.__dict__.items() if not k.startswith("_")})
        messages.warning(request, _("API key created. Copy its secret now, it will not be shown again: %(secret)s")
                         % {"secret": new.secret})

    @admin.action(description=gettext_lazy("Revoke the selected API keys"), permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=wall_clock())
        messages.success(request, _("%(count)d API key(s) revoked.") % {"count": count})

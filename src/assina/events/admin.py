from django.contrib import admin

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "occurred_at", "customer_id", "subject_type", "subject_id")
    list_filter = ("type", "subject_type")
    search_fields = ("type",)
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

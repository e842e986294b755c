from django.contrib import admin

from .models import ClockState


@admin.register(ClockState)
class ClockStateAdmin(admin.ModelAdmin):
    list_display = ("frozen_at", "updated_at")
    readonly_fields = ("frozen_at", "updated_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from assina.admin_actions import ReadOnlyAdmin

from .models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The append-only log: nothing here is ever added, edited or deleted by hand."""

    list_display = ("id", "type", "occurred_at", "customer_id", "subject_type", "subject_id")
    list_filter = ("type", "subject_type")
    search_fields = ("type", "=subject_id", "=customer_id")
    date_hierarchy = "occurred_at"
    fields = ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data_display")
    show_full_result_count = False  # counting millions of events on every page is slow

    @admin.display(description=_("data"))
    def data_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True, ensure_ascii=False))

from django.contrib import admin

from .models import ExchangeRate


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Rates the dashboard converts other currencies' MRR with (into ASSINA_REPORTING_CURRENCY)."""

    list_display = ("currency", "rate", "valid_from", "updated_at")
    list_filter = ("currency",)
    ordering = ("currency", "-valid_from")

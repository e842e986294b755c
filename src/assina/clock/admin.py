from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from assina.admin_actions import ServiceAddForm, ServiceAdmin, datetime_field
from assina.core.errors import DomainError
from assina.i18n import localized_message
from assina.scheduler import advance_clock
from assina.time import now

from .models import ClockState
from .services import freeze_clock


class FreezeClockForm(ServiceAddForm):
    frozen_at = datetime_field(_("freeze at"),
                               help_text=_("Start a simulation at this time (not before any recorded event)."))

    class Meta(ServiceAddForm.Meta):
        model = ClockState

    def create(self, data: dict) -> ClockState:
        freeze_clock(data["frozen_at"])
        return ClockState.objects.get(pk=1)


class AdvanceClockForm(forms.ModelForm):
    """Moving the clock processes every renewal, retry and scheduled change on the way."""

    advance_to = datetime_field(capfirst(_("advance to")),
                                help_text=_("Renewals, payment retries and scheduled changes due until then are processed."))

    class Meta:
        model = ClockState
        fields = ()

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                self.summary = advance_clock(data["advance_to"])
            except DomainError as exc:
                self.add_error("advance_to", localized_message(exc))
        return data

    def save(self, commit=True):
        self.instance.refresh_from_db()
        return self.instance

    def save_m2m(self):
        pass


@admin.register(ClockState)
class ClockStateAdmin(ServiceAdmin):
    add_form = FreezeClockForm
    add_fieldsets = ((None, {"fields": ("frozen_at",)}),)
    form = AdvanceClockForm
    list_display = ("__str__", "frozen_at", "updated_at")
    fields = ("current_time", "frozen_at", "updated_at", "advance_to")
    readonly_fields = ("current_time", "frozen_at", "updated_at")

    @admin.display(description=_("current time"))
    def current_time(self, obj):
        return now()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # advance_clock commits its due work in batches and collects payments between them: it
        # must not run inside one request-wide transaction.
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        summary = getattr(form, "summary", None)
        if summary:
            messages.info(request, _("Clock moved to %(clock)s.") % {"clock": summary.get("clock")})

    def has_add_permission(self, request):
        sandbox = settings.ASSINA_MODE == "sandbox"
        return sandbox and not ClockState.objects.filter(pk=1).exists() and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return settings.ASSINA_MODE == "sandbox" and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

"""The owner's feedback admin: survey settings (triggers, throttle), the themes (rename, edit the
keywords in each language, assign, mark addressed, merge), and the responses and surveys sent
(read-only: only the services write them)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from assina.admin_actions import ReadOnlyAdmin, ReadOnlyInline

from . import services
from .models import SurveyRequest, SurveyResponse, SurveySettings, Theme


@admin.register(SurveySettings)
class SurveySettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "after_signup", "after_signup_days", "before_renewal", "after_support", "nps_throttle_days")
    fields = ("after_signup", "after_signup_days", "before_renewal", "before_renewal_days", "after_support",
              "on_cancellation", "nps_throttle_days", "link_days")

    def has_add_permission(self, request):
        return not SurveySettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_pt_br", "kind", "assigned_to", "addressed_at", "active")
    list_filter = ("kind", "active")
    search_fields = ("slug", "name_en", "name_pt_br")
    fields = ("slug", "name_en", "name_pt_br", "keywords_en", "keywords_pt_br", "kind", "assigned_to", "addressed_at",
              "active")
    readonly_fields = ("kind",)
    actions = ["mark_addressed", "merge"]

    def save_model(self, request, obj, form, change):
        from assina.time import now

        if not change:
            obj.created_at = now()
        # The comments are themed again by the next run of the feedback job.
        SurveyResponse.objects.update(themed_at=None)
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Mark as addressed"))
    def mark_addressed(self, request, queryset):
        count = services.mark_addressed(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, ngettext("%(count)d theme marked as addressed.", "%(count)d themes marked as addressed.",
                                            count) % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Merge into the first selected theme"))
    def merge(self, request, queryset):
        themes = list(queryset.order_by("pk"))
        if len(themes) < 2:
            self.message_user(request, _("Select at least two themes to merge."), messages.WARNING)
            return
        services.merge_themes(themes[0].pk, [t.pk for t in themes[1:]])
        self.message_user(request, _("Merged into %(name)s; the comments are themed again at the next run.")
                          % {"name": themes[0].name_en}, messages.SUCCESS)


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyAdmin):
    list_display = ("submitted_at", "customer", "survey", "score", "source", "language", "comment")
    list_filter = ("survey", "source", "language")
    search_fields = ("customer__email", "comment")
    list_select_related = ("customer",)
    fields = ("customer", "survey", "score", "comment", "submitted_at", "source", "tags", "language", "request")


@admin.register(SurveyRequest)
class SurveyRequestAdmin(ReadOnlyAdmin):
    list_display = ("sent_at", "customer", "survey", "trigger", "expires_at")
    list_filter = ("survey", "trigger")
    search_fields = ("customer__email",)
    list_select_related = ("customer",)
    fields = ("customer", "survey", "trigger", "trigger_key", "sent_at", "expires_at")


class SurveyResponseInline(ReadOnlyInline):
    """All of a customer's feedback on their page (customers.admin shows it), newest first."""

    model = SurveyResponse
    fk_name = "customer"
    ordering = ("-submitted_at", "-pk")
    fields = ("submitted_at", "survey", "score", "source", "comment", "themes")
    verbose_name_plural = _("feedback")

    @admin.display(description=_("themes"))
    def themes(self, obj):
        return ", ".join(sorted(a.theme.name_en for a in obj.theme_assignments.select_related("theme")))

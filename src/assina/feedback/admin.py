"""The owner's feedback admin: survey settings (triggers, throttle), the themes (rename, edit the
keywords in each language, assign, mark addressed, merge, split, "you asked, we did"), and the responses and surveys sent
(read-only: only the services write them)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from assina.core.errors import DomainError
from assina.i18n import localized_message

from assina.admin_actions import ReadOnlyAdmin, ReadOnlyInline

from . import services
from .models import SurveyRequest, SurveyResponse, SurveySettings, Theme, ThemeAssignment


class SplitForm(forms.Form):
    name_en = forms.CharField(label=_("name of the new theme (English)"), max_length=120)
    name_pt_br = forms.CharField(label=_("name of the new theme (Portuguese)"), max_length=120, required=False)
    keywords_en = forms.MultipleChoiceField(label=_("keywords to move (English)"), required=False,
                                            widget=forms.CheckboxSelectMultiple)
    keywords_pt_br = forms.MultipleChoiceField(label=_("keywords to move (Portuguese)"), required=False,
                                               widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, choices: tuple[list[str], list[str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keywords_en"].choices = [(k, k) for k in choices[0]]
        self.fields["keywords_pt_br"].choices = [(k, k) for k in choices[1]]
        if not choices[1]:
            del self.fields["keywords_pt_br"]


class AnnounceForm(forms.Form):
    note_en = forms.CharField(label=_("what changed (English)"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    note_pt = forms.CharField(label=_("what changed (Portuguese)"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))


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
    change_form_template = "admin/feedback/theme/change_form.html"

    def get_urls(self):
        return [path("<int:theme_id>/split/", self.admin_site.admin_view(self.split_view), name="feedback_theme_split"),
                path("<int:theme_id>/announce/", self.admin_site.admin_view(self.announce_view),
                     name="feedback_theme_announce"),
                *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        if str(object_id).isdigit() and self.has_change_permission(request):
            extra["split_url"] = reverse("admin:feedback_theme_split", args=[object_id])
            extra["announce_url"] = reverse("admin:feedback_theme_announce", args=[object_id])
        return super().change_view(request, object_id, form_url, extra)

    def _theme(self, request, theme_id: int) -> Theme:
        theme = Theme.objects.filter(pk=theme_id).first()
        if theme is None:
            raise Http404
        if not self.has_change_permission(request, theme):
            raise PermissionDenied
        return theme

    def _page(self, request, theme, template: str, title, **context):
        return TemplateResponse(request, f"admin/feedback/theme/{template}", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": theme, "theme": theme,
            "title": title, "back_url": reverse("admin:feedback_theme_change", args=[theme.pk]), **context})

    def split_view(self, request, theme_id: int):
        """Move some of a theme's keywords (and so the comments that use them) to a new theme."""
        from assina.time import now

        theme = self._theme(request, theme_id)
        form = SplitForm(request.POST or None, choices=services.split_choices(theme))
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                new = services.split_theme(theme.pk, name_en=data["name_en"], name_pt_br=data["name_pt_br"],
                                           keywords_en=data["keywords_en"], keywords_pt_br=data.get("keywords_pt_br", []),
                                           at=now())
            except DomainError as exc:
                form.add_error(None, localized_message(exc))
            else:
                messages.success(request, _("%(new)s split from %(old)s; the comments are themed again at the next run.")
                                 % {"new": new.name_en, "old": theme.name_en})
                return HttpResponseRedirect(reverse("admin:feedback_theme_change", args=[new.pk]))
        return self._page(request, theme, "split.html", _("Split %(name)s") % {"name": theme.name_en}, form=form)

    def announce_view(self, request, theme_id: int):
        """"You asked, we did" from the theme's page: write the notes, see who gets them, confirm."""
        from assina.time import now

        from .sending import announce_addressed

        theme = self._theme(request, theme_id)
        form = AnnounceForm(request.POST or None)
        customers = (ThemeAssignment.objects.filter(theme=theme, response__customer__erased_at__isnull=True)
                     .values("response__customer_id").distinct().count())
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if request.POST.get("confirmed") != "yes":  # the notes are written: show what will be sent first
                return self._page(request, theme, "announce_confirm.html",
                                  _("Send “you asked, we did” for %(name)s?") % {"name": theme.name_en},
                                  form=form, customers=customers, note_en=data["note_en"], note_pt=data["note_pt"])
            try:
                result = announce_addressed(theme.slug, data["note_en"], data["note_pt"], now())
            except DomainError as exc:
                form.add_error(None, localized_message(exc))
            else:
                messages.success(request, ngettext(
                    "“You asked, we did” queued for %(queued)d customer; %(name)s is marked addressed.",
                    "“You asked, we did” queued for %(queued)d customers; %(name)s is marked addressed.",
                    result["queued"]) % {"queued": result["queued"], "name": theme.name_en})
                return HttpResponseRedirect(reverse("admin:feedback_theme_change", args=[theme.pk]))
        return self._page(request, theme, "announce.html", _("You asked, we did: %(name)s") % {"name": theme.name_en},
                          form=form, customers=customers)

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

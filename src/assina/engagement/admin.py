"""Onboarding milestones (defined and changed here), notes and tasks on customers (added here, a task
marked done by an action), and the engagement events the product sent (read-only)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from assina.admin_actions import ReadOnlyAdmin, ServiceAddForm, ServiceAdmin
from assina.customers.models import Customer

from . import services
from .models import CustomerNote, EngagementEvent, OnboardingMilestone, Task


class MilestoneAddForm(ServiceAddForm):
    name = forms.CharField(label=_("name"), max_length=100)
    event_name = forms.CharField(label=_("event name"), max_length=64,
                                 help_text=_("The engagement event that marks this milestone, e.g. report_exported."))
    due_days = forms.IntegerField(label=_("due by day"), min_value=0, max_value=3650,
                                  help_text=_("Days after signing up by which it should happen."))
    first_value = forms.BooleanField(label=_("marks first value"), required=False,
                                     help_text=_("Time to first value is measured to this milestone."))
    position = forms.IntegerField(label=_("order"), min_value=0, max_value=1000, initial=0)

    def create(self, data):
        return services.create_milestone(name=data["name"], event_name=data["event_name"], due_days=data["due_days"],
                                         first_value=data.get("first_value") or False, position=data.get("position") or 0)


class MilestoneChangeForm(forms.ModelForm):
    class Meta:
        model = OnboardingMilestone
        fields = ("name", "due_days", "first_value", "position", "active")


@admin.register(OnboardingMilestone)
class OnboardingMilestoneAdmin(ServiceAdmin):
    add_form = MilestoneAddForm
    add_fieldsets = ((None, {"fields": ("name", "event_name", "due_days", "first_value", "position")}),)
    form = MilestoneChangeForm
    list_display = ("name", "event_name", "due_days", "first_value", "position", "active")
    list_filter = ("active",)
    fields = ("name", "event_name", "due_days", "first_value", "position", "active", "created_at")
    readonly_fields = ("event_name", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            return  # created by the add form's service
        data = form.cleaned_data
        services.update_milestone(obj.pk, name=data["name"], due_days=data["due_days"], first_value=data["first_value"],
                                  position=data["position"], active=data["active"])

    def has_delete_permission(self, request, obj=None):
        return False  # made inactive instead: its history stays readable


def _customer_field():
    return forms.CharField(label=_("customer"), max_length=254, help_text=_("The customer's id (cus_12) or e-mail."))


def _find_customer(ref: str) -> Customer:
    ref = ref.strip()
    digits = ref.removeprefix("cus_")
    found = None
    if digits.isdigit() and len(digits) < 19:
        found = Customer.objects.filter(pk=int(digits)).first()
    if found is None:
        found = Customer.objects.filter(email__iexact=ref).first()
    if found is None:
        raise forms.ValidationError(_("No customer with id or e-mail %(ref)s.") % {"ref": ref})
    return found


class NoteAddForm(ServiceAddForm):
    customer = _customer_field()
    kind = forms.ChoiceField(label=_("kind"), choices=CustomerNote.Kind.choices)
    body = forms.CharField(label=_("text"), max_length=services.MAX_BODY, widget=forms.Textarea(attrs={"rows": 5}))
    occurred_at = forms.DateTimeField(label=_("occurred at"), required=False,
                                      help_text=_("When it happened; empty for now."))

    def clean_customer(self):
        return _find_customer(self.cleaned_data["customer"])

    def create(self, data):
        return services.add_note(data["customer"], kind=data["kind"], body=data["body"],
                                 occurred_at=data.get("occurred_at"), author=getattr(self, "author", None))


@admin.register(CustomerNote)
class CustomerNoteAdmin(ServiceAdmin):
    add_form = NoteAddForm
    add_fieldsets = ((None, {"fields": ("customer", "kind", "body", "occurred_at")}),)
    list_display = ("occurred_at", "customer", "kind", "short_body", "author")
    list_filter = ("kind",)
    list_select_related = ("customer", "author")
    search_fields = ("=customer__id", "customer__email", "body")
    fields = ("customer", "kind", "body", "author", "occurred_at", "created_at")
    readonly_fields = fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            form.author = request.user  # the note's author: whoever wrote it down
        return form

    @admin.display(description=_("text"))
    def short_body(self, obj):
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


class TaskAddForm(ServiceAddForm):
    customer = _customer_field()
    title = forms.CharField(label=_("title"), max_length=services.MAX_TITLE)
    due_at = forms.DateTimeField(label=_("due"), required=False)

    def clean_customer(self):
        return _find_customer(self.cleaned_data["customer"])

    def create(self, data):
        return services.add_task(data["customer"], title=data["title"], due_at=data.get("due_at"))


class OpenFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return (("1", _("To do")), ("0", _("Done")))

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(done_at__isnull=self.value() == "1")
        return queryset


@admin.register(Task)
class TaskAdmin(ServiceAdmin):
    add_form = TaskAddForm
    add_fieldsets = ((None, {"fields": ("customer", "title", "due_at")}),)
    list_display = ("title", "customer", "due_at", "done_at", "source")
    list_filter = (OpenFilter,)
    list_select_related = ("customer",)
    search_fields = ("=customer__id", "customer__email", "title")
    fields = ("customer", "title", "due_at", "done_at", "source", "created_at")
    readonly_fields = fields
    actions = ["mark_done"]

    @admin.action(description=_("Mark the selected tasks done"), permissions=["operate"])
    def mark_done(self, request, queryset):
        done = 0
        for task in queryset.filter(done_at__isnull=True).order_by("pk"):
            services.complete_task(task.pk)
            done += 1
        self.message_user(request, ngettext("%(count)d task marked done.", "%(count)d tasks marked done.", done)
                          % {"count": done}, messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EngagementEvent)
class EngagementEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "customer", "name", "value", "imported", "event_id", "received_at")
    list_filter = ("imported",)
    search_fields = ("=event_id", "=customer__id", "customer__email", "=name")
    list_select_related = ("customer",)
    fields = ("customer", "name", "occurred_at", "value", "properties_display", "imported", "event_id", "received_at")
    show_full_result_count = False  # millions of rows

    @admin.display(description=_("properties"))
    def properties_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.properties, indent=2, sort_keys=True, ensure_ascii=False))

"""Shared pieces of the admin: money columns, read-only admins, service-backed forms and actions.

The admin never writes money records itself. Records are created by add forms whose
``clean()`` calls the service (so a service's ``DomainError`` becomes a form error and nothing
is written), and changed by actions that call a service per object (a ``DomainError`` becomes
an error message for that object and that object is left as it was).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_permission_codename
from django.db import models, transaction
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from assina.time import now as clock_now
from assina.core.errors import DomainError
from assina.core.money import Money, exponent, parse_amount
from assina.events.services import record
from assina.i18n import format_money as i18n_format_money
from assina.i18n import localized_message

# --- display -----------------------------------------------------------------------------


def format_money(amount: int | None, currency: str | None) -> str:
    """Minor units as the reader writes money: 4990 BRL -> "R$ 49,90" in Portuguese, "R$49.90" in English."""
    if amount is None or not currency:
        return "-"
    try:
        return i18n_format_money(Money(amount, currency), (get_language() or "en").replace("-br", "-BR"))
    except DomainError:
        return f"{amount} {currency}"  # an unknown currency still shows what is stored


def money_field(field: str, description: Any, *, currency: Callable[[Any], str] | None = None) -> Callable[[Any, Any], str]:
    """A list_display / readonly_fields column showing ``obj.<field>`` formatted as money.

    The currency is ``obj.currency`` unless ``currency(obj)`` says otherwise (invoice lines
    carry their invoice's currency).
    """

    @admin.display(description=description, ordering=field)
    def column(self, obj) -> str:
        return format_money(getattr(obj, field), currency(obj) if currency else obj.currency)

    column.__name__ = f"{field}_display"
    return column


def interval_label(interval: str, count: int) -> str:
    labels = {
        "day": ngettext("%(count)d day", "%(count)d days", count),
        "week": ngettext("%(count)d week", "%(count)d weeks", count),
        "month": ngettext("%(count)d month", "%(count)d months", count),
        "year": ngettext("%(count)d year", "%(count)d years", count),
    }
    return labels.get(interval, f"%(count)d {interval}") % {"count": count}


# The models' interval choices are bare codes ("month"); the admin shows them translated.
INTERVAL_CHOICES = [("day", _("day")), ("week", _("week")), ("month", _("month")), ("year", _("year"))]


class IntervalFilter(admin.SimpleListFilter):
    title = _("interval")
    parameter_name = "interval"

    def lookups(self, request, model_admin):
        return INTERVAL_CHOICES

    def queryset(self, request, queryset):
        return queryset.filter(interval=self.value()) if self.value() else queryset


def admin_link(obj: models.Model | None, text: Any = None) -> str:
    """A link to the object's admin change page (plain text when it has none)."""
    if obj is None:
        return "-"
    opts = obj._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(text if text is not None else obj)
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


@admin.display(description=_("customer"), ordering="customer__name")
def customer_column(self, obj) -> str:
    """A list column: the customer's name (or e-mail), linking to their page; short enough for 1366 px."""
    customer = obj.customer
    return admin_link(customer, customer.name or customer.email)


@admin.display(description=_("plan"), ordering="plan__name")
def plan_column(self, obj) -> str:
    return obj.plan.name


def parse_decimal_amount(text: str, currency: str) -> int:
    """``parse_amount`` that also takes a decimal comma, as written in Brazil ("49,90")."""
    text = text.strip()
    places = exponent(currency)
    if places and re.fullmatch(rf"\d+,\d{{1,{places}}}", text):
        text = text.replace(",", ".")
    return parse_amount(text, currency)


def parse_money_input(form: forms.Form, field: str, currency: str | None) -> int | None:
    """Parse a decimal amount typed in a form into minor units; a bad one is a form error."""
    text = (form.cleaned_data.get(field) or "").strip()
    if not text or not currency:
        return None  # nothing typed, or the currency field already carries its own error
    try:
        return parse_decimal_amount(text, currency)
    except DomainError as exc:
        form.add_error(field, localized_message(exc))
        return None


# --- read-only admins --------------------------------------------------------------------


class OperatePermissionMixin:
    """Actions marked ``permissions=["operate"]`` call services; whoever may change the model may run them."""

    def has_operate_permission(self, request) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")


class ReadOnlyAdmin(OperatePermissionMixin, admin.ModelAdmin):
    """A record only services write: it can be listed and looked at, never added, edited or deleted."""

    def get_readonly_fields(self, request, obj=None):
        # Display-only columns (formatted money, links) named in ``fields`` must be read-only.
        return list(self.readonly_fields) + [f for f in (self.fields or ()) if f not in self.readonly_fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return list(self.fields or ())

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def datetime_field(label: Any, *, required: bool = True, help_text: Any = "") -> forms.SplitDateTimeField:
    """A date and time input with the admin's calendar and clock widgets."""
    return forms.SplitDateTimeField(label=label, required=required, help_text=help_text, widget=AdminSplitDateTime)


def field_label(model: type[models.Model], field: str) -> Any:
    """The model field's (translated) verbose name, so a plain form field reuses its label."""
    return capfirst(model._meta.get_field(field).verbose_name)


# --- creating through the services -------------------------------------------------------


class ServiceAddForm(forms.ModelForm):
    """An add form whose ``clean()`` creates the object through a service.

    Subclasses declare plain form fields and implement ``create(data)``. A ``DomainError`` the
    service raises becomes a form error, and the service's own transaction guarantees nothing
    was written. ``save()`` then just hands the created object to the admin.
    """

    class Meta:
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.label = capfirst(field.label)  # as the admin does for model fields

    # Each subclass defines ``create(self, data) -> the new object``, calling its service.
    create: Callable[[dict], models.Model]

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            self.instance = self.create(data)
        except DomainError as exc:
            raise forms.ValidationError(localized_message(exc)) from None
        return data

    def _post_clean(self) -> None:
        # The service validated and saved the object; there is no model instance to build.
        pass

    def save(self, commit: bool = True) -> models.Model:
        return self.instance

    def save_m2m(self) -> None:
        pass


class ServiceAdmin(OperatePermissionMixin, admin.ModelAdmin):
    """An admin whose add view uses ``add_form`` / ``add_fieldsets`` and a service to create."""

    add_form: type[ServiceAddForm] | None = None
    add_fieldsets: tuple = ()

    def has_add_permission(self, request):
        return self.add_form is not None and super().has_add_permission(request)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None and self.add_form is not None:
            kwargs["form"] = self.add_form
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None and self.add_form is not None:
            return self.add_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else super().get_readonly_fields(request, obj)

    def get_inlines(self, request, obj):
        return () if obj is None else super().get_inlines(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is None:
            # No request-wide transaction when adding: the service opens its own, and a service
            # that charges a card must commit its payment attempt before calling the gateway.
            return self._changeform_view(request, object_id, form_url, extra_context)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        # when adding, the service already saved it in ServiceAddForm.clean()

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)


def save_descriptive_fields(obj: models.Model, fields: Iterable[str], event_type: str) -> None:
    """Save descriptive, non-money fields (a name, an on/off flag) and record the change.

    Used for the few fields an operator may edit in place; everything else goes through the
    services. Runs inside the admin's change-view transaction, so the event commits with it.
    """
    fields = list(fields)
    if not fields:
        return
    with transaction.atomic():
        obj.save(update_fields=fields)
        record(event_type, obj, clock_now(), {field: _jsonable(getattr(obj, field)) for field in fields})


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


# --- actions -----------------------------------------------------------------------------


def service_action(name: str, description: Any, call: Callable[[Any], Any], done: Any,
                   label: Callable[[Any], str] = str) -> Callable:
    """An admin action that calls ``call(obj)`` for each selected object in its own transaction.

    A ``DomainError`` becomes an error message for that object (the service rolled back, so the
    object is unchanged); a text returned by ``call`` is shown as a warning (any other result is
    ignored). ``done`` is an ``ngettext_lazy`` message with a ``%(count)d`` placeholder for the
    objects that succeeded; ``label(obj)`` names an object in the messages.
    """

    def action(modeladmin, request, queryset):
        succeeded = 0
        for obj in queryset.order_by("pk"):
            try:
                warning = call(obj)
            except DomainError as exc:
                messages.error(request, _("%(object)s: %(error)s") % {"object": label(obj), "error": localized_message(exc)})
                continue
            succeeded += 1
            if isinstance(warning, (str, Promise)) and warning:
                messages.warning(request, _("%(object)s: %(warning)s") % {"object": label(obj), "warning": warning})
        if succeeded:
            messages.success(request, done % {"count": succeeded})

    action.__name__ = name
    return admin.action(description=description, permissions=["operate"])(action)

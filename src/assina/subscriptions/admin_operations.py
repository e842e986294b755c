"""What an owner can do to one subscription from its admin page: buttons for the operations that
apply to it now, and a plan or quantity change with its proration previewed before it is made.

Every button posts to a view that calls the same service as the API and the CLI; a refusal
(``DomainError``) is shown as an error and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from assina.admin_actions import format_money
from assina.catalog.models import Plan
from assina.core.errors import DomainError
from assina.core.states import LIVE, SubscriptionStatus
from assina.i18n import localized_message

from . import services
from .changes import change_subscription, preview_change
from .models import Subscription
from .release import release_catch_up

S = SubscriptionStatus

# name -> (button text, the service call, success message)
OPERATIONS: dict[str, tuple[object, Callable[[Subscription], object], object]] = {
    "cancel_at_period_end": (_("Cancel at period end"), lambda sub: services.cancel_at_period_end(sub.pk),
                             _("The subscription will end when the paid period ends.")),
    "reactivate": (_("Reactivate"), lambda sub: services.reactivate(sub.pk),
                   _("The cancellation is undone: the subscription renews as before.")),
    "pause": (_("Pause"), lambda sub: services.pause(sub.pk), _("The subscription is paused.")),
    "resume": (_("Resume"), lambda sub: services.resume(sub.pk), _("The subscription is resumed.")),
    "cancel_now": (_("Cancel now"), lambda sub: services.cancel_now(sub.pk), _("The subscription has ended.")),
    "cancel_now_with_credit": (_("Cancel now and credit unused time"), lambda sub: services.cancel_now(sub.pk, prorate=True),
                               _("The subscription has ended; the unused time is credited to the customer.")),
    "release_bill": (_("Release: bill the missed periods"), lambda sub: release_catch_up(sub.pk, "bill"),
                     _("Released from catch-up; the missed periods are billed.")),
    "release_skip": (_("Release: skip the missed periods"), lambda sub: release_catch_up(sub.pk, "skip"),
                     _("Released from catch-up; the missed periods are not billed.")),
}
# Operations that end something: the page asks the browser to confirm them.
CONFIRM = {"cancel_now", "cancel_now_with_credit", "release_skip"}


def recognisable(sub: Subscription) -> str:
    """How an owner recognises a subscription: the customer's name and the plan (sub_42 for the CLI)."""
    return f"{sub.customer.name or sub.customer.email} · {sub.plan.name}"


def available(sub: Subscription) -> list[str]:
    """The operations that make sense for the subscription as it is now (the service still decides)."""
    if getattr(sub, "catch_up_held_at", None) is not None:
        return ["release_bill", "release_skip", "cancel_now"]
    if sub.status == S.PAUSED.value:
        return ["resume", "cancel_now"]
    if sub.status not in LIVE:
        return []
    if sub.cancel_at_period_end:
        return ["reactivate", "cancel_now", "cancel_now_with_credit"]
    ops = ["cancel_at_period_end", "cancel_now", "cancel_now_with_credit"]
    if sub.status == S.ACTIVE.value:
        ops.insert(1, "pause")
    return ops


def can_change_plan(sub: Subscription) -> bool:
    return sub.status in LIVE and getattr(sub, "catch_up_held_at", None) is None


class ChangePlanForm(forms.Form):
    WHEN = (("now", _("Now, with proration on the next invoice")),
            ("now_invoice", _("Now, with proration invoiced and charged at once")),
            ("period_end", _("When the current period ends")))
    plan = forms.ModelChoiceField(label=_("plan"), to_field_name="code", queryset=Plan.objects.none())
    quantity = forms.IntegerField(label=_("quantity"), min_value=1, max_value=1_000_000)
    when = forms.ChoiceField(label=_("when"), choices=WHEN, initial="now", widget=forms.RadioSelect)

    def __init__(self, sub: Subscription, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(kind=Plan.Kind.BASE, active=True,
                                                            currency=sub.currency).order_by("name")


class SubscriptionOperationsMixin:
    """Mixed into the subscription admin: the buttons on its page and the change-plan page."""

    change_form_template = "admin/subscriptions/subscription/change_form.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<int:object_id>/operate/<str:operation>/", wrap(self.operate_view), name="subscriptions_subscription_operate"),
                path("<int:object_id>/change-plan/", wrap(self.change_plan_view), name="subscriptions_subscription_change_plan"),
                *super().get_urls()]

    def _subscription(self, request, object_id: int) -> Subscription:
        sub = Subscription.objects.select_related("plan", "customer").filter(pk=object_id).first()
        if sub is None:
            raise Http404
        if not self.has_operate_permission(request):
            raise PermissionDenied
        return sub

    def _back(self, sub: Subscription) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:subscriptions_subscription_change", args=[sub.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        sub = Subscription.objects.select_related("customer", "plan").filter(pk=object_id).first() if str(object_id).isdigit() else None
        extra = dict(extra_context or {})
        if sub is not None:
            extra["title"] = recognisable(sub)
        if sub is not None and self.has_operate_permission(request):
            extra["operations"] = [(name, OPERATIONS[name][0], name in CONFIRM,
                                    reverse("admin:subscriptions_subscription_operate", args=[sub.pk, name]))
                                   for name in available(sub)]
            if can_change_plan(sub):
                extra["change_plan_url"] = reverse("admin:subscriptions_subscription_change_plan", args=[sub.pk])
        return super().change_view(request, object_id, form_url, extra)

    def operate_view(self, request, object_id: int, operation: str):
        return require_POST(self._operate)(request, object_id, operation)

    def _operate(self, request, object_id: int, operation: str):
        sub = self._subscription(request, object_id)
        if operation not in OPERATIONS:
            raise Http404
        _label, call, done = OPERATIONS[operation]
        try:
            call(sub)
        except DomainError as exc:
            messages.error(request, localized_message(exc))
        else:
            messages.success(request, done)
            sub.refresh_from_db()
            if sub.status in (S.PAST_DUE.value, S.INCOMPLETE.value):
                messages.warning(request, _("The payment failed; the subscription is %(status)s.")
                                 % {"status": sub.get_status_display()})
        return self._back(sub)

    def change_plan_view(self, request, object_id: int):
        sub = self._subscription(request, object_id)
        item = sub.items.select_related("plan_version__plan").filter(plan_version__plan__kind=Plan.Kind.BASE).first()
        initial = {"plan": sub.plan.code, "quantity": item.quantity if item else 1, "when": "now"}
        form = ChangePlanForm(sub, request.POST or None, initial=initial)
        preview = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if "confirm" in request.POST:
                    change_subscription(sub.pk, plan_code=data["plan"].code, quantity=data["quantity"],
                                        at_period_end=data["when"] == "period_end", invoice_now=data["when"] == "now_invoice")
                    messages.success(request, _("The change is made.") if data["when"] != "period_end"
                                     else _("The change is scheduled for the end of the current period."))
                    return self._back(sub)
                preview = self._preview(sub, data)
            except DomainError as exc:
                form.add_error(None, localized_message(exc))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": sub,
                   "title": _("Change the plan or quantity: %(subscription)s") % {"subscription": recognisable(sub)},
                   "form": form, "preview": preview, "subscription": sub,
                   "back_url": reverse("admin:subscriptions_subscription_change", args=[sub.pk])}
        return TemplateResponse(request, "admin/subscriptions/subscription/change_plan.html", context)

    @staticmethod
    def _preview(sub: Subscription, data: dict) -> dict:
        if data["when"] == "period_end":
            return {"lines": [], "net": None, "scheduled": True}
        change = preview_change(sub.pk, plan_code=data["plan"].code, quantity=data["quantity"])
        return {"lines": [(line.description, format_money(line.amount, sub.currency)) for line in change.lines],
                "net": format_money(change.net, sub.currency), "scheduled": False, "resets_period": change.resets_period}

"""The portal's delivery page (issue 19): the shipping address, and for each subscription whose
plan ships goods its next delivery, what is in it (a bundle's parts), the shipping and how far
the customer is from free shipping, and "skip the next delivery" (or ship it after all).

A GET shows; a POST acts through the services (``customers.services.set_shipping_address``,
``subscriptions.deliveries``) and comes back here with a message on screen. A refusal shows its
reason on the page (status 400) and nothing is changed. Another customer's subscription is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from assina.core.errors import DomainError
from assina.core.shipping import ADDRESS_FIELDS, address_lines
from assina.customers.services import set_shipping_address
from assina.i18n import localized_message
from assina.notifications.context import local_date, money, number
from assina.portal import manage
from assina.subscriptions.deliveries import outlook, skip_next_delivery, unskip_next_delivery
from assina.subscriptions.models import Subscription
from assina.time import now as clock_now

from . import _language, _page, portal_session


def _shipped(customer) -> list[Subscription]:
    return list(Subscription.objects.select_related("plan").filter(customer_id=customer.pk, plan__ships_goods=True,
                                                                   ended_at__isnull=True).order_by("pk"))


def _subscription_context(sub: Subscription, customer) -> dict:
    locale, tz, currency = customer.locale, customer.time_zone, sub.currency
    seen = outlook(sub)
    parts = [{"name": p.description, "quantity": number(p.quantity, locale)} for p in seen.parts]
    if seen.left_for_free is None:
        progress = ""
    elif seen.left_for_free == 0:
        progress = _("Shipping is free: your deliveries reach %(threshold)s.") % {
            "threshold": money(seen.free_from, currency, locale)}
    else:
        progress = _("Add %(left)s more per delivery and shipping is free (from %(threshold)s).") % {
            "left": money(seen.left_for_free, currency, locale), "threshold": money(seen.free_from, currency, locale)}
    return {"id": sub.pk, "plan": sub.plan.name, "parts": parts,
            "next": local_date(seen.next_start, locale, tz) if seen.next_start else "",
            "skipped": seen.next_skipped, "skippable": seen.skippable, "skips_left": seen.skips_left,
            "skips_allowed": seen.skips_allowed, "fee": money(seen.fee, currency, locale),
            "spend": money(seen.spend, currency, locale), "progress": progress,
            "percent": 100 if seen.left_for_free == 0 else (
                int(100 * seen.spend / seen.free_from) if seen.free_from else 0)}


def _render(request, customer, language: str, *, error: str = "", address: dict | None = None, status: int = 200):
    subscriptions = _shipped(customer)
    current = customer.shipping_address or {}
    context = {"error": error, "address": address if address is not None else current,
               "address_lines": address_lines(current), "fields": ADDRESS_FIELDS,
               "subscriptions": [_subscription_context(sub, customer) for sub in subscriptions]}
    return _page(request, "delivery.html", language, context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@portal_session
def page(request):
    customer = request.portal.customer
    language = _language(customer)
    with translation.override(language):
        if request.method == "GET":
            return _render(request, customer, language)
        action = request.POST.get("action", "")
        if action == "address":
            data = {name: request.POST.get(name, "") for name in ADDRESS_FIELDS}
            try:
                set_shipping_address(customer.pk, data, clock_now())
            except DomainError as refused:
                return _render(request, customer, language, error=localized_message(refused), address=data, status=400)
            messages.success(request, _("Done: your deliveries go to the new address."))
            return redirect("portal:delivery")
        if action not in ("skip", "unskip"):
            return _render(request, customer, language, error=_("Choose what to do."), status=400)
        sub_id = request.POST.get("subscription", "")
        try:
            sub = manage.owned_subscription(customer, int(sub_id)) if sub_id.isdigit() else None
        except manage.NotFound:
            sub = None
        if sub is None:
            raise Http404
        try:
            if action == "skip":
                skip, _new = skip_next_delivery(sub.pk)
                text = _("Done: the delivery of %(date)s is skipped and will not be charged.") % {
                    "date": local_date(skip.period_start, customer.locale, customer.time_zone)}
            else:
                unskip_next_delivery(sub.pk)
                text = _("Done: your next delivery ships as planned.")
        except DomainError as refused:
            return _render(request, customer, language, error=localized_message(refused), status=400)
        messages.success(request, text)
        return redirect("portal:delivery")

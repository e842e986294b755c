"""Customer pages linked from messages (under ``/c/``): update the card, reactivate, unsubscribe.

Each link carries a signed token (``links``). A GET only shows a page; every change is a POST
from that page (or, for unsubscribing, the RFC 8058 one-click POST a mail client sends), so a
link scanner or prefetcher that follows links changes nothing. Pages are in the customer's
language.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from assina.time import now as clock_now
from assina.core.errors import DomainError
from assina.customers.models import Customer
from assina.i18n import localized_message

from . import links
from .consent import unsubscribe as unsubscribe_customer
from .rendering import branding, message_locale


def _page(request, template: str, customer, context: dict, status: int = 200):
    language = "pt-br" if customer is not None and message_locale(customer.locale) == "pt-BR" else "en"
    with translation.override(language):
        return render(request, f"notifications/pages/{template}", {"business": branding(), "lang": language, **context},
                      status=status)


def _invalid(request):
    return _page(request, "message.html", None, {"title": _("This link is not valid"),
                                                  "text": _("The link is broken or has expired.")}, status=404)


@require_http_methods(["GET", "POST"])
def update_card(request, token: str):
    customer_id = links.card_customer(token)
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    if customer is None:
        return _invalid(request)
    error = ""
    if request.method == "POST":
        from assina.payments.services import attach_card

        try:
            exp_month, exp_year = int(request.POST.get("exp_month", "")), int(request.POST.get("exp_year", ""))
        except ValueError:
            exp_month = exp_year = None
        number = "".join(ch for ch in request.POST.get("number", "") if ch.isdigit())
        with translation.override("pt-br" if message_locale(customer.locale) == "pt-BR" else "en"):
            if not number or exp_month is None or not 1 <= exp_month <= 12:
                error = _("Enter the card number and its expiry month and year.")
            else:
                try:
                    method = attach_card(customer, number, clock_now(), exp_month=exp_month, exp_year=exp_year, make_default=True)
                except DomainError as exc:
                    error = localized_message(exc)
                else:
                    return _page(request, "message.html", customer, {
                        "title": _("Card updated"),
                        "text": _("Your %(brand)s card ending in %(last4)s will be used from now on; open invoices are being paid with it.")
                        % {"brand": method.brand, "last4": method.last4}})
    return _page(request, "card.html", customer, {"customer": customer, "error": error}, status=400 if error else 200)


@require_http_methods(["GET", "POST"])
def reactivate(request, token: str):
    from assina.subscriptions.models import Subscription

    sub_id = links.reactivate_subscription(token)
    sub = Subscription.objects.select_related("customer", "plan").filter(pk=sub_id).first() if sub_id else None
    if sub is None:
        return _invalid(request)
    if request.method == "POST":
        from assina.subscriptions.services import reactivate as reactivate_subscription

        with translation.override("pt-br" if message_locale(sub.customer.locale) == "pt-BR" else "en"):
            try:
                reactivate_subscription(sub.pk)
            except DomainError as exc:
                return _page(request, "message.html", sub.customer, {"title": _("Your subscription could not be reactivated"),
                                                                    "text": localized_message(exc)}, status=409)
            return _page(request, "message.html", sub.customer, {
                "title": _("Welcome back!"), "text": _("Your %(plan)s subscription continues; nothing changes in your billing.")
                % {"plan": sub.plan.name}})
    return _page(request, "reactivate.html", sub.customer, {"subscription": sub, "plan": sub.plan.name})


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without a CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    target = links.unsubscribe_target(token)
    customer = Customer.objects.filter(pk=target[0]).first() if target else None
    if customer is None:
        return _invalid(request)
    if request.method == "POST":
        unsubscribe_customer(customer.pk, clock_now(), campaign_id=target[1],
                             source="one-click" if request.POST.get("List-Unsubscribe") == "One-Click" else "page")
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse("unsubscribed\n", content_type="text/plain")
        with translation.override("pt-br" if message_locale(customer.locale) == "pt-BR" else "en"):
            return _page(request, "message.html", customer, {
                "title": _("You are unsubscribed"),
                "text": _("You will no longer receive marketing messages. Messages about your subscription and payments still arrive.")})
    # A GET never unsubscribes (link scanners follow links): it asks for confirmation.
    return _page(request, "unsubscribe.html", customer, {"customer": customer})

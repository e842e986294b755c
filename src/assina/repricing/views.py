"""The portal's page for a price change with a choice (``/portal/price-change/``).

It runs inside a portal session (``portal.views.portal_session``): only the session's customer's
own price changes are listed or chosen (another customer's id is a 404). The notice's button
opens the portal straight onto this page (target ``price_change``). Every POST goes through
Django's CSRF check; a GET changes nothing.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from assina.notifications.rendering import branding, django_language, message_locale
from assina.portal.views import portal_session

from . import services


def _language(customer) -> str:
    return django_language(customer.locale)


def _changes(customer) -> list[dict]:
    locale = message_locale(customer.locale)
    result = []
    for member in services.open_members(customer.pk):
        words = services.options_for(member.migration, member, locale, customer.time_zone)
        result.append({"id": member.pk, "chosen": member.choice, **words,
                       "default_value": member.migration.default_choice})
    return result


def _page(request, customer, context: dict, status: int = 200):
    language = _language(customer)
    with translation.override(language):
        context = {"business": branding(), "lang": language, "changes": _changes(customer), **context}
        response = render(request, "repricing/choice.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_http_methods(["GET"])
@portal_session
def choice_page(request):
    customer = request.portal.customer
    return _page(request, customer, {"saved": request.GET.get("saved") == "1"})


@never_cache
@require_POST
@portal_session
def choose(request, member_id: int):
    customer = request.portal.customer
    if not services.is_customers_member(customer.pk, member_id):
        raise Http404
    with translation.override(_language(customer)):
        try:
            services.choose(customer.pk, member_id, request.POST.get("choice", "")[:16])
        except services.MigrationError as refused:
            return _page(request, customer, {"error": str(refused), "error_for": member_id}, status=409)
    return redirect("/portal/price-change/?saved=1")

"""The customer's card page (``/c/card/<token>/``, linked from payment messages).

With a real gateway (Stripe) the card number never reaches Assina: the page shows Stripe.js's
own card fields; on submit the page's script asks this view to start a SetupIntent (a POST,
so a link scanner's GET starts nothing), Stripe.js confirms it in the customer's browser, and
the form then posts only the SetupIntent's id. The view asks Stripe whether that SetupIntent
succeeded for this customer before keeping its card (``payments.methods.finish_setup``).

With the sandbox gateway the page is a plain test form for its documented test cards, marked
as such; live mode never shows it.

The link (``card_links``) is spent once a card is attached and lasts at most 7 days. The page
loads no inline script: ``static/notifications/card.js`` reads what it needs from data
attributes, and its Content-Security-Policy adds the Stripe.js sources alone.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from assina import csp
from assina.core.errors import DomainError
from assina.customers.models import Customer
from assina.i18n import localized_message
from assina.payments import methods
from assina.payments.gateways import get_gateway
from assina.time import now as clock_now

from . import card_links
from .rendering import branding, message_locale


BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express"}  # gateway codes as people write them


def _language(customer) -> str:
    return "pt-br" if customer is not None and message_locale(customer.locale) == "pt-BR" else "en"


def _page(request, template: str, customer, context: dict, status: int = 200):
    language = _language(customer)
    with translation.override(language):
        return render(request, f"notifications/pages/{template}", {"business": branding(), "lang": language, **context},
                      status=status)


def _message(request, customer, title: str, text: str, status: int = 200):
    return _page(request, "message.html", customer, {"title": title, "text": text}, status=status)


@require_http_methods(["GET", "POST"])
def update_card(request, token: str):
    customer_id = card_links.card_customer(token)
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    with translation.override(_language(customer)):
        if customer is None:
            return _message(request, None, _("This link is not valid"),
                            _("The link is broken, has expired or was already used. Ask for a new one."), status=404)
        gateway = get_gateway()
        if getattr(gateway, "collects_in_browser", False):
            return _gateway_fields(request, customer, gateway)
        if getattr(gateway, "accepts_test_numbers", False) and settings.ASSINA_MODE != "live":
            return _sandbox_form(request, customer)
        return _message(request, customer, _("Cards cannot be updated here"),
                        _("Please contact us to update your card."), status=503)


def _updated(request, customer, method):
    return _message(request, customer, _("Card updated"), _(
        "Your %(brand)s card ending in %(last4)s will be used from now on; open invoices are being paid with it.")
        % {"brand": BRANDS.get(method.brand, method.brand.title()), "last4": method.last4})


def _gateway_fields(request, customer, gateway):
    """Stripe.js's card fields, a SetupIntent started on demand, and its result checked here."""
    fields = gateway.browser_fields()
    error = ""
    if request.method == "POST":
        if request.POST.get("action") == "start":
            try:
                setup = methods.start_setup(customer)
            except DomainError as exc:
                return JsonResponse({"error": localized_message(exc)}, status=502)
            return JsonResponse({"client_secret": setup.client_secret})
        try:
            method = methods.finish_setup(customer, request.POST.get("setup_intent", ""), clock_now())
        except DomainError as exc:
            error = localized_message(exc)
        else:
            return _updated(request, customer, method)
    for directive, sources in fields["sources"].items():
        csp.add(request, directive, *sources)
    return _page(request, "card.html", customer, {
        "customer": customer, "error": error, "publishable_key": fields["publishable_key"],
        "stripe_js": fields["script"], "stripe_locale": "pt-BR" if _language(customer) == "pt-br" else "en",
    }, status=400 if error else 200)


def _sandbox_form(request, customer):
    """The sandbox gateway's test form: its test card numbers only, never a real card."""
    error = ""
    if request.method == "POST":
        try:
            exp_month, exp_year = int(request.POST.get("exp_month", "")), int(request.POST.get("exp_year", ""))
        except ValueError:
            exp_month = exp_year = None
        number = "".join(ch for ch in request.POST.get("number", "") if ch.isdigit())
        if not number or exp_month is None or not 1 <= exp_month <= 12:
            error = _("Enter the card number and its expiry month and year.")
        else:
            try:
                method = methods.add_card(customer, number, clock_now(), exp_month=exp_month, exp_year=exp_year)
            except DomainError as exc:
                error = localized_message(exc)
            else:
                return _updated(request, customer, method)
    return _page(request, "card_sandbox.html", customer, {"customer": customer, "error": error},
                 status=400 if error else 200)

"""Customer pages linked from messages (under ``/c/``): reactivate, unsubscribe, the invoice PDF
(the card page: ``card_page``).

Each link carries a signed, narrow token (``links``). A GET only shows a page; every change is a
POST from that page (or, for unsubscribing, the RFC 8058 one-click POST a mail client sends), so a
link scanner or prefetcher that follows links changes nothing. Pages are in the customer's
language. A page reopened after its action (or a link for a cancellation that no longer stands)
shows the current state ("your subscription is active and renews on …", "you are already
unsubscribed"), not an error.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from assina.time import now as clock_now
from assina.core.errors import DomainError
from assina.customers.models import Customer
from assina.i18n import localized_message

from . import links
from .consent import unsubscribe as unsubscribe_customer
from .context import local_date
from .models import MarketingConsent
from .rendering import branding, django_language


def _language(customer) -> str:
    return django_language(customer.locale)


def _page(request, template: str, customer, context: dict, status: int = 200):
    # No customer (a broken link): the browser's language, as LocaleMiddleware chose it.
    language = _language(customer) if customer is not None else (
        "pt-br" if translation.get_language() == "pt-br" else "en")
    with translation.override(language):
        context = {key: value() if callable(value) else value for key, value in context.items()}
        return render(request, f"notifications/pages/{template}", {"business": branding(), "lang": language, **context},
                      status=status)


def _invalid(request):
    return _page(request, "message.html", None, {"title": lambda: _("This link is not valid"),
                                                  "text": lambda: _("The link is broken or has expired.")}, status=404)


def _subscription_state(sub) -> str:
    """Where the subscription stands now, in a sentence (in the active language)."""
    locale, tz = sub.customer.locale, sub.customer.time_zone
    plan = sub.plan.name
    if sub.status == "canceled":
        return _("Your %(plan)s subscription ended on %(date)s.") % {
            "plan": plan, "date": local_date(sub.ended_at or sub.canceled_at, locale, tz)}
    if sub.cancel_at_period_end:
        return _("Your %(plan)s subscription is set to end on %(date)s. This link was for an earlier cancellation: "
                 "to keep your subscription, use the link in the latest message about it.") % {
            "plan": plan, "date": local_date(sub.current_period_end, locale, tz)}
    if sub.status == "paused":
        if sub.resumes_at:
            return _("Your %(plan)s subscription is paused until %(date)s.") % {
                "plan": plan, "date": local_date(sub.resumes_at, locale, tz)}
        return _("Your %(plan)s subscription is paused.") % {"plan": plan}
    if sub.status == "incomplete":
        return _("Your %(plan)s subscription is waiting for its first payment.") % {"plan": plan}
    if sub.status == "trialing":
        return _("Your %(plan)s subscription is in its trial period until %(date)s.") % {
            "plan": plan, "date": local_date(sub.trial_end or sub.current_period_end, locale, tz)}
    if sub.status in ("past_due", "unpaid"):
        return _("Your %(plan)s subscription continues, but a payment is overdue.") % {"plan": plan}
    return _("Your %(plan)s subscription is active and renews on %(date)s.") % {
        "plan": plan, "date": local_date(sub.current_period_end, locale, tz)}


def _state_page(request, sub, status: int = 200):
    return _page(request, "message.html", sub.customer, {"title": lambda: _("Your subscription"),
                                                         "text": lambda: _subscription_state(sub)}, status=status)


@require_http_methods(["GET", "POST"])
def reactivate(request, token: str):
    from assina.subscriptions.models import Subscription

    target = links.reactivate_target(token)
    subs = Subscription.objects.select_related("customer", "plan")
    sub = subs.filter(pk=target[0]).first() if target else None
    if sub is None:
        return _invalid(request)
    instant = target[1]
    if request.method == "POST":
        from assina.subscriptions.services import reactivate as reactivate_subscription

        with translation.override(_language(sub.customer)):
            with transaction.atomic():
                # Under the row lock: the cancellation this link was sent for must still stand
                # when it is undone (a newer one needs its own link).
                sub = subs.select_for_update(of=("self",)).get(pk=sub.pk)
                if not links.is_same_cancellation(sub, instant):
                    return _state_page(request, sub, status=409)
                try:
                    reactivate_subscription(sub.pk)
                except DomainError as exc:
                    return _page(request, "message.html", sub.customer, {
                        "title": _("Your subscription could not be reactivated"), "text": localized_message(exc)}, status=409)
            sub.refresh_from_db()
            return _page(request, "message.html", sub.customer, {
                "title": _("Welcome back!"),
                "text": _("Your %(plan)s subscription continues and renews on %(date)s; nothing changes in your billing.")
                % {"plan": sub.plan.name, "date": local_date(sub.current_period_end, sub.customer.locale, sub.customer.time_zone)}})
    if not links.is_same_cancellation(sub, instant):
        return _state_page(request, sub)
    return _page(request, "reactivate.html", sub.customer, {
        "subscription": sub, "plan": sub.plan.name,
        "ends_on": local_date(sub.current_period_end, sub.customer.locale, sub.customer.time_zone)})


def _unsubscribed(customer) -> bool:
    return MarketingConsent.objects.filter(customer=customer, status=MarketingConsent.Status.REVOKED).exists()


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
        return _page(request, "message.html", customer, {
            "title": lambda: _("You are unsubscribed"),
            "text": lambda: _("You will no longer receive marketing messages. Messages about your subscription and payments still arrive.")})
    if _unsubscribed(customer):  # reopened after unsubscribing: say so, nothing to confirm
        return _page(request, "message.html", customer, {
            "title": lambda: _("You are already unsubscribed"),
            "text": lambda: _("You receive no marketing messages. Messages about your subscription and payments still arrive.")})
    # A GET never unsubscribes (link scanners follow links): it asks for confirmation.
    return _page(request, "unsubscribe.html", customer, {"customer": customer})


@require_safe
def invoice_pdf(request, token: str):
    """The invoice a receipt links to, as its PDF (the same bytes as the API's and the admin's)."""
    from assina.invoices.models import Invoice
    from assina.invoices.pdf import pdf_filename, render_invoice_pdf

    target = links.invoice_target(token)
    invoice = (Invoice.objects.select_related("customer").filter(pk=target[0], customer_id=target[1]).first()
               if target else None)
    if invoice is None or invoice.status == "draft":
        return _invalid(request)
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(invoice)}"'
    # The link is the key: no shared cache keeps the document, no search engine lists it.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response

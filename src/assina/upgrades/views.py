"""The portal's pages for switching to annual billing and for temporary upgrades.

They run inside a portal session (``portal.views.portal_session``): the subscription is looked
up among the session's customer's own, so another customer's id is a 404. Every POST goes
through Django's CSRF check; a GET changes nothing.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from assina.notifications.context import interval_word, local_date, money
from assina.notifications.rendering import branding, django_language
from assina.portal.views import portal_session

from . import services
from .models import AnnualOffer


def _language(customer) -> str:
    return django_language(customer.locale)


def _page(request, template: str, customer, context: dict, status: int = 200):
    language = _language(customer)
    with translation.override(language):
        response = render(request, f"upgrades/{template}", {"business": branding(), "lang": language, **context}, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _subscription(request, subscription_id: int):
    sub = services.customer_subscription(request.portal.customer_id, subscription_id)
    if sub is None:
        raise Http404
    return sub


def _annual_context(sub, quote, locale: str, tz: str) -> dict:
    def m(amount: int) -> str:
        return money(amount, quote.currency, locale)

    offer = quote.offer
    return {
        "monthly": m(quote.monthly_amount), "twelve_months": m(quote.twelve_months), "year_price": m(quote.year_price),
        "incentive": m(-quote.incentive) if quote.incentive else "", "first_year": m(quote.first_year),
        "saving": m(quote.saving) if quote.saving > 0 else "", "credit": m(quote.credit), "has_credit": quote.credit != 0,
        "carried": m(quote.carried) if quote.carried else "", "due_now": m(quote.due_now),
        "annual_plan": quote.annual_plan.name, "renews_on": local_date(quote.renews_on, locale, tz),
        "months_free": offer.months_free if offer.incentive == AnnualOffer.Incentive.MONTHS_FREE else None,
        "percent_off": f"{offer.percent_off.normalize():f}" if offer.incentive == AnnualOffer.Incentive.PERCENT and offer.percent_off else "",
    }


@never_cache
@require_http_methods(["GET", "POST"])
@portal_session
def annual(request, subscription_id: int):
    sub = _subscription(request, subscription_id)
    customer = sub.customer
    locale, tz = customer.locale, customer.time_zone
    with translation.override(_language(customer)):
        context = {"sub": sub, "plan": sub.plan.name}
        if request.method == "POST":
            try:
                invoice = services.switch_to_annual(sub)
            except services.UpgradeError as refused:
                return _page(request, "annual.html", customer, {**context, "error": str(refused)}, status=409)
            return _page(request, "annual_done.html", customer, {
                **context, "invoice": invoice, "total": money(invoice.total, invoice.currency, locale) if invoice else "",
                "annual_plan": services.get_subscription(sub.pk).plan.name})
        try:
            quote = services.annual_quote(sub)
        except services.UpgradeError as refused:
            return _page(request, "annual.html", customer, {**context, "unavailable": str(refused)})
        return _page(request, "annual.html", customer, {**context, **_annual_context(sub, quote, locale, tz)})


@never_cache
@require_http_methods(["GET", "POST"])
@portal_session
def upgrade(request, subscription_id: int):
    sub = _subscription(request, subscription_id)
    customer = sub.customer
    locale, tz = customer.locale, customer.time_zone
    with translation.override(_language(customer)):
        done, error, status = "", "", 200
        if request.method == "POST":
            action = request.POST.get("action", "")
            try:
                if action == "start":
                    trial = services.start_trial(sub, request.POST.get("plan", "")[:64])
                    done = "started"
                elif action == "confirm":
                    trial = services.confirm_trial(sub)
                    done = "confirmed"
                else:
                    raise Http404
            except services.UpgradeError as refused:
                error, status = str(refused), 409
            sub = services.customer_subscription(customer.pk, sub.pk)
        every = interval_word(sub.interval, sub.interval_count, locale)
        running = services.running_trial(sub)
        context = {"sub": sub, "plan": sub.plan.name, "every": every, "done": done, "error": error,
                   "current_price": money(_current_amount(sub), sub.currency, locale)}
        if done == "confirmed":
            context["confirmed_plan"] = trial.to_plan.name
        if running is not None:
            context["running"] = {
                "plan": running.to_plan.name, "ends_on": local_date(running.ends_at, locale, tz),
                "price": money(_plan_amount(running.to_plan, sub), sub.currency, locale),
            }
            try:
                context["running"]["due_now"] = money(services.confirm_preview(running), sub.currency, locale)
            except services.UpgradeError as refused:
                context["running"]["cannot_confirm"] = str(refused)
        else:
            context["options"] = [{"code": o.plan.code, "plan": o.plan.name, "days": o.days,
                                   "price": money(o.amount, sub.currency, locale)} for o in services.trial_options(sub)]
            context["unavailable"] = services.blocked_reason(sub)
        return _page(request, "upgrade.html", customer, context, status=status)


def _current_amount(sub) -> int:
    item = services._base_item(sub)
    return services.price_amount(item.plan_version.price_spec(), item.quantity) if item else 0


def _plan_amount(plan, sub) -> int:
    item = services._base_item(sub)
    return services.price_amount(plan.current_version().price_spec(), item.quantity if item else 1)

"""The portal's self-service pages: change plan or quantity (with the proration preview), pause
and resume, add and remove add-ons, choose or remove a card.

A GET shows (a preview changes nothing); a POST acts, through ``portal.manage``, then returns to
the home with a message on screen. A refusal shows its reason in the customer's language on the
page it came from (status 400), and nothing is changed. Another customer's subscription, add-on
or card is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assina.core.pricing import price_amount
from assina.notifications.context import interval_word, local_date, money, number
from assina.portal import manage
from assina.portal.models import PortalSettings
from assina.repricing.services import open_members
from assina.subscriptions import changes
from assina.subscriptions.services import SubscriptionError
from assina.time import now as clock_now
from assina.upgrades.suggestions import record_accepted

from . import _language, _page, portal_session


def _sub(request, sub_id: int):
    try:
        return manage.owned_subscription(request.portal.customer, sub_id)
    except manage.NotFound:
        raise Http404 from None


def _done(request, text: str, anchor: str = "subscription"):
    messages.success(request, text)
    return redirect(f"/portal/#{anchor}")


def _accepted(request, customer, key: str) -> None:
    """The customer took the suggestion their form carried (``suggestion``): recorded when it is
    ``key`` (the plan or add-on they took) and was shown to them; any other value is ignored."""
    if request.POST.get("suggestion", "") == key:
        record_accepted(customer.pk, key, "portal")


def _plans(sub, customer, base, quantity: int) -> list[dict]:
    """Each plan on offer with its price per period at ``quantity`` (a kept plan at its own version)."""
    result = []
    for plan in manage.plan_options(sub):
        version = base.plan_version if base is not None and plan.pk == base.plan_version.plan_id else plan.current_version()
        result.append({"code": plan.code, "name": plan.name, "current": plan.pk == sub.plan_id,
                       "price": money(price_amount(version.price_spec(), quantity), sub.currency, customer.locale)})
    return result


@never_cache
@require_GET
@portal_session
def change(request, sub_id: int):
    """The plans and quantity to choose; with ``plan`` (and ``quantity``) in the query, the
    preview of that change and its confirm button."""
    customer = request.portal.customer
    sub = _sub(request, sub_id)
    language = _language(customer)
    base = manage._base_item(sub)
    with translation.override(language):
        current = base.quantity if base else 1
        asked = request.GET.get("quantity", "")
        shown = int(asked) if asked.isdigit() and 1 <= int(asked) <= manage.MAX_QUANTITY else current
        context = {"sub": sub, "every": interval_word(sub.interval, sub.interval_count, customer.locale),
                   "quantity": shown, "current_quantity": number(current, customer.locale),
                   "allow_quantity": PortalSettings.current().allow_quantity_change,
                   "suggestion": request.GET.get("suggestion", "")[:80]}
        try:
            manage._changeable(sub)
            context["plans"] = _plans(sub, customer, base, shown)
            # A suggested plan ("plan:<code>", from the suggestions card) comes chosen.
            suggested = context["suggestion"].removeprefix("plan:") if context["suggestion"].startswith("plan:") else ""
            offered = {plan["code"] for plan in context["plans"]}
            context["chosen"] = request.GET.get("plan") or (suggested if suggested in offered else sub.plan.code)
            if "plan" in request.GET:
                context["preview"] = _preview(manage.preview_plan_change(customer, sub.pk, request.GET["plan"],
                                                                         request.GET.get("quantity", "")), customer)
        except manage.PortalActionError as refused:
            context["error"] = str(refused)
            return _page(request, "change.html", language, context, status=400)
    return _page(request, "change.html", language, context)


def _preview(change: manage.PlanChange, customer) -> dict:
    locale, tz, currency = customer.locale, customer.time_zone, change.sub.currency
    params = {"plan": change.plan.name, "quantity": number(change.quantity, locale),
              "amount": money(change.period_amount, currency, locale),
              "interval": interval_word(change.sub.interval, change.sub.interval_count, locale),
              "date": local_date(change.effective_at, locale, tz), "net": money(abs(change.net), currency, locale),
              "end": local_date(change.sub.current_period_end, locale, tz)}
    if change.timing == "period_end":
        summary = _("Your plan changes to %(plan)s × %(quantity)s on %(date)s, when the period you have paid for ends. "
                    "Until then nothing changes; from then on the plan costs %(amount)s every %(interval)s.") % params
    elif change.timing == "trial":
        summary = _("Your plan changes to %(plan)s × %(quantity)s now. You are still in your free trial: nothing is "
                    "charged until it ends; then the plan costs %(amount)s every %(interval)s.") % params
    elif change.net > 0:
        summary = _("Your plan changes to %(plan)s × %(quantity)s now. For the rest of this period, until %(end)s, "
                    "%(net)s is added to your next invoice; then the plan costs %(amount)s every %(interval)s.") % params
    elif change.net < 0:
        summary = _("Your plan changes to %(plan)s × %(quantity)s now. The unused part of this period, %(net)s, is "
                    "taken off your next invoice; then the plan costs %(amount)s every %(interval)s.") % params
    else:
        summary = _("Your plan changes to %(plan)s × %(quantity)s now; then the plan costs %(amount)s every "
                    "%(interval)s.") % params
    return {"plan": change.plan.code, "quantity": change.quantity, "summary": summary,
            "lines": [{"description": l.description, "amount": money(l.amount, currency, locale)} for l in change.lines],
            "net": money(change.net, currency, locale) if change.lines else ""}


@require_POST
@portal_session
def change_confirm(request, sub_id: int):
    def act(customer, sub) -> str:
        done = manage.change_plan(customer, sub.pk, request.POST.get("plan", ""), request.POST.get("quantity", ""))
        params = {"plan": done.plan.name, "quantity": number(done.quantity, customer.locale),
                  "date": local_date(done.effective_at, customer.locale, customer.time_zone)}
        _accepted(request, customer, f"plan:{done.plan.code}")
        return (_("Done: your plan changes to %(plan)s × %(quantity)s on %(date)s.") if done.timing == "period_end"
                else _("Done: your plan is now %(plan)s × %(quantity)s.")) % params

    return _subscription_action(request, sub_id, act)


@require_POST
@portal_session
def keep_plan(request, sub_id: int):
    """Drop the plan change scheduled for the period's end. A price migration's change is not the
    customer's to drop here (renewing at the old price would escape the new one): its pinned new
    price is refused by the service (``changes.withdraw_scheduled_changes``), its cheaper-plan
    switch here, as nothing would schedule the new price again; the choice stays open on the
    price change page until the change date."""
    def act(customer, sub) -> str:
        if open_members(customer.pk).filter(subscription_id=sub.pk, armed_at__isnull=False).exists():
            raise manage.PortalActionError(_("This change is your choice for the new price of your plan. You can "
                                             "choose another option on the price change page until the change date."))
        try:
            changes.withdraw_scheduled_changes(sub.pk, by_owner=False, reason="customer")
        except changes.OwnersChange:
            raise manage.PortalActionError(_("This change brings the new price of your plan and cannot be undone here. "
                                             "You can still cancel your subscription, or contact us.")) from None
        except SubscriptionError as refused:
            raise manage.PortalActionError(str(refused)) from None
        return _("Done: you keep your current plan.")

    return _subscription_action(request, sub_id, act)


def _subscription_action(request, sub_id: int, act):
    """A POST that acts on one of the customer's subscriptions: ``act(customer, sub)`` runs in the
    customer's language and returns the "Done" text; a refusal shows the refusal page."""
    customer = request.portal.customer
    sub = _sub(request, sub_id)
    language = _language(customer)
    with translation.override(language):
        try:
            text = act(customer, sub)
        except manage.PortalActionError as refused:
            return _refused(request, language, sub, str(refused))
        return _done(request, text)


def _refused(request, language: str, sub, text: str):
    return _page(request, "refused.html", language, {"sub": sub, "error": text}, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
@portal_session
def pause(request, sub_id: int):
    customer = request.portal.customer
    sub = _sub(request, sub_id)
    language = _language(customer)
    with translation.override(language):
        if request.method == "POST":
            try:
                paused = manage.pause(customer, sub.pk, request.POST.get("periods", ""))
            except manage.PortalActionError as refused:
                return _pause_page(request, language, sub, customer, str(refused))
            return _done(request, _("Done: your subscription is paused until %(date)s. You can resume it at any time.")
                         % {"date": local_date(paused.resumes_at, customer.locale, customer.time_zone)})
        return _pause_page(request, language, sub, customer, "")


def _pause_page(request, language: str, sub, customer, error: str):
    at = clock_now()
    def label(n: int) -> str:  # "1 month", "2 months" ("every month" reads "month" alone)
        word = interval_word(sub.interval, sub.interval_count * n, customer.locale)
        return word if sub.interval_count * n > 1 else f"{number(1, customer.locale)} {word}"

    lengths = [{"periods": n, "label": label(n),
                "until": local_date(manage.resume_date(sub, n, at), customer.locale, customer.time_zone)}
               for n in PortalSettings.current().pause_lengths]
    if not error and not lengths:
        error = _("Pausing is not offered. Please contact us.")
    return _page(request, "pause.html", language, {"sub": sub, "lengths": lengths, "error": error},
                 status=400 if error else 200)


@require_POST
@portal_session
def resume(request, sub_id: int):
    def act(customer, sub) -> str:
        manage.resume(customer, sub.pk)
        return _("Done: your subscription is active again.")

    return _subscription_action(request, sub_id, act)


@never_cache
@require_http_methods(["GET", "POST"])
@portal_session
def addons(request, sub_id: int):
    customer = request.portal.customer
    sub = _sub(request, sub_id)
    language = _language(customer)
    with translation.override(language):
        error = ""
        if request.method == "POST":
            try:
                addon = manage.add_addon(customer, sub.pk, request.POST.get("addon", ""), request.POST.get("quantity", ""))
            except manage.PortalActionError as refused:
                error = str(refused)
            else:
                _accepted(request, customer, f"addon:{addon.code}")
                return _done(request, _("Done: %(addon)s is added to your subscription. The rest of this period is "
                                        "charged on your next invoice.") % {"addon": addon.name})
        return _addons_page(request, language, sub, customer, error)


def _addons_page(request, language: str, sub, customer, error: str):
    locale = customer.locale
    held = list(sub.items.select_related("plan_version__plan").filter(plan_version__plan__kind="addon").order_by("pk"))
    every = interval_word(sub.interval, sub.interval_count, locale)
    options = []
    for plan in manage.addon_options(sub, {item.plan_version.plan_id for item in held}):
        options.append({"code": plan.code, "name": plan.name,
                        "price": money(price_amount(plan.current_version().price_spec(), 1), sub.currency, locale)})
    try:
        manage._addons_allowed(sub)
    except manage.PortalActionError as refused:
        error = error or str(refused)
    context = {"sub": sub, "every": every, "options": options, "error": error,
               "held": [{"id": i.pk, "name": i.plan_version.plan.name, "quantity": number(i.quantity, locale)} for i in held],
               "suggestion": (request.GET.get("suggestion") or request.POST.get("suggestion", ""))[:80]}
    codes = [o["code"] for o in options]  # the suggested add-on chosen at first, else the first one
    context["chosen"] = next((c for c in codes if f"addon:{c}" == context["suggestion"]), codes[0] if codes else "")
    return _page(request, "addons.html", language, context, status=400 if error else 200)


@require_POST
@portal_session
def remove_addon(request, sub_id: int, item_id: int):
    customer = request.portal.customer
    sub = _sub(request, sub_id)
    language = _language(customer)
    with translation.override(language):
        try:
            addon = manage.remove_addon(customer, sub.pk, item_id)
        except manage.NotFound:
            raise Http404 from None
        except manage.PortalActionError as refused:
            return _addons_page(request, language, sub, customer, str(refused))
        return _done(request, _("Done: %(addon)s is removed. The unused part of this period is taken off your next "
                                "invoice.") % {"addon": addon.name})


@require_POST
@portal_session
def default_card(request, method_id: int):
    customer = request.portal.customer
    language = _language(customer)
    with translation.override(language):
        try:
            method = manage.make_default_card(customer, method_id)
        except manage.NotFound:
            raise Http404 from None
        except manage.PortalActionError as refused:
            return _page(request, "refused.html", language, {"error": str(refused)}, status=400)
        return _done(request, _("Done: the card ending in %(last4)s now pays your subscription.") % {"last4": method.last4},
                     "card")


@require_POST
@portal_session
def remove_card(request, method_id: int):
    customer = request.portal.customer
    language = _language(customer)
    with translation.override(language):
        try:
            method = manage.remove_card(customer, method_id)
        except manage.NotFound:
            raise Http404 from None
        except manage.PortalActionError as refused:
            return _page(request, "refused.html", language, {"error": str(refused)}, status=400)
        return _done(request, _("Done: the card ending in %(last4)s is removed.") % {"last4": method.last4}, "card")

"""The hosted pricing page (/pricing/, and /pricing/embed/ for other sites' pages), and checkout
(/checkout/<plan>/ and /checkout/s/<session>/ for a session the API made).

Pages are in the visitor's language: ``?lang=pt-br`` or ``?lang=en`` (the switch on the page),
else the browser's Accept-Language. A GET changes nothing: the /checkout/<plan>/ form carries a
signed token and its first POST makes the checkout session under that token, so a double
click or a retried POST finds the same session (``services.complete``). Every POST goes through
Django's CSRF check and the per-address limit. Only /pricing/embed/ may be framed by other
sites (it has no form).

Cards: with the sandbox gateway (outside live mode) the page shows its test form; with Stripe
the card goes into Stripe.js's own fields and only the SetupIntent's id reaches Assina.
"""

from __future__ import annotations

import re
import secrets
import time as wall_time

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.html import escape
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_safe

from assina import csp
from assina.accounts.throttle import client_address
from assina.core.pricing import price_amount
from assina.notifications.context import interval_word, money
from assina.notifications.rendering import branding
from assina.payments.gateways import get_gateway
from assina.time import now as clock_now
from assina.core.mrr import monthly
from assina.upgrades.suggestions import checkout_bundles, forget_bundles

from . import queries, services
from .checkout_events import Offer, Offered
from .models import CheckoutSession

TOKEN_SALT = "assina.selling.checkout"
TOKEN_AGE = 24 * 3600
LANGUAGES = {"en": "en", "pt-br": "pt-br", "pt": "pt-br", "pt-BR": "pt-br"}


def _language(request) -> str:
    asked = request.POST.get("lang") or request.GET.get("lang") or ""
    if asked in LANGUAGES:
        return LANGUAGES[asked]
    return "pt-br" if translation.get_language() == "pt-br" else "en"


def _locale(language: str) -> str:
    return "pt-BR" if language == "pt-br" else "en"


def _page(request, template: str, language: str, context: dict, status: int = 200):
    with translation.override(language):
        response = render(request, f"selling/{template}",
                          {"business": branding(), "lang": language, "html_lang": _locale(language), **context},
                          status=status)
    response["Cache-Control"] = "private, no-store"
    response["Content-Language"] = _locale(language)
    return response


# Each plan's current price as last read by this process, with the catalog's stamp it was read
# under (``queries.catalog_stamp``: a new plan version, a plan switched off or on, a change to
# the add-ons suggested at checkout make every page read again).
_PRICES: dict[int, tuple[tuple, int]] = {}


def _price(plan, locale: str, stamp: tuple) -> int:
    kept = _PRICES.get(plan.pk)
    if kept is None or kept[0] != stamp:
        kept = _PRICES[plan.pk] = (stamp, price_amount(plan.current_version().price_spec(), 1))
    return kept[1]


def _every(plan, locale: str) -> str:
    return interval_word(plan.interval, plan.interval_count, locale)


def _plan_card(plan, locale: str, lang: str, stamp: tuple) -> dict:
    return {"code": plan.code, "name": plan.name, "price": money(_price(plan, locale, stamp), plan.currency, locale),
            "every": _every(plan, locale), "trial_days": plan.trial_days, "ships_goods": plan.ships_goods,
            "url": f"/checkout/{plan.code}/?lang={lang}"}


def annual_saving(monthly: int, yearly: int) -> tuple[int, int]:
    """What a year on the yearly plan saves over twelve months of the monthly one, and that
    saving as a whole percentage (rounded down, so the page never promises more)."""
    twelve = monthly * 12
    saving = twelve - yearly
    return (saving, saving * 100 // twelve) if saving > 0 and twelve > 0 else (0, 0)


def _pricing_context(language: str) -> dict:
    locale = _locale(language)
    stamp = queries.catalog_stamp()
    cards, has_pairs = [], False
    for entry in services.pricing_entries():
        card = {"monthly": None, "yearly": None, "saving": "", "others": []}
        if entry.monthly is not None:
            card["monthly"] = _plan_card(entry.monthly, locale, language, stamp)
            card["product"] = entry.monthly.product
        if entry.yearly is not None:
            card["yearly"] = _plan_card(entry.yearly, locale, language, stamp)
            card["product"] = entry.yearly.product
        if entry.monthly is not None and entry.yearly is not None:
            has_pairs = True
            amount, percent = annual_saving(_price(entry.monthly, locale, stamp), _price(entry.yearly, locale, stamp))
            if amount:
                card["saving"] = _("Save %(amount)s a year (%(percent)s%%)") % {
                    "amount": money(amount, entry.yearly.currency, locale), "percent": percent}
        for plan in entry.others:
            card["others"].append(_plan_card(plan, locale, language, stamp))
            card["product"] = plan.product
        card["name"] = (card["monthly"] or card["yearly"] or card["others"][0])["name"]
        cards.append(card)
    return {"cards": cards, "has_pairs": has_pairs}


@require_safe
def pricing(request):
    language = _language(request)
    with translation.override(language):
        context = _pricing_context(language)
    return _page(request, "pricing.html", language, {**context, "embedded": False})


@xframe_options_exempt
@require_safe
def pricing_embed(request):
    """The pricing table alone, for an iframe on the business's own site (any site may frame it:
    it has links only, no form; its buttons open checkout in the top window)."""
    language = _language(request)
    csp.add(request, "frame-ancestors", "*")
    with translation.override(language):
        context = _pricing_context(language)
    return _page(request, "pricing.html", language, {**context, "embedded": True})


@require_safe
def pricing_embed_js(request):
    """``<script src="https://…/pricing/embed.js" data-lang="pt-br" async></script>``: an iframe of
    /pricing/embed/ (from the server the script came from) where the script tag is, as tall as
    its content (the frame tells its height by postMessage; only that frame is listened to)."""
    body = ("/* Assina's pricing table (/pricing/embed/). */\n"
            "(function(){var s=document.currentScript;if(!s||!s.src)return;var o=new URL(s.src).origin;"
            "var l=s.getAttribute('data-lang')||'';var f=document.createElement('iframe');"
            "f.src=o+'/pricing/embed/'+(l?'?lang='+encodeURIComponent(l):'');f.title=s.getAttribute('data-title')||'Pricing';"
            "f.style.cssText='width:100%;border:0;min-height:480px';"
            "window.addEventListener('message',function(e){if(e.origin===o&&e.source===f.contentWindow&&e.data&&"
            "e.data.assinaPricingHeight){f.style.height=e.data.assinaPricingHeight+'px';}});"
            "s.parentNode.insertBefore(f,s.nextSibling);})();\n")
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


# --- checkout --------------------------------------------------------------------------------

def _form_token(plan_code: str) -> str:
    return signing.dumps({"p": plan_code, "k": services.new_key()}, salt=TOKEN_SALT, compress=False)


def _token_key(token: str, plan_code: str) -> str | None:
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("p") != plan_code or not str(data.get("k", "")).startswith("cs_"):
        return None
    return data["k"]


@require_http_methods(["GET", "POST"])
def checkout(request, plan_code: str):
    language = _language(request)
    with translation.override(language):
        try:
            plan = services.sellable_plan(plan_code, public_only=True)
        except services.CheckoutError:
            raise Http404 from None
        if request.method == "GET":
            return _checkout_page(request, language, plan, None, {"token": _form_token(plan.code)})
        key = _token_key(request.POST.get("token", ""), plan.code)
        if key is None:
            return _checkout_page(request, language, plan, None, {"token": _form_token(plan.code)},
                                  error=_("This form has expired. Please check your details and try again."), status=400)
        return _submit(request, language, key, plan=plan)


@require_http_methods(["GET", "POST"])
def checkout_session(request, key: str):
    language = _language(request)
    with translation.override(language):
        session = services.get_session(key)
        if session is None:
            raise Http404
        if session.status == CheckoutSession.Status.COMPLETE:
            if request.method == "POST":
                return _done(session, language)
            return _thanks(request, language, session)
        if services.expired(session):
            return _page(request, "expired.html", language, {"session": session}, status=410)
        if request.method == "GET":
            return _checkout_page(request, language, session.plan, session, {})
        return _submit(request, language, session.key, session=session)


def _form(request, language: str) -> services.CheckoutForm:
    post = request.POST
    return services.CheckoutForm(
        email=post.get("email", ""), name=post.get("name", ""), tax_id=post.get("tax_id", ""),
        promotion_code=post.get("promotion_code", ""), addons=post.getlist("addons")[:10],
        shipping={k: post.get(f"shipping_{k}", "") for k in services.SHIPPING_FIELDS},
        card_number=post.get("number", ""), exp_month=post.get("exp_month", ""), exp_year=post.get("exp_year", ""),
        setup_intent=post.get("setup_intent", ""), locale=_locale(language))


def _submit(request, language: str, key: str, *, plan=None, session=None):
    at = checked = None
    form = _form(request, language)
    starting = request.POST.get("action") == "start"  # Stripe.js asks for a card setup (checkout.js)
    try:
        if session is None:  # counted in the transaction that makes the form's session
            at = clock_now()
            if starting:
                session = services.session_for_token(key, plan, at, address=client_address(request))
            else:  # made already taken for completing it when the form checks out
                session, checked = services.open_page_session(key, plan, form, at, address=client_address(request))
        else:
            services.throttle(client_address(request))
    except services.Throttled:
        return _page(request, "refused.html", language, {
            "text": _("Too many attempts from your network. Please wait an hour and try again.")}, status=429)
    if starting:
        try:
            setup = services.start_card_setup(session.key, form)
        except services.CheckoutError as refused:
            return JsonResponse({"error": str(refused), "field": refused.field}, status=400)
        return JsonResponse({"client_secret": setup.client_secret})
    try:
        locale = _locale(language)
        offered = Offered(_shown_offers(session.plan, locale, session if session.origin == CheckoutSession.Origin.API
                                        else None), _taken_bundle(request.POST, session.plan, locale))
        done = services.complete(session.key, form, session=session, at=at, checked=checked, offered=offered)
    except services.CheckoutError as refused:
        extra = {"token": request.POST.get("token", "")} if session.origin == CheckoutSession.Origin.PAGE else {}
        return _checkout_page(request, language, session.plan, session, extra, error=str(refused),
                              error_field=refused.field, form=form, status=400)
    return _done(done, language)


def _done(session: CheckoutSession, language: str):
    """303 to the session's success URL, or to Assina's thank-you page in the visitor's language."""
    target = services.success_redirect(session)
    if target.startswith("/"):
        target += f"?lang={language}"
    response = redirect(target, permanent=False)
    response.status_code = 303
    return response


def _gateway_mode() -> str:
    gateway = get_gateway()
    if getattr(gateway, "collects_in_browser", False):
        return "fields"
    if getattr(gateway, "accepts_test_numbers", False) and settings.ASSINA_MODE != "live":
        return "sandbox"
    return "none"


# The add-ons and bundle each plan's page suggests, in each language, as last worked out by this
# process: kept while the catalog's stamp stays the same (a plan, add-on or bundle switched off,
# a new price, the owner's suggestions changed: the next page view works them out again), and at
# most a minute (the most held add-ons are counted again, a renamed add-on shows).
OFFERS_KEPT_SECONDS = services.POPULAR_SECONDS
_OFFERS: dict[tuple, tuple[tuple, float, list, list]] = {}
_OFFERS_STAMP: list = [None]


def forget() -> None:
    """Drop every price, offer and page this process keeps (tests: test databases reuse ids, so
    an earlier test's kept answer could match a later one's stamp)."""
    _PRICES.clear()
    _OFFERS.clear()
    _FRAMES.clear()
    _OFFERS_STAMP[0] = None
    services._popular.clear()
    forget_bundles()


def _offers(plan, locale: str, stamp: tuple, chosen: list | None = None) -> tuple[list[tuple], list, tuple[Offer, ...]]:
    """The add-ons to offer with ``plan`` ((code, name, price, reason) each), the bundles to
    suggest instead (three in all), and those suggestions as the purchase records them shown:
    the kept answer for a page without a session; ``chosen``: the add-ons an API session chose,
    first (the developer's choice: no reason, not a suggestion; not kept)."""
    if _OFFERS_STAMP[0] != stamp:  # the catalog changed: forget every plan's offers and bundles
        _OFFERS.clear()
        _FRAMES.clear()
        forget_bundles()
        _OFFERS_STAMP[0] = stamp
    key = (plan.pk, plan.currency, plan.interval, plan.interval_count, locale)
    kept = _OFFERS.get(key) if chosen is None else None
    if kept is not None and wall_time.monotonic() - kept[1] <= OFFERS_KEPT_SECONDS:
        return kept[2], kept[3], kept[4]
    suggestions = [(s.addon, s) for s in services.addon_suggestions(plan)]
    fixed = 0
    if chosen is not None:
        chosen_ids = {c.pk for c in chosen}
        suggestions = ([(c, None) for c in chosen] + [s for s in suggestions if s[0].pk not in chosen_ids])[:services.MAX_ADDONS]
        fixed = len(chosen)
    # A bundle with this plan cheaper than its parts (a link to its own checkout); three in all.
    bundles = checkout_bundles(plan, locale, tuple(a.pk for a, _s in suggestions), room=services.MAX_SUGGESTIONS - fixed)
    suggestions = suggestions[:services.MAX_SUGGESTIONS - len(bundles)]
    addons, shown = [], []
    for addon, why in suggestions:
        amount = _price(addon, locale, stamp)
        addons.append((addon.code, addon.name, money(amount, addon.currency, locale), why.reason(plan) if why else ""))
        if why is not None:
            shown.append(Offer(f"addon:{addon.code}", why.kind, addon.code,
                               monthly(amount, addon.interval, addon.interval_count), addon.currency))
    shown += [Offer(b.key, b.kind, b.plan, b.monthly_amount, b.currency) for b in bundles]
    if chosen is None:
        _OFFERS[key] = (stamp, wall_time.monotonic(), addons, bundles, tuple(shown), plan.code)
    return addons, bundles, tuple(shown)


def _kept_offers(plan_code: str) -> tuple[Offer, ...] | None:
    """The suggestions this process last worked out for ``plan_code``'s page, in any language
    (they are the same in each), or None; no statement."""
    for kept in list(_OFFERS.values()):
        if kept[5] == plan_code and wall_time.monotonic() - kept[1] <= OFFERS_KEPT_SECONDS:
            return kept[4]
    return None


def _shown_offers(plan, locale: str, session) -> tuple[Offer, ...]:
    """What the page the buyer posted showed: the kept answer (a purchase reads nothing more),
    else worked out again (a process that has not shown the page lately, an API session)."""
    if session is None:
        kept = _OFFERS.get((plan.pk, plan.currency, plan.interval, plan.interval_count, locale))
        if kept is not None and wall_time.monotonic() - kept[1] <= OFFERS_KEPT_SECONDS:
            return kept[4]
    chosen = None if session is None else services.chosen_addons(plan, list(session.addons))
    return _offers(plan, locale, queries.catalog_stamp(), chosen)[2]


def _taken_bundle(data, plan, locale: str) -> Offer | None:
    """The bundle suggestion the link to this checkout came from (``?suggestion=plan:<this
    plan>&from=<the plan whose page showed it>``), when that page does show it: buying here is
    taking it. Read from the kept answer, else worked out for that page."""
    key, origin = data.get("suggestion", ""), data.get("from", "")
    if key != f"plan:{plan.code}" or not origin or len(origin) > 64:
        return None
    offers = _kept_offers(origin)
    if offers is None:
        try:
            origin_plan = services.sellable_plan(origin, public_only=True)
        except services.CheckoutError:
            return None
        offers = _offers(origin_plan, locale, queries.catalog_stamp())[2]
    return next((o for o in offers if o.key == key and o.kind == "bundle"), None)


# The plain checkout page (a GET of /checkout/<plan>/: no session, no error, nothing typed) is
# rendered once per plan, language, card mode and what it shows, with marks where this request's
# values go (the CSRF token, the CSP nonce, the form's signed token), and filled per request: the
# same bytes the template gives (tests/integration/test_selling_checkout.py compares them).
# Marks: random per process, so no text an owner typed can look like one.
_MARK = "m" + secrets.token_hex(8)
_MARKS = {name: f"{_MARK}{name}." for name in ("csrf", "nonce", "token")}
_FILL = re.compile(re.escape(_MARK) + r"(csrf|nonce|token)\.")
_FRAMES: dict[tuple, str] = {}
KEEP_FRAMES = 500  # kept pages per process (emptied when the catalog's stamp moves, or when full)


def _plain_page(request, language: str, key: tuple, context: dict):
    """The plain checkout page from its kept frame, filled with this request's values."""
    frame = _FRAMES.get(key)
    if frame is None:
        business = branding()
        with translation.override(language):
            frame = render_to_string("selling/checkout.html", {
                "business": business, "lang": language, "html_lang": _locale(language), **context,
                "token": _MARKS["token"], "csrf_token": _MARKS["csrf"], "request": {"csp_nonce": _MARKS["nonce"]}})
        if len(_FRAMES) >= KEEP_FRAMES:
            _FRAMES.clear()
        _FRAMES[key] = frame
    values = {"csrf": get_token(request), "nonce": escape(str(request.csp_nonce)), "token": escape(context["token"])}
    response = HttpResponse(_FILL.sub(lambda match: values[match.group(1)], frame))
    response["Cache-Control"] = "private, no-store"
    response["Content-Language"] = _locale(language)
    return response


def _checkout_page(request, language: str, plan, session, extra: dict, *, error: str = "", error_field: str = "",
                   form: services.CheckoutForm | None = None, status: int = 200):
    locale = _locale(language)
    stamp = queries.catalog_stamp()
    prefill = form or services.CheckoutForm(email=session.customer_email if session else "",
                                            promotion_code=session.promotion_code if session else "",
                                            addons=list(session.addons) if session else [])
    if session is None:
        addons, bundles, _shown = _offers(plan, locale, stamp)
    else:  # add-ons the API chose come first, then the suggestions, three at most
        addons, bundles, _shown = _offers(plan, locale, stamp, chosen=services.chosen_addons(plan, list(session.addons)))
    taken = _taken_bundle(request.POST if request.method == "POST" else request.GET, plan, locale)
    every = _every(plan, locale)
    mode = _gateway_mode()
    context = {
        "plan": plan, "price": money(_price(plan, locale, stamp), plan.currency, locale), "every": every,
        "addons": [{"code": code, "name": name, "price": price, "reason": reason, "checked": code in prefill.addons}
                   for code, name, price, reason in addons], "bundles": bundles, "origin": plan.code,
        "taken": {"suggestion": taken.key, "from": request.POST.get("from") or request.GET.get("from")} if taken else None,
        "form": prefill, "error": error, "error_field": error_field, "asks_tax_id": plan.currency == "BRL",
        "ships_goods": plan.ships_goods, "card_mode": mode,
        "cancel_url": (session.cancel_url if session and session.cancel_url else f"/pricing/?lang={language}"),
        "action": f"/checkout/s/{session.key}/" if session and session.origin == CheckoutSession.Origin.API
        else f"/checkout/{plan.code}/",
        "switch": {"en": f"?lang=en", "pt-br": f"?lang=pt-br"}, **extra,
    }
    if mode == "fields":
        fields = get_gateway().browser_fields()
        for directive, sources in fields["sources"].items():
            csp.add(request, directive, *sources)
        context.update(publishable_key=fields["publishable_key"], stripe_js=fields["script"],
                       stripe_locale="pt-BR" if language == "pt-br" else "en")
    if session is None and form is None and not error and status == 200 and set(extra) == {"token"}:
        key = (language, mode, stamp, tuple(sorted(branding().items())), plan.pk, plan.code, plan.name,
               plan.trial_days, plan.currency, plan.ships_goods, every, context["price"], tuple(addons),
               tuple((b.plan, b.name, b.reason, b.url, b.key) for b in bundles),
               tuple(context["taken"].items()) if context["taken"] else None,
               context.get("publishable_key"), context.get("stripe_js"))
        return _plain_page(request, language, key, context)
    return _page(request, "checkout.html", language, context, status=status)


def _thanks(request, language: str, session: CheckoutSession):
    """The same words whether the e-mail was new or already a customer's (no enumeration)."""
    return _page(request, "thanks.html", language, {"session": session})

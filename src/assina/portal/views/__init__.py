"""The portal's pages: sign in by e-mail, enter through a link, the home, an invoice's PDF, sign out.

What a customer changes (plan, quantity, pause, add-ons, cards) is in ``views.manage``.

A portal session sees one customer only: every lookup is filtered by the session's customer, so
another customer's id is a 404. Every POST goes through Django's CSRF check (no exemption here).
"""

from __future__ import annotations

from functools import wraps

from django.contrib.sessions.backends.db import SessionStore as DatabaseSession
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.middleware.csrf import get_token
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from assina.accounts.throttle import client_address
from assina.core.invoice_states import InvoiceStatus
from assina.invoices.models import Invoice
from assina.notifications import links
from assina.notifications.rendering import branding, django_language
from assina.invoices.pdf import pdf_filename, render_invoice_pdf

from assina import time as assina_time
from assina.portal import queries, services
from assina.portal import home as home_parts
from assina.portal.views import cards
from assina.subscriptions.models import Subscription
from assina.upgrades.offers import offers_for
from assina.upgrades.queries import anything_to_offer

SESSION_KEY = "assina_portal"
FLOW_SECTIONS = {"cancel": "subscription", "change_plan": "subscription", "switch_to_annual": "subscription",
                 "update_payment_method": "card"}
# A flow with a page of its own: a price migration's choice (assina.repricing, issue 19).
FLOW_PAGES = {"price_change": "/portal/price-change/"}


def _language(customer) -> str:
    return django_language(customer.locale)


def _browser_language() -> str:
    return "pt-br" if translation.get_language() == "pt-br" else "en"


def _page(request, template: str, language: str, context: dict, status: int = 200):
    with translation.override(language):
        response = render(request, f"portal/{template}", {"business": branding(), "lang": language, **context}, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def refused(request, language: str, error: str, status: int = 409):
    """The portal's page for an action refused (another app's portal views use it too): what
    was refused and why, in the customer's language, never cached."""
    return _page(request, "refused.html", language, {"error": error}, status=status)


def portal_session(view):
    """Loads the live portal session into ``request.portal``; without one, the sign-in page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        session = services.live_session(request.session.get(SESSION_KEY))
        if session is None:
            return redirect("portal:login")
        request.portal = session
        return view(request, *args, **kwargs)

    return wrapped


@never_cache
@require_http_methods(["GET", "POST"])
def login(request):
    language = _browser_language()
    if request.method == "GET":
        return _page(request, "login.html", language, {})
    email = request.POST.get("email", "")[:254]
    try:
        services.request_link(email, client_address(request))
    except services.Throttled:
        with translation.override(language):
            error = _("Too many requests for a sign-in link. Please wait an hour and try again.")
        return _page(request, "login.html", language, {"error": error, "email": email}, status=429)
    return _page(request, "login_sent.html", language, {})


@never_cache
@require_http_methods(["GET", "POST"])
def enter(request, token: str):
    """GET shows a button; its POST spends the link (a mail scanner's GET must not spend it)."""
    try:
        if request.method == "GET":
            link = services.check_link(token)
            return _page(request, "enter.html", _language(link.customer), {})
        session = services.open_link(token)
    except services.InvalidLink as refused:
        return _page(request, "invalid.html", _browser_language(), {"reason": refused.reason},
                     status=404 if refused.reason == "invalid" else 410)
    request.session.cycle_key()  # a fresh cookie: nobody can plant a session id before sign-in
    request.session[SESSION_KEY] = session.key
    flow = session.link.flow
    if flow in FLOW_PAGES:
        return redirect(FLOW_PAGES[flow])
    return redirect(f"/portal/?flow={flow}#{FLOW_SECTIONS[flow]}" if flow else "/portal/")


@never_cache
def home(request):
    """The home: the session checked on every request (not ended, not idle), the account part
    kept between visits while nothing it shows changed (``portal.home``), the small cards
    (``portal.cards``) and every per-request value (CSRF token, card link, offers) made now."""
    at, clock = services.wall(), assina_time.now()
    session = _home_session(request, at)
    if session is None:
        return redirect("portal:login")
    if at - session.last_seen_at >= services.TOUCH_EVERY:
        services.touch(session.session_id, at)
    language = django_language(session.locale)
    flow = request.GET.get("flow", "")
    flow = flow if flow in FLOW_SECTIONS else ""
    with translation.override(language):
        account = home_parts.account(session, language)
        csrf_token = get_token(request)
        filled = home_parts.fill(account, csrf_token=csrf_token, card_url=_card_url(session.customer_id, account.card_state),
                                 offers=_offers(account.changeable), focus=FLOW_SECTIONS.get(flow, ""))
        shown = cards.cards(cards.Home(request, session, language, clock))
        html = home_parts.page(request, csrf_token=csrf_token, language=language, flow=flow, name=session.name or session.email,
                               return_url=session.return_url, cards=shown, account_html=filled)
    response = HttpResponse(html)
    response["Cache-Control"] = "private, no-store"
    return response


def _home_session(request, at) -> queries.HomeSession | None:
    """The live portal session of the request's cookie, read with two fixed statements: the
    Django session's row (as ``SessionStore.load`` reads it: the data is put where the session
    keeps what it loaded, so ``request.session`` behaves as after its own load) and the portal
    session with the home's stamps (``queries.home_session``)."""
    store = request.session
    if type(store) is DatabaseSession and "_session_cache" not in store.__dict__:
        key = store.session_key
        data = queries.cookie_session(key, timezone.now()) if key else None
        if data is None:
            store._session_key = None
            store._session_cache = {}
        else:
            store._session_cache = store.decode(data)
    key = store.get(SESSION_KEY)
    if not key:
        return None
    return queries.home_session(key, at - services.IDLE_TIMEOUT)


def _card_url(customer_id: int, card_state: int) -> str:
    """``notifications.card_links.update_card_url`` with the card state the home has already
    read with the cards (the same signed value; it spares the home a query)."""
    return links.url(f"card/{links._sign(links.CARD_SALT, f'{customer_id}.{card_state}')}/")


def _offers(changeable: tuple[tuple[int, int], ...]) -> dict[int, list[dict]]:
    """The upgrades app's entries per subscription that may change (``upgrades.offers.offers_for``):
    a running temporary upgrade to keep, the switch to annual, the plans to try; each ``{"url",
    "label"}`` and shown only when that app offers it. Asked on every request (they depend on the
    time and on the owner's offers): one short statement per subscription when nothing is offered."""
    result = {}
    for sub_id, plan_id in changeable:
        if not anything_to_offer(sub_id, plan_id):
            continue
        sub = Subscription.objects.select_related("customer", "plan").get(pk=sub_id)
        offer = offers_for(sub)
        entries = [offer["running_trial"], offer["annual"], *offer["trials"]]
        result[sub_id] = [{"url": entry["url"], "label": entry["label"]} for entry in entries if entry]
    return result


@never_cache
@portal_session
def invoice_pdf(request, invoice_id: int):
    invoice = (Invoice.objects.filter(pk=invoice_id, customer_id=request.portal.customer_id)
               .exclude(status=InvoiceStatus.DRAFT.value).first())
    if invoice is None:
        raise Http404
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(invoice)}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_POST
def logout(request):
    key = request.session.pop(SESSION_KEY, None)
    if key:
        services.end_session(key)
    return _page(request, "signed_out.html", _browser_language(), {})

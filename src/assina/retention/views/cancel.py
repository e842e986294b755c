"""The portal's cancel flow (issue 16): reason → one offer that fits it → confirm, under
``/portal/cancel/<subscription id>/``.

A portal session sees only its own customer: another customer's subscription or session id is a
404. A GET only shows the step the session is at; every change is a CSRF-checked POST, and the
session starts with the first one (the reason). Pages are in the customer's language.
"""

from __future__ import annotations

from functools import wraps

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from assina.core.errors import DomainError
from assina.i18n import localized_message
from assina.notifications.context import local_date
from assina.notifications.rendering import branding, django_language
from assina.portal.views import portal_session
from assina.subscriptions.changes import preview_change
from assina.time import now as clock_now

from .. import rules, services, wording
from ..models import OfferKind

Outcome = services.Outcome


def _language(customer) -> str:
    return django_language(customer.locale)


def _page(request, template: str, context: dict, status: int = 200):
    customer = request.portal.customer
    language = _language(customer)
    with translation.override(language):
        context = {key: value() if callable(value) else value for key, value in context.items()}
        response = render(request, f"retention/cancel/{template}",
                          {"business": branding(), "lang": language, "customer": customer, **context}, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _subscription(view):
    """Loads the session's customer's subscription ``sub_id`` (else 404) into ``request.subscription``."""

    @wraps(view)
    def wrapped(request, sub_id: int, *args, **kwargs):
        try:
            request.subscription = services.subscription_of(request.portal.customer_id, sub_id)
        except services.NotFound:
            raise Http404 from None
        return view(request, *args, **kwargs)

    return portal_session(wrapped)


def _cancel_session(view):
    """Also loads the cancel session ``session_id`` of that subscription and customer (else 404)."""

    @wraps(view)
    def wrapped(request, session_id: int, *args, **kwargs):
        try:
            request.cancel_session = services.session_of(request.portal.customer_id, request.subscription.pk, session_id)
        except services.NotFound:
            raise Http404 from None
        return view(request, *args, **kwargs)

    return _subscription(wrapped)


def _step_url(session) -> str:
    return f"/portal/cancel/{session.subscription_id}/{session.pk}/"


def _seed(request, sub) -> str:
    # The reasons' order is the same for one portal session (reloads, the POST that records it).
    return f"{request.portal.pk}:{sub.pk}"


def _ends_on(sub) -> str:
    return local_date(sub.current_period_end, sub.customer.locale, sub.customer.time_zone)


def _error(exc: Exception) -> str:
    return localized_message(exc) if isinstance(exc, DomainError) else str(exc)


@never_cache
@require_http_methods(["GET", "POST"])
@_subscription
def start(request):
    """Step 1: why are you cancelling? Its POST starts the session."""
    sub = request.subscription
    if sub.cancel_at_period_end:
        return _page(request, "already.html", {"subscription": sub, "ends_on": lambda: _ends_on(sub)})
    if not services.can_cancel(sub):
        raise Http404
    language = _language(sub.customer)
    reasons = rules.shown_reasons(_seed(request, sub), language)
    context = {"subscription": sub, "reasons": reasons, "chosen": "", "reason_text": ""}
    if request.method == "GET":
        return _page(request, "reason.html", context)
    reason, text = request.POST.get("reason", ""), request.POST.get("reason_text", "")
    try:
        with translation.override(language):
            session = services.start(sub, reason=reason, reason_text=text, order=[code for code, _label in reasons],
                                     portal_session_id=request.portal.pk)
    except services.CancelFlowError as exc:
        return _page(request, "reason.html", {**context, "chosen": reason, "reason_text": text[:services.TEXT_MAX],
                                              "error": _error(exc)}, status=400)
    return redirect(_step_url(session))


@never_cache
@require_http_methods(["GET"])
@_cancel_session
def step(request):
    """The step the session is at: the offer, the confirmation, or what happened."""
    session, sub = request.cancel_session, request.subscription
    customer = sub.customer
    if session.outcome == Outcome.SAVED:
        return _page(request, "done.html", {"saved": True, "subscription": sub,
                                            "lines": lambda: wording.applied_texts(session, sub, customer)})
    if session.outcome == Outcome.CANCELED:
        return _page(request, "done.html", {"saved": False, "subscription": sub, "ends_on": lambda: _ends_on(sub),
                                            "ended": sub.status == "canceled",
                                            "can_reactivate": sub.cancel_at_period_end})
    if session.outcome == Outcome.ABANDONED:
        return redirect("/portal/#subscription")
    if services.confirmable(session):
        return _page(request, "confirm.html", {"session": session, "subscription": sub, "ends_on": lambda: _ends_on(sub),
                                               "ends_now": services.ends_now(sub)})
    return _offer_page(request, session, sub)


def _offer_page(request, session, sub, error: str = "", status: int = 200):
    customer = sub.customer

    def preview() -> str:
        if session.offer_kind != OfferKind.PLAN_CHANGE:
            return ""
        try:
            change = preview_change(sub.pk, plan_code=session.offer_terms["plan"])
        except DomainError as exc:
            return _error(exc)
        return wording.preview_sentence(change, sub.currency, customer.locale)

    return _page(request, "offer.html", {
        "session": session, "subscription": sub, "offer": lambda: wording.offer_texts(session, sub, customer, clock_now()),
        "preview": preview, "acceptable": services.acceptable(session),
        "feedback": session.offer_kind == OfferKind.FEEDBACK, "error": error}, status=status)


def _act(request, action, **kwargs):
    session, sub = request.cancel_session, request.subscription
    try:
        with translation.override(_language(sub.customer)):
            action(session, **kwargs)
    except DomainError as exc:
        session.refresh_from_db()
        with translation.override(_language(sub.customer)):
            message = _error(exc)
        if session.outcome == Outcome.OPEN and not services.confirmable(session):
            return _offer_page(request, session, sub, error=message, status=409)
        return _page(request, "message.html", {"subscription": sub, "error": message}, status=409)
    return redirect(_step_url(session))


@never_cache
@require_POST
@_cancel_session
def accept(request):
    return _act(request, services.accept, feedback_text=request.POST.get("feedback_text", ""))


@never_cache
@require_POST
@_cancel_session
def decline(request):
    return _act(request, services.decline, feedback_text=request.POST.get("feedback_text", ""))


@never_cache
@require_POST
@_cancel_session
def confirm(request):
    return _act(request, services.confirm)


@never_cache
@require_POST
@_cancel_session
def keep(request):
    services.keep(request.cancel_session)
    return redirect("/portal/#subscription")


@never_cache
@require_POST
@_subscription
def reactivate(request):
    """Undo a cancellation at period end from the portal (the e-mail's link does the same)."""
    sub = request.subscription
    try:
        with translation.override(_language(sub.customer)):
            services.reactivate(sub)
    except DomainError as exc:
        with translation.override(_language(sub.customer)):
            message = _error(exc)
        return _page(request, "message.html", {"subscription": sub, "error": message}, status=409)
    sub.refresh_from_db()
    return _page(request, "reactivated.html", {"subscription": sub, "ends_on": lambda: _ends_on(sub)})

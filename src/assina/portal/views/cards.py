"""The small cards on the portal's home, above the account: a survey due today, and whatever
another app wants to put in front of a customer (a purchase suggestion, a price change to
choose, a delivery to skip).

A card is a function ``card(home: Home) -> str``: the card's HTML (safe, in the active language:
it runs inside the customer's ``translation.override``), or "" when it has nothing to show. Add
yours to ``CARDS`` (the order is the page's). This module is part of the portal's views (an entry
point), so a card may call any app (the portal's own modules sit below feedback, upgrades,
repricing...). Cards are made on **every** request, outside the account part the home keeps
between visits (``portal.home``), so a card never needs its tables in the home's stamps and is
never stale; in exchange it must be cheap: one fixed statement (an app's ``queries.py``: the
ORM costs more than the whole kept home), and the page's query budget in
``tests/integration/test_portal_queries.py`` goes up by one with it. A card that needs more may
keep its answer under the session's stamps, as ``suggestions`` does. A POST from a card goes to
the card's own view (with ``{% csrf_token %}``: ``home.request`` is there for it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from assina.catalog.models import MeteredPrice, Plan
from assina.core.states import LIVE
from assina.feedback.models import Survey
from assina.feedback.sending import scale, score_url
from assina.notifications.context import local_date
from assina.notifications.rendering import branding, message_locale
from assina.playbooks.queries import open_offer
from assina.playbooks.wording import coupon_sentence
from assina.repricing.queries import coming_price_change
from assina.subscriptions.models import Subscription, SubscriptionItem
from assina.upgrades.suggestions import KINDS, MAX_SUGGESTIONS, quick_suggestions, record_shown, usage_upsells

from assina.feedback.queries import due_survey
from assina.portal.queries import HomeSession


@dataclass(frozen=True)
class Home:
    request: HttpRequest
    session: HomeSession  # the customer's id, name, e-mail, locale
    language: str  # "en" or "pt-br", already active
    at: datetime  # assina.time.now()


def survey(home: Home) -> str:
    """The customer's open survey (``feedback.sending.due_survey_for``, as one fixed statement:
    ``feedback.queries.due_survey``): the question and its scores, each a link that records it
    (``/s/<token>/<score>/``)."""
    due = due_survey(home.session.customer_id, home.at)
    if due is None:
        return ""
    token, kind = due
    return render_to_string("portal/cards/survey.html", {
        "business": branding(), "nps": kind == Survey.NPS, "scores": [{"score": n, "url": score_url(token, n)} for n in scale(kind)]})


@dataclass
class _Live:
    """A live subscription as the suggestions card reads it."""

    sub: Subscription  # its pk, plan id and name, currency, interval
    addons: dict[int, str]  # {plan id: name}
    base: tuple[int, int] | None = None  # its base item's (plan version id, quantity)
    metered: bool = False  # one of its items has metered prices


def _live_subscriptions(customer_id: int) -> list[_Live]:
    """The customer's live subscriptions (not cancelling) with their add-ons, base item and whether
    they are metered, from their items in one query (a live subscription has its base item, so
    none is missed), as ``quick_suggestions`` and ``usage_upsells`` read them."""
    metered = Exists(MeteredPrice.objects.filter(plan_version_id=OuterRef("plan_version_id")))
    rows = (SubscriptionItem.objects.filter(subscription__customer_id=customer_id, subscription__status__in=list(LIVE),
                                            subscription__cancel_at_period_end=False)
            .annotate(metered=metered).order_by("subscription_id", "pk")
            .values_list("subscription_id", "subscription__plan_id", "subscription__plan__name", "subscription__currency",
                         "subscription__interval", "subscription__interval_count", "plan_version__plan_id",
                         "plan_version__plan__kind", "plan_version__plan__name", "plan_version_id", "quantity", "metered"))
    subs: dict[int, _Live] = {}
    for (sub_id, plan_id, plan_name, currency, interval, count, item_plan, kind, item_name, version_id, quantity,
         is_metered) in rows:
        if sub_id not in subs:
            sub = Subscription(pk=sub_id, customer_id=customer_id, plan_id=plan_id, currency=currency, interval=interval,
                               interval_count=count)
            sub.plan = Plan(pk=plan_id, name=plan_name)
            subs[sub_id] = _Live(sub, {})
        live = subs[sub_id]
        live.metered = live.metered or bool(is_metered)
        if kind == Plan.Kind.ADDON:
            live.addons[item_plan] = item_name
        elif live.base is None:
            live.base = (version_id, quantity)
    return list(subs.values())


def _suggestions_now(home: Home) -> str:
    """The usage upsells of metered subscriptions (one statement each), then the add-ons and the
    bundle (``quick_suggestions``), the strongest kind first, one per plan or add-on, three at most."""
    customer_id = home.session.customer_id
    locale = message_locale(home.session.locale)
    found, seen = [], set()
    for live in _live_subscriptions(customer_id):
        mine = []
        if live.metered and live.base is not None:
            mine += usage_upsells(live.sub, live.base[0], live.base[1], locale)
        mine += quick_suggestions(live.sub, owned_addons=live.addons, locale=locale)
        for suggestion in sorted(mine, key=lambda s: KINDS.index(s.kind)):
            if suggestion.key not in seen:
                seen.add(suggestion.key)
                found.append(suggestion)
        if len(found) >= MAX_SUGGESTIONS:
            break
    found = found[:MAX_SUGGESTIONS]
    if not found:
        return ""
    record_shown(customer_id, found, "portal", at=home.at)
    return render_to_string("portal/cards/suggestions.html", {"suggestions": found})


# The suggestions card as last made, per process and customer: counting what the customers of a
# plan hold is the dearest thing on the home (docs/performance.md), and its answer changes only with the
# customer's own subscriptions (their events), the catalog (events of no customer, the admin) or
# what others hold (a statistic: an hour old is fine). The stamps come with the session.
KEEP_SUGGESTIONS = 2000
_KEPT_SUGGESTIONS: OrderedDict[tuple, str] = OrderedDict()
_KEPT_LOCK = threading.Lock()


def forget() -> None:
    """Drop every kept suggestions card of this process (tests)."""
    with _KEPT_LOCK:
        _KEPT_SUGGESTIONS.clear()


def _suggestions_key(home: Home) -> tuple:
    s = home.session
    return (s.customer_id, s.locale, home.language, s.customer_events, s.customer_event, s.global_event,
            s.admin_change, int(home.at.timestamp() // 3600))


def suggestions(home: Home) -> str:
    """At most three suggestions: for a metered subscription a higher plan its last billed usage
    calls for (``upgrades.suggestions.usage_upsells``), then the add-ons and the bundle
    (``quick_suggestions``: cross-sells, popular add-ons of the customer's plan), each with its
    reason and a link to the plan-change or add-ons page with ``?suggestion=<key>``; recorded as
    shown (``record_shown``: once a day per suggestion).
    Made again when the customer's events, the catalog or the hour change (recording "shown"
    writes an event, so a card shown for the first time is made twice, the second time writing
    nothing); kept between: no query. Made: the subscriptions with their add-ons (one query),
    then per metered subscription its usage and prices (one fixed statement), per subscription the
    counts (one) and the prices when something is suggested (one), and the shown check when shown
    (one). Usage grows without events, but what is read is the last *billed* period's, which
    changes only with an invoice (an event)."""
    key = _suggestions_key(home)
    with _KEPT_LOCK:
        html = _KEPT_SUGGESTIONS.get(key)
        if html is not None:
            _KEPT_SUGGESTIONS.move_to_end(key)
            return html
    html = _suggestions_now(home)
    with _KEPT_LOCK:
        _KEPT_SUGGESTIONS[key] = html
        while len(_KEPT_SUGGESTIONS) > KEEP_SUGGESTIONS:
            _KEPT_SUGGESTIONS.popitem(last=False)
    return html


def price_change(home: Home) -> str:
    """A price change announced to the customer that has not taken effect yet (their choice can
    still be made or changed: ``repricing.services.open_members`` before its date): its date and
    a button to ``/portal/price-change/``. One fixed statement."""
    row = coming_price_change(home.session.customer_id, home.at)
    if row is None:
        return ""
    target_at, tz = row
    return render_to_string("portal/cards/price_change.html", {
        "date": local_date(target_at, message_locale(home.session.locale), tz)})


def offer(home: Home) -> str:
    """A coupon a playbook offers the customer (``playbooks.services.make_offer``) and they may
    still take: what it gives on which subscription from which invoice, until when, an Accept and a "No thanks"
    button (POSTs to ``/portal/offers/<id>/accept/`` and ``.../decline/``, the playbooks app's
    views). One fixed statement (``playbooks.queries.open_offer``)."""
    found = open_offer(home.session.customer_id, home.at)
    if found is None:
        return ""
    locale = message_locale(home.session.locale)
    return render_to_string("portal/cards/offer.html", {
        "offer": found.id, "discount": coupon_sentence(found.terms, locale), "plan": found.plan,
        "starts": local_date(found.next_invoice_at, locale, found.time_zone),
        "until": local_date(found.expires_at, locale, found.time_zone), "csrf_token": get_token(home.request)})


CARDS = (survey, offer, price_change, suggestions)


def cards(home: Home) -> list[str]:
    return [html for html in (card(home) for card in CARDS) if html]

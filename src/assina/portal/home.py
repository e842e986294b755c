"""The portal's home, fast: its account part (subscriptions, cards, invoices) is kept per process
and customer between visits, and made again as soon as anything it shows may have changed.

The page has three parts:

- per request, always: the signed-in check (``queries.home_session``: the portal session, not
  ended and not idle, read on every request with the Django session), the greeting, the flow's
  note, the small cards (``portal.views.cards``), the CSRF token, the card link (signed with the time)
  and the upgrade offers (``upgrades.offers``: time and the owner's offers decide them);
- the account part, rendered from ``portal/account.html`` with marks where the per-request values
  go (``fill`` puts them in), and kept in ``_KEPT`` under a key made of the customer, the language
  and the **stamps** read in the same statement as the session:

  - the customer's events, count and newest id: every change of what the account part shows
    (subscriptions and their items, scheduled changes and carried items, invoices and their
    states, cards, credit balance, the customer's name, language and time zone) is written by a
    service together with its event for that customer, in the same transaction
    (``assina.events``; ``tests/integration/test_portal_home_cache.py`` walks through them and
    compares the kept page with a fresh one after each). The count catches a change whose event
    got a lower id but committed later (PostgreSQL hands out ids before commit);
  - the newest event of no customer (a plan or coupon created or changed by the services);
  - the newest change made in the admin (Django's admin log: plan names, coupons);
  - the portal settings' switches the part shows (pauses offered, add-on changes allowed), read
    from their row whoever changed it.

  A customer with metered prices is never served from the kept part: usage grows without events.

Nothing time-dependent is kept: dates in the account part are calendar dates of stored instants
(period ends, invoice dates), not "in 3 days". The kept parts are per process (each gunicorn
worker has its own), at most ``KEEP`` of them, the least recently shown dropped first.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.utils.html import escape

from assina.customers.models import Customer
from assina.notifications.rendering import branding

from . import summary
from .models import PortalSettings
from .queries import HomeSession

KEEP = 2000  # kept account parts per process (about 12 kB each with three years of invoices)

# Marks: random per process, so no text a customer or an owner typed can look like one.
_MARK = "m" + secrets.token_hex(8)
_NAMES = ("csrf", "card_url", "nonce", "name", "return_url", "messages", "cards", "account")
MARKS = {**{name: f"{_MARK}{name}." for name in _NAMES},
         "offers": f"{_MARK}offers", "focus_subscription": f"{_MARK}focus-subscription.", "focus_card": f"{_MARK}focus-card."}
_FILL = re.compile(re.escape(_MARK) + r"(?:offers(\d+)\.|focus-(\w+)\.|(\w+)\.)")


@dataclass(frozen=True)
class Account:
    html: str  # with marks
    changeable: tuple[tuple[int, int], ...]  # (subscription id, plan id) of those that may be offered upgrades
    card_state: int  # the newest payment method's id (``summary.cards``): part of the card link
    metered: bool  # shows usage so far: never kept


_kept: OrderedDict[tuple, Account] = OrderedDict()
_lock = threading.Lock()


def account(session: HomeSession, language: str) -> Account:
    """The customer's account part in ``language`` (call it inside ``translation.override``)."""
    key = (session.customer_id, language, session.customer_events, session.customer_event, session.global_event,
           session.admin_change, session.settings)
    with _lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return found
    made = build(session.customer_id)
    if not made.metered:
        with _lock:
            _kept[key] = made
            while len(_kept) > KEEP:
                _kept.popitem(last=False)
    return made


def forget() -> None:
    """Drop every kept part of this process (tests)."""
    with _lock:
        _kept.clear()


def build(customer_id: int) -> Account:
    """The account part as the database says now (the queries of ``summary``)."""
    customer = Customer.objects.select_related("default_payment_method").get(pk=customer_id)
    subscriptions = summary.subscriptions(customer, PortalSettings.current())
    cards, card_state = summary.cards(customer)
    invoices = summary.invoices(customer)
    html = render_to_string("portal/account.html", {
        "subscriptions": subscriptions, "invoices": invoices, "invoice_rows": summary.invoice_rows(invoices),
        "cards": cards, "marks": MARKS, "csrf_token": MARKS["csrf"]})
    changeable = tuple((sub["id"], sub["object"].plan_id) for sub in subscriptions if sub["can_change"])
    metered = any(getattr(sub["object"], "portal_metered", True) for sub in subscriptions)
    return Account(html=html, changeable=changeable, card_state=card_state, metered=metered)


def fill(made: Account, *, csrf_token: str, card_url: str, offers: dict[int, list[dict]], focus: str) -> str:
    """The account part with this request's values in place of its marks."""
    values = {"csrf": csrf_token, "card_url": escape(card_url)}

    def value(match: re.Match) -> str:
        if match.group(1) is not None:
            return "".join(f'<a class="button" href="{escape(entry["url"])}">{escape(entry["label"])}</a>'
                           for entry in offers.get(int(match.group(1)), ()))
        if match.group(2) is not None:
            return ' class="focus"' if match.group(2) == focus else ""
        return values[match.group(3)]

    return _FILL.sub(value, made.html)


# --- the page around it ---------------------------------------------------------------------------

_shells: dict[tuple, str] = {}


def page(request, *, csrf_token: str, language: str, flow: str, name: str, return_url: str, cards: list[str], account_html: str) -> str:
    """The whole home: ``portal/home.html`` (with ``portal/base.html``) rendered once per process,
    language, flow and business with marks, filled with this request's values: the CSP nonce,
    the CSRF token, the greeting's name, the way back, the messages, the cards, the account part.
    The same bytes the template would give (``tests/integration/test_portal_home_cache.py``)."""
    business = branding()
    key = (language, flow, bool(return_url), tuple(sorted(business.items())))
    shell = _shells.get(key)
    if shell is None:
        shell = _shells[key] = render_to_string("portal/home.html", {
            "business": business, "lang": language, "flow": flow, "return_url": return_url, "marks": MARKS,
            "csrf_token": MARKS["csrf"], "request": {"csp_nonce": MARKS["nonce"]}})
    values = {"nonce": str(request.csp_nonce), "csrf": csrf_token, "name": escape(name),
              "return_url": escape(return_url), "cards": "".join(f"{card}\n" for card in cards),
              "messages": "".join(f'<p class="success" role="status">{escape(message)}</p>'
                                  for message in get_messages(request)),
              "account": account_html}
    return _FILL.sub(lambda match: values[match.group(3)], shell)

"""Signed links in messages: reactivate, the invoice PDF, unsubscribe (the card link's own
rules are in ``card_links``, which signs through ``_sign``/``_unsign`` here).

Every link is narrow: it names one thing and, where an action could be replayed later, the
state it was sent for.

- reactivate: ``<subscription id>.<its subscription.cancel_scheduled event id>``. It undoes
  only the cancellation it was sent for: after a reactivation and a new cancellation the old
  link shows the subscription's state and reactivates nothing (the new cancellation's message
  carries its own link). Lives ``REACTIVATE_MAX_AGE``; the service refuses once the period ended.
- invoice PDF: ``<invoice id>.<customer id>``, for ``INVOICE_MAX_AGE`` (a year: receipts are
  kept for the records).
- unsubscribe: a plain HMAC that never expires (RFC 8058 expects the link to keep working); it
  only ever stops messages.
- portal (``account_url`` and the other buttons that invite the customer to act):
  ``<customer id>.<target>.<random nonce>``, where the target is ``home`` or one of the portal's
  flows (``update_payment_method``...). It opens through the portal's enter page
  (``/portal/enter/<token>/``: a GET shows a button, its POST spends the link), which gives it a
  ``PortalLink`` row (origin ``email``, that nonce) the first time: it works once. It lives
  ``PORTAL_MAX_AGE`` (30 days) from when the message was rendered, and stops working when the
  owner ends the customer's portal access. The portal (a layer above) reads it with
  ``portal_target``; nothing here knows portal rows.

Every link is signed with ``clock.installation.link_signing_key()``: a sandbox database's own
random key (made at ``assina migrate``), or ``ASSINA_SECRET_KEY`` in live mode.

Signed links carry the time they were signed (``django.core.signing.TimestampSigner``); one
dated more than ``CLOCK_SKEW`` seconds in the future is refused, as is one past its age. Times
are the wall clock's: a link lives in the customer's mailbox, whatever a sandbox's test clock says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from functools import lru_cache

from django.conf import settings
from django.core import signing

from assina.clock.installation import link_signing_key

CARD_SALT = "assina.notifications.card"
REACTIVATE_SALT = "assina.notifications.reactivate"
INVOICE_SALT = "assina.notifications.invoice"
UNSUBSCRIBE_SALT = "assina.notifications.unsubscribe"
PORTAL_SALT = "assina.portal.message"
REACTIVATE_MAX_AGE = 400 * 86400  # an annual period plus margin; the service refuses once it ended
INVOICE_MAX_AGE = 366 * 86400
# A button in a message is pressed days or weeks after the mail arrives (a price change told a
# month ahead, a pause of a month, a receipt kept in the inbox): it works for a month, once. The
# inbox is the key anyway (/portal/login mails a fresh link to it), so a longer life widens
# little; a spent or expired button lands on the page that mails a new link.
PORTAL_MAX_AGE = 30 * 86400
# What a portal button may open: the home, or one of the portal's flows.
PORTAL_TARGETS = ("home", "update_payment_method", "cancel", "change_plan", "switch_to_annual", "price_change")
CLOCK_SKEW = 60  # seconds a token may be dated ahead of this server (several web machines)


def _key() -> str:
    # Sandbox: the database's own random key, made at migrate (never the key published in the
    # source); live: ASSINA_SECRET_KEY, checked strong at start-up.
    return link_signing_key()


@lru_cache(maxsize=8)
def _signer(salt: str, key: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(key=key, salt=salt)


def _sign(salt: str, value: str) -> str:
    # One signer per (salt, key): a campaign signs an unsubscribe link per recipient.
    return _signer(salt, _key()).sign(value)


def _signed_at(token: str) -> float:
    """When the token was signed (Django's ``value:timestamp:signature``); +inf when unreadable."""
    try:
        return float(signing.b62_decode(token.rsplit(":", 2)[-2]))
    except (IndexError, ValueError):
        return float("inf")


def _unsign(salt: str, token: str, max_age: int | None) -> str | None:
    """The signed value, or None when the token is forged, older than ``max_age`` or dated in
    the future."""
    try:
        value = _signer(salt, _key()).unsign(token, max_age=max_age)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if _signed_at(token) > time.time() + CLOCK_SKEW:
        return None
    return value


def url(path: str) -> str:
    return f"{settings.ASSINA_BASE_URL}/c/{path}"


# --- reactivate ---------------------------------------------------------------------------------

def cancellation_event_id(subscription_id: int) -> int:
    """The subscription's latest scheduled cancellation (its ``subscription.cancel_scheduled``
    event), 0 when none: the identity a reactivate link names. An event, not a time: under a
    frozen test clock two cancellations can share an instant, never an event."""
    from assina.events.models import Event

    return (Event.objects.filter(subject_type="subscription", subject_id=subscription_id,
                                 type="subscription.cancel_scheduled")
            .order_by("-id").values_list("id", flat=True).first()) or 0


def reactivate_url(subscription_id: int, cancellation: int | None = None) -> str:
    """The link that undoes one cancellation of the subscription: ``cancellation`` (the id of its
    ``subscription.cancel_scheduled`` event), by default the latest."""
    if cancellation is None:
        cancellation = cancellation_event_id(subscription_id)
    return url(f"reactivate/{_sign(REACTIVATE_SALT, f'{subscription_id}.{cancellation}')}/")


def reactivate_target(token: str) -> tuple[int, int] | None:
    """(subscription id, cancellation event id) of a valid reactivate link, else None. A link of
    the older form (the subscription id alone) names no cancellation and is refused."""
    value = _unsign(REACTIVATE_SALT, token, REACTIVATE_MAX_AGE)
    sub, _sep, cancellation = (value or "").partition(".")
    if not sub.isdigit() or not cancellation.isdigit():
        return None
    return int(sub), int(cancellation)


def is_same_cancellation(subscription, cancellation: int) -> bool:
    """Whether the subscription is still set to cancel by the cancellation a link was sent for."""
    return (bool(subscription.cancel_at_period_end) and cancellation != 0
            and cancellation_event_id(subscription.pk) == cancellation)


# --- invoice PDF --------------------------------------------------------------------------------

def invoice_pdf_url(invoice) -> str:
    """The customer's link to ``invoice``'s PDF (in receipts): that invoice only, for a year."""
    return url(f"invoice/{_sign(INVOICE_SALT, f'{invoice.pk}.{invoice.customer_id}')}/pdf")


def invoice_target(token: str) -> tuple[int, int] | None:
    """(invoice id, customer id) of a valid invoice link, else None."""
    value = _unsign(INVOICE_SALT, token, INVOICE_MAX_AGE)
    invoice, _sep, customer = (value or "").partition(".")
    if not invoice.isdigit() or not customer.isdigit():
        return None
    return int(invoice), int(customer)


# --- portal ------------------------------------------------------------------------------------

def portal_url(customer_id: int, target: str = "home") -> str:
    """A single-use button into the customer's portal (``target``: the home or a flow)."""
    if target not in PORTAL_TARGETS:
        raise ValueError(f"unknown portal target {target!r}")
    token = _sign(PORTAL_SALT, f"{customer_id}.{target}.{secrets.token_hex(16)}")
    return f"{settings.ASSINA_BASE_URL}/portal/enter/{token}/"


def portal_login_url() -> str:
    """Where a message with no customer behind it (a preview, a test send) sends its buttons."""
    return f"{settings.ASSINA_BASE_URL}/portal/login"


def portal_target(token: str) -> tuple[int, str, str, float] | None:
    """(customer id, target, nonce, when signed as a Unix time) of a genuine portal button, else
    None (forged, of another kind, or dated in the future). Its age is the portal's to judge
    (``PORTAL_MAX_AGE``): an old button is "expired", not "not valid"."""
    value = _unsign(PORTAL_SALT, token, None)
    parts = (value or "").split(".")
    if len(parts) != 3:
        return None
    customer, target, nonce = parts
    if not customer.isdigit() or len(customer) > 18 or target not in PORTAL_TARGETS or len(nonce) != 32:
        return None
    return int(customer), target, nonce, _signed_at(token)


# --- unsubscribe --------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _unsubscribe_key(secret: str) -> bytes:
    return hashlib.sha256(f"{UNSUBSCRIBE_SALT}:{secret}".encode()).digest()


def _unsubscribe_mac(value: str) -> str:
    # A plain HMAC (no timestamp: these links never expire), cheap enough to sign one per
    # recipient of a 100,000-customer campaign.
    digest = hmac.new(_unsubscribe_key(_key()), value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def unsubscribe_url(customer_id: int, campaign_id: int | None) -> str:
    value = f"{customer_id}.{campaign_id or 0}"
    return url(f"unsubscribe/{value}.{_unsubscribe_mac(value)}/")


def unsubscribe_target(token: str) -> tuple[int, int | None] | None:
    value, _sep, mac = token.rpartition(".")
    if not value or not hmac.compare_digest(mac, _unsubscribe_mac(value)):
        return None
    customer, _sep, campaign = value.partition(".")
    if not customer.isdigit() or not campaign.isdigit():
        return None
    return int(customer), int(campaign) or None

"""Signed links in messages: update the card, reactivate, unsubscribe.

A link carries only an id signed with the server's secret (``django.core.signing``), so it
cannot be forged or pointed at another customer. Update-card and reactivate links expire;
unsubscribe links never do (RFC 8058 expects them to keep working).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from django.conf import settings
from django.core import signing

CARD_SALT = "assina.notifications.card"
REACTIVATE_SALT = "assina.notifications.reactivate"
UNSUBSCRIBE_SALT = "assina.notifications.unsubscribe"
CARD_MAX_AGE = 30 * 86400
REACTIVATE_MAX_AGE = 400 * 86400  # an annual period plus margin; the service refuses once it ended


@lru_cache(maxsize=8)
def _signer(salt: str, key: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(key=key, salt=salt)


def _sign(salt: str, value: str) -> str:
    # One signer per (salt, key): a campaign signs an unsubscribe link per recipient.
    return _signer(salt, settings.SECRET_KEY).sign(value)


def _unsign(salt: str, token: str, max_age: int | None) -> str | None:
    try:
        return signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age)
    except signing.BadSignature:  # includes SignatureExpired
        return None


def url(path: str) -> str:
    return f"{settings.ASSINA_BASE_URL}/c/{path}"


def update_card_url(customer_id: int) -> str:
    return url(f"card/{_sign(CARD_SALT, str(customer_id))}/")


def reactivate_url(subscription_id: int) -> str:
    return url(f"reactivate/{_sign(REACTIVATE_SALT, str(subscription_id))}/")


@lru_cache(maxsize=4)
def _unsubscribe_key(secret: str) -> bytes:
    return hashlib.sha256(f"{UNSUBSCRIBE_SALT}:{secret}".encode()).digest()


def _unsubscribe_mac(value: str) -> str:
    # A plain HMAC (no timestamp: these links never expire), cheap enough to sign one per
    # recipient of a 100,000-customer campaign.
    digest = hmac.new(_unsubscribe_key(settings.SECRET_KEY), value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def unsubscribe_url(customer_id: int, campaign_id: int | None) -> str:
    value = f"{customer_id}.{campaign_id or 0}"
    return url(f"unsubscribe/{value}.{_unsubscribe_mac(value)}/")


def card_customer(token: str) -> int | None:
    value = _unsign(CARD_SALT, token, CARD_MAX_AGE)
    return int(value) if value and value.isdigit() else None


def reactivate_subscription(token: str) -> int | None:
    value = _unsign(REACTIVATE_SALT, token, REACTIVATE_MAX_AGE)
    return int(value) if value and value.isdigit() else None


def unsubscribe_target(token: str) -> tuple[int, int | None] | None:
    value, _sep, mac = token.rpartition(".")
    if not value or not hmac.compare_digest(mac, _unsubscribe_mac(value)):
        return None
    customer, _sep, campaign = value.partition(".")
    if not customer.isdigit() or not campaign.isdigit():
        return None
    return int(customer), int(campaign) or None

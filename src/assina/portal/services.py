"""The portal's use cases: make a link, open it (start a session), find a live session, end one,
revoke a customer's access, and mail a link to a customer who asks for one.

Two kinds of link open the portal through the same enter page. A link the business hands over
or the customer asks for has its ``PortalLink`` row from the start (salt ``SALT``). A button in
a message (``notifications.links.portal_url``, signed when the message is rendered) names the
customer, a target and a random nonce; it gets its row (origin ``email``, that nonce) when first
opened, which makes it single-use like the others. Revoking a customer's access spends the rows
and refuses every button signed up to that moment (the time is kept in the
``portal.access_revoked`` event).

Links and sessions run on the wall clock, as the other customer links do (``notifications.links``):
a link lives in a mailbox and a browser session in real time, whatever a sandbox's test clock says.
Messages are queued at ``assina.time.now()``, the time the sender works in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assina import time as assina_time
from assina.core.errors import DomainError
from assina.customers.models import Customer
from assina.customers.services import get_customer
from assina.events.models import Event
from assina.events.services import record
from assina.notifications import links
from assina.notifications.outbox import Draft, queue

from .models import FLOWS, LinkRequest, PortalLink, PortalSession

SALT = "assina.portal.link"
API_LINK_AGE = timedelta(hours=24)  # a link the business hands over (API, CLI)
LOGIN_LINK_AGE = timedelta(minutes=15)  # a link the customer asked for by e-mail
IDLE_TIMEOUT = timedelta(hours=1)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often (not per request)
# /portal/login: requests per window, per address and per client address.
THROTTLE_WINDOW = timedelta(hours=1)
PER_EMAIL = 5
PER_IP = 20
FLOW_NAMES = tuple(name for name, _label in FLOWS)


class PortalError(DomainError):
    pass


class Throttled(Exception):
    pass


@dataclass
class InvalidLink(Exception):
    reason: str  # "invalid" (forged, unreadable, future-dated), "used", "expired" (or revoked)


def wall() -> datetime:
    return timezone.now()


def find_customer(value: str) -> Customer:
    """The customer behind an id (``cus_12`` or ``12``) or an e-mail address."""
    value = str(value).strip()
    if value.startswith("cus_"):
        value = value[4:]
    customer = get_customer(value)
    if customer.erased_at is not None:
        raise PortalError(_("customer %(customer)s was erased") % {"customer": repr(value)})
    return customer


def _check(flow: str, return_url: str) -> None:
    if flow and flow not in FLOW_NAMES:
        raise PortalError(_("unknown flow %(flow)s (one of: %(flows)s)") % {"flow": repr(flow), "flows": ", ".join(FLOW_NAMES)})
    if return_url:
        parts = urlsplit(return_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(return_url) > 2000:
            raise PortalError(_("return_url must be an http or https address of at most 2000 characters"))


def link_url(link: PortalLink) -> str:
    token = links._sign(SALT, f"{link.pk}.{link.nonce}")
    return f"{settings.ASSINA_BASE_URL}/portal/enter/{token}/"


def create_link(customer: Customer, *, flow: str = "", return_url: str = "", origin: str = PortalLink.Origin.API,
                age: timedelta = API_LINK_AGE) -> tuple[PortalLink, str]:
    """A new single-use link for ``customer`` and its URL."""
    _check(flow, return_url)
    at = wall()
    with transaction.atomic():
        link = PortalLink.objects.create(customer=customer, nonce=secrets.token_hex(16), origin=origin, flow=flow,
                                         return_url=return_url, created_at=at, expires_at=at + age)
        record("portal.link_created", customer, assina_time.now(), {"link": link.pk, "flow": flow, "origin": origin},
               customer_id=customer.pk)
    return link, link_url(link)


def _valid_link(token: str, *, lock: bool) -> PortalLink:
    max_age = int(max(API_LINK_AGE, LOGIN_LINK_AGE).total_seconds())
    value = links._unsign(SALT, token, max_age)  # refuses forged, too old and future-dated tokens
    if value is None:
        return _message_link(token, lock=lock)
    if "." not in value:
        raise InvalidLink("invalid")
    pk, nonce = value.split(".", 1)
    if not pk.isdigit() or len(pk) > 18:
        raise InvalidLink("invalid")
    query = PortalLink.objects.select_for_update() if lock else PortalLink.objects.all()
    link = query.filter(pk=int(pk), nonce=nonce).first()
    if link is None:
        raise InvalidLink("invalid")
    if link.used_at is not None:
        raise InvalidLink("used")
    if link.revoked_at is not None or link.expires_at <= wall():
        raise InvalidLink("expired")
    return link


def _message_link(token: str, *, lock: bool) -> PortalLink:
    """The link of a button in a message: its row once opened, else a new unsaved one."""
    found = links.portal_target(token)  # refuses forged and future-dated buttons
    if found is None:
        raise InvalidLink("invalid")
    customer_id, target, nonce, signed_at = found
    customer = Customer.objects.filter(pk=customer_id, erased_at__isnull=True).first()
    if customer is None:
        raise InvalidLink("invalid")
    if lock:
        # Two presses at once: the second waits here and then finds the first one's row.
        Customer.objects.select_for_update().filter(pk=customer_id).values_list("pk", flat=True).first()
    query = PortalLink.objects.select_for_update() if lock else PortalLink.objects.all()
    link = query.filter(customer_id=customer_id, origin=PortalLink.Origin.EMAIL, nonce=nonce).first()
    if link is not None:
        if link.used_at is not None:
            raise InvalidLink("used")
        if link.revoked_at is not None or link.expires_at <= wall():
            raise InvalidLink("expired")
        return link
    created = datetime.fromtimestamp(signed_at, tz=UTC)
    expires = created + timedelta(seconds=links.PORTAL_MAX_AGE)
    if expires <= wall() or _revoked_since(customer_id, signed_at):
        raise InvalidLink("expired")
    return PortalLink(customer=customer, nonce=nonce, origin=PortalLink.Origin.EMAIL,
                      flow="" if target == "home" else target, created_at=created, expires_at=expires)


def _revoked_since(customer_id: int, signed_at: float) -> bool:
    """Whether the owner ended the customer's portal access at or after ``signed_at`` (a button
    signed in the same second as the revocation is refused too: the revocation wins)."""
    data = (Event.objects.filter(customer_id=customer_id, type="portal.access_revoked").order_by("-id")
            .values_list("data", flat=True).first())
    revoked = (data or {}).get("revoked_at")
    return bool(revoked) and datetime.fromisoformat(revoked).timestamp() >= int(signed_at)


def check_link(token: str) -> PortalLink:
    """The link behind ``token`` if it can still be opened (raises ``InvalidLink``); spends nothing.

    Opening takes a POST: mail scanners that follow every GET link would otherwise spend it."""
    return _valid_link(token, lock=False)


def open_link(token: str) -> PortalSession:
    """Spend the link behind ``token`` and start a session (raises ``InvalidLink``)."""
    with transaction.atomic():
        link = _valid_link(token, lock=True)
        at = wall()
        link.used_at = at
        if link.pk is None:  # a message's button, opened for the first time
            link.save()
        else:
            link.save(update_fields=["used_at"])
        session = PortalSession.objects.create(customer_id=link.customer_id, link=link, key=secrets.token_urlsafe(32),
                                               created_at=at, last_seen_at=at)
        record("portal.session_started", session, assina_time.now(), {"link": link.pk, "flow": link.flow},
               customer_id=link.customer_id)
    return session


def live_session(key: str | None) -> PortalSession | None:
    """The session behind a cookie's key while it is neither ended nor idle for an hour."""
    if not key:
        return None
    at = wall()
    session = (PortalSession.objects.select_related("customer", "customer__default_payment_method", "link")
               .filter(key=key, revoked_at__isnull=True, last_seen_at__gt=at - IDLE_TIMEOUT).first())
    if session is not None and at - session.last_seen_at >= TOUCH_EVERY:
        PortalSession.objects.filter(pk=session.pk).update(last_seen_at=at)
        session.last_seen_at = at
    return session


def touch(session_id: int, at: datetime) -> None:
    """Note that the session was seen at ``at`` (the idle timeout counts from it); callers do it at
    most every ``TOUCH_EVERY``."""
    PortalSession.objects.filter(pk=session_id).update(last_seen_at=at)


def end_session(key: str) -> None:
    PortalSession.objects.filter(key=key, revoked_at__isnull=True).update(revoked_at=wall())


def revoke(customer: Customer) -> dict:
    """End every session of ``customer`` and spend every link not used yet."""
    at = wall()
    with transaction.atomic():
        sessions = PortalSession.objects.filter(customer=customer, revoked_at__isnull=True).update(revoked_at=at)
        links_ = PortalLink.objects.filter(customer=customer, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=at)
        # The wall-clock time: buttons in messages signed up to it stop working (``_revoked_since``).
        record("portal.access_revoked", customer, assina_time.now(),
               {"sessions": sessions, "links": links_, "revoked_at": at.isoformat()}, customer_id=customer.pk)
    return {"customer": customer.email, "sessions_ended": sessions, "links_revoked": links_}


def request_link(email: str, address: str) -> None:
    """Mail a 15-minute link to ``email`` if it is a customer's; raises ``Throttled`` past the limits.

    The caller answers the same whether or not the address is known."""
    email = email.strip()[:254]
    at = wall()
    keys = {f"email:{email.lower()}": PER_EMAIL, f"ip:{address}": PER_IP}
    with transaction.atomic():
        LinkRequest.objects.filter(at__lte=at - THROTTLE_WINDOW).delete()
        for key, limit in keys.items():
            if LinkRequest.objects.filter(key=key, at__gt=at - THROTTLE_WINDOW).count() >= limit:
                raise Throttled()
        LinkRequest.objects.bulk_create([LinkRequest(key=key[:300], at=at) for key in keys])
    customer = Customer.objects.filter(email__iexact=email, erased_at__isnull=True).first() if "@" in email else None
    if customer is None:
        return
    with transaction.atomic():
        link, url = create_link(customer, origin=PortalLink.Origin.LOGIN, age=LOGIN_LINK_AGE)
        when = assina_time.now()
        queue([Draft(key=f"portal_link.{link.pk}", template="portal_link", customer=customer, due_at=when,
                     context={"portal_url": url, "minutes": int(LOGIN_LINK_AGE.total_seconds() // 60)})], when)

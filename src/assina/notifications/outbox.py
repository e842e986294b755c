"""Putting messages in the outbox: render each draft in its recipient's language and write the
row. Nothing is sent here; the sender (``sending``) picks due rows up.

A draft whose ``key`` is already in the outbox is dropped (the database's unique key is the
last word when two producers race), a recipient without a valid address gets a row marked
``invalid`` (reported, never crashed on), and a marketing message to a customer without consent
is kept as ``suppressed``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from . import links
from .catalog import MARKETING, kind_of
from .context import common
from .models import MarketingConsent, Message
from .queries import queued_keys
from .rendering import CompiledTemplate, TemplateCache, message_locale, wrap


@dataclass
class Draft:
    key: str
    template: str
    customer: object | None  # customers.Customer (None for a test send)
    due_at: datetime
    context: dict = field(default_factory=dict)  # variables beyond the common ones
    to_email: str = ""
    locale: str = ""
    event_id: int | None = None
    campaign_id: int | None = None
    kind: str = ""
    # Why this message must not go out ("" = it goes): its premise no longer holds (a
    # cancellation undone before the mail went out). The row is kept, marked ``skipped``, so
    # the fact is recorded and its key is never produced again.
    skip: str = ""


def mail_domain() -> str:
    return urlsplit(settings.ASSINA_BASE_URL).hostname or "localhost"


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@{mail_domain()}>"


def recipient_problem(email: str) -> str:
    """Why ``email`` cannot receive mail ("" when it can)."""
    if not email:
        return _("the customer has no email address")
    user, _at, domain = email.rpartition("@")
    # Django's validator, with the (slow) domain check done once per domain of an audience.
    if not user or not validate_email.user_regex.match(user) or not _valid_domain(domain):
        return _("invalid email address: %(email)s") % {"email": email}
    return ""


@lru_cache(maxsize=4096)
def _valid_domain(domain: str) -> bool:
    try:
        validate_email(f"x@{domain}")
    except ValidationError:
        return False
    return True


def test_context(key: str, locale: str) -> dict:
    """Sample values in ``locale`` with this business's branding and links (previews, test sends)."""
    from .catalog import sample_context
    from .rendering import branding

    # No customer behind a preview or a test send: the portal buttons lead to its sign-in page.
    sample = sample_context(key, message_locale(locale))
    portal = {name: links.portal_login_url() for name in ("account_url", "portal_url") if name in sample}
    return {**sample, "business": branding(), **portal, "reply_to": settings.ASSINA_EMAIL_REPLY_TO}


def revoked_customers(customer_ids: list[int]) -> set[int]:
    """Customers who may not receive marketing (unsubscribed, or no opt-in when it is required)."""
    if settings.ASSINA_MARKETING_CONSENT == "opt-in":
        granted = set(MarketingConsent.objects.filter(customer_id__in=customer_ids, status=MarketingConsent.Status.GRANTED)
                      .values_list("customer_id", flat=True))
        return set(customer_ids) - granted
    return set(MarketingConsent.objects.filter(customer_id__in=customer_ids, status=MarketingConsent.Status.REVOKED)
               .values_list("customer_id", flat=True))


def build_row(draft: Draft, compiled: CompiledTemplate, now: datetime, *, suppressed: bool = False) -> Message:
    """Render ``draft`` into an unsaved outbox row."""
    customer = draft.customer
    email = draft.to_email or (customer.email if customer is not None else "")
    locale = message_locale(draft.locale or (customer.locale if customer is not None else "en"))
    kind = draft.kind or kind_of(draft.template)
    marketing = kind == MARKETING
    unsubscribe = links.unsubscribe_url(customer.pk, draft.campaign_id) if marketing and customer is not None else ""
    # A draft may name its own portal button (a flow); otherwise the portal's home.
    context = {**(common(customer, draft.context.get("account_url")) if customer is not None else {}), **draft.context,
               "unsubscribe_url": unsubscribe}
    rendered = compiled.render(context)
    html, text = wrap(rendered, locale, marketing=marketing, unsubscribe_url=unsubscribe)
    problem = recipient_problem(email)
    status, response = Message.Status.QUEUED, ""
    if draft.skip:
        status, response = Message.Status.SKIPPED, draft.skip
    elif problem:
        status, response = Message.Status.INVALID, problem
    elif suppressed:
        status, response = Message.Status.SUPPRESSED, _("no marketing consent (unsubscribed)")
    return Message(
        key=draft.key[:200], customer=customer, to_email=email[:254], template=draft.template, kind=kind, locale=locale,
        subject=rendered.subject[:300], html=html, text=text, campaign_id=draft.campaign_id, event_id=draft.event_id,
        status=status, due_at=draft.due_at, next_attempt_at=draft.due_at if status == Message.Status.QUEUED else None,
        provider_response=response, message_id=new_message_id(), unsubscribe_url=unsubscribe, created_at=now,
    )


def queue(drafts: list[Draft], now: datetime, templates: TemplateCache | None = None) -> int:
    """Render and store ``drafts`` (inside the caller's transaction). Returns rows written."""
    return store(render_new(drafts, now, templates))


def render_new(drafts: list[Draft], now: datetime, templates: TemplateCache | None = None) -> list[Message]:
    """The unsaved outbox rows of the drafts whose key is not in the outbox yet.

    Only reads: the jobs render before they open their write transaction, so on SQLite (one
    writer at a time) the write lock is held for the inserts, not for the rendering."""
    if not drafts:
        return []
    templates = templates or TemplateCache()
    existing = queued_keys({d.key for d in drafts})  # one fixed statement: producers ask on every pass
    fresh, seen = [], set()
    for draft in drafts:
        if draft.key not in existing and draft.key not in seen:
            seen.add(draft.key)
            fresh.append(draft)
    marketing_ids = [d.customer.pk for d in fresh if d.customer is not None and (d.kind or kind_of(d.template)) == MARKETING]
    revoked = revoked_customers(marketing_ids) if marketing_ids else set()
    rows = [build_row(d, templates.get(d.template, d.locale or (d.customer.locale if d.customer else "en")), now,
                      suppressed=d.customer is not None and d.customer.pk in revoked
                      and (d.kind or kind_of(d.template)) == MARKETING) for d in fresh]
    return rows


def store(rows: list[Message]) -> int:
    """Write rendered rows (inside the caller's transaction). Returns rows written."""
    # ignore_conflicts: a concurrent producer that wrote the same key first wins; nothing is doubled.
    Message.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return len(rows)

"""Campaigns: a message composed in the admin, sent to a saved segment now or at a set time.

Queueing renders one message per recipient in their language and writes the rows in bulk
(``assina.db.insert_rows``), in one transaction with the campaign's status, so a campaign is
queued exactly once. Recipients without consent are kept as ``suppressed`` rows (they are
counted, not mailed); every message carries RFC 8058 one-click unsubscribe headers.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Min
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.customers.models import Customer
from assina.db import insert_rows

from . import links
from .catalog import CAMPAIGN_KEY, MARKETING, sample_context
from .context import customer_vars
from .models import Campaign, MarketingConsent, Message
from .outbox import mail_domain, recipient_problem, revoked_customers
from .rendering import CompiledTemplate, Source, branding, layout, message_locale, validate, wrap
from .segments import customers_of


class CampaignError(DomainError):
    pass


def sources(campaign: Campaign) -> dict[str, Source]:
    """The campaign's content per language (Portuguese falls back to English when left empty)."""
    english = Source(campaign.subject_en, campaign.html_en, campaign.text_en)
    portuguese = Source(campaign.subject_pt_br, campaign.html_pt_br, campaign.text_pt_br) \
        if campaign.subject_pt_br and campaign.html_pt_br else english
    return {"en": english, "pt-BR": portuguese}


def validate_campaign(campaign: Campaign) -> None:
    for source in {id(s): s for s in sources(campaign).values()}.values():
        validate(CAMPAIGN_KEY, source)


def preview(campaign: Campaign, customer) -> dict:
    """What ``customer`` would receive (subject, HTML and text), without writing anything."""
    locale = message_locale(customer.locale)
    compiled = CompiledTemplate(sources(campaign)[locale])
    url = links.unsubscribe_url(customer.pk, campaign.pk)
    # The preview's buttons lead to the sign-in page: a page the owner looks at carries no live
    # sign-in link of the customer (each sent message gets its own, ``_queue_rows``).
    rendered = compiled.render(_context(customer.name, customer.email, url))
    html, text = wrap(rendered, locale, marketing=True, unsubscribe_url=url)
    return {"subject": rendered.subject, "html": html, "text": text, "locale": locale, "to": customer.email}


def _context(name: str, email: str, unsubscribe: str) -> dict:
    return {**sample_context(CAMPAIGN_KEY), "business": branding(), "account_url": links.portal_login_url(),
            "customer": customer_vars(name, email), "unsubscribe_url": unsubscribe}


def schedule(campaign_id: int, at: datetime) -> Campaign:
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status == Campaign.Status.QUEUED:
            raise CampaignError(_("campaign %(name)s was already sent") % {"name": campaign.name})
        validate_campaign(campaign)
        campaign.status, campaign.scheduled_at = Campaign.Status.SCHEDULED, at
        campaign.save(update_fields=["status", "scheduled_at"])
    return campaign


FIELDS = ("key", "customer_id", "to_email", "template", "kind", "locale", "subject", "html", "text", "campaign_id",
          "status", "attempts", "due_at", "next_attempt_at", "provider_response", "message_id", "unsubscribe_url",
          "created_at")


def send_now(campaign_id: int, at: datetime) -> Counter:
    """Render and queue the campaign for every customer of its segment (once)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().select_related("segment").get(pk=campaign_id)
        if campaign.status == Campaign.Status.QUEUED:
            raise CampaignError(_("campaign %(name)s was already sent") % {"name": campaign.name})
        validate_campaign(campaign)
        counts = _queue_rows(campaign, at)
        campaign.status, campaign.queued_at, campaign.recipients = Campaign.Status.QUEUED, at, counts["recipients"]
        campaign.save(update_fields=["status", "queued_at", "recipients"])
    return counts


CHUNK = 5000


def send_to(campaign_id: int, customer_ids: list[int], key: str, at: datetime) -> Counter:
    """Render and queue a campaign used as an e-mail template (a playbook's action) for these
    customers only, whatever its status, under the message key ``key`` (``{pk}``: the customer's
    id): the same key again queues nothing new. The campaign's own status does not change."""
    campaign = Campaign.objects.get(pk=campaign_id)
    validate_campaign(campaign)
    recipients = list(Customer.objects.filter(pk__in=customer_ids, erased_at__isnull=True)
                      .values_list("pk", "email", "name", "locale"))
    keys = {key.format(pk=pk) for pk, *_rest in recipients}
    done = set(Message.objects.filter(key__in=keys).values_list("customer_id", flat=True))
    return _queue_rows(campaign, at, [r for r in recipients if r[0] not in done], key)


def _queue_rows(campaign: Campaign, at: datetime, recipients: list | None = None, key: str | None = None) -> Counter:
    """Render and write the rows in chunks: memory stays flat and the garbage collector does not
    rescan an ever-growing heap of rendered messages."""
    compiled = {locale: CompiledTemplate(source) for locale, source in sources(campaign).items()}
    frames = {locale: layout(locale, True) for locale in compiled}
    if recipients is None:
        recipients = list(customers_of(campaign.segment, at).values_list("pk", "email", "name", "locale"))
    base = _context("", "x@example.com", "")
    # Each recipient's own single-use button into their portal, signed only when the campaign has one.
    personal = any("account_url" in part for source in sources(campaign).values()
                   for part in (source.subject, source.html, source.text))
    domain = mail_domain()
    no_consent = _("no marketing consent (unsubscribed)")
    counts: Counter = Counter()
    for offset in range(0, len(recipients), CHUNK):
        chunk = recipients[offset:offset + CHUNK]
        revoked = revoked_customers([pk for pk, *_ in chunk])
        rows = []
        for pk, email, name, customer_locale in chunk:
            locale = message_locale(customer_locale)
            url = links.unsubscribe_url(pk, campaign.pk)
            values = {**base, "customer": customer_vars(name, email), "unsubscribe_url": url}
            if personal:
                values["account_url"] = links.portal_url(pk)
            rendered = compiled[locale].render(values)
            html, text = wrap(rendered, locale, marketing=True, unsubscribe_url=url, frame=frames[locale])
            problem = recipient_problem(email)
            status, response = Message.Status.QUEUED, ""
            if problem:
                status, response = Message.Status.INVALID, problem
            elif pk in revoked:
                status, response = Message.Status.SUPPRESSED, no_consent
            counts[status] += 1
            rows.append((key.format(pk=pk) if key else f"campaign:{campaign.pk}:customer:{pk}", pk, email, "campaign", MARKETING, locale,
                         rendered.subject[:300], html, text, campaign.pk, status, 0, at,
                         at if status == Message.Status.QUEUED else None, response, f"<{secrets.token_hex(16)}@{domain}>", url, at))
        insert_rows(Message, FIELDS, rows)
    counts["recipients"] = len(recipients)
    return counts


def send_scheduled(until: datetime) -> Counter:
    counts: Counter = Counter()
    for pk in Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=until).values_list("pk", flat=True):
        at = Campaign.objects.get(pk=pk).scheduled_at
        try:
            queued = send_now(pk, at)
        except CampaignError:
            continue  # sent meanwhile by another worker
        counts["campaigns_queued"] += 1
        counts["emails_queued"] += queued["recipients"]
    return counts


def next_scheduled(after: datetime) -> datetime | None:
    return Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__gt=after).aggregate(t=Min("scheduled_at"))["t"]


def stats(campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per campaign: messages by status, and unsubscribes it caused."""
    result: dict[int, dict[str, int]] = {pk: {} for pk in campaign_ids}
    for pk, status, count in (Message.objects.filter(campaign_id__in=campaign_ids).values_list("campaign_id", "status")
                              .annotate(n=Count("id")).values_list("campaign_id", "status", "n")):
        result[pk][status] = count
    for pk, count in (MarketingConsent.objects.filter(campaign_id__in=campaign_ids, status=MarketingConsent.Status.REVOKED)
                      .values_list("campaign_id").annotate(n=Count("pk")).values_list("campaign_id", "n")):
        result[pk]["unsubscribed"] = count
    return result

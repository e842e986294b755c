"""Marketing consent: who may receive campaigns, win-back offers and value reports.

Transactional messages (receipts, payment failures, reminders about their subscription) are
not subject to it and carry no unsubscribe link.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from .models import MarketingConsent


def set_consent(customer_id: int, granted: bool, at: datetime, *, source: str, campaign_id: int | None = None) -> MarketingConsent:
    status = MarketingConsent.Status.GRANTED if granted else MarketingConsent.Status.REVOKED
    with transaction.atomic():
        consent, created = MarketingConsent.objects.select_for_update().get_or_create(
            customer_id=customer_id, defaults={"status": status, "source": source[:40], "campaign_id": campaign_id, "changed_at": at})
        if not created and consent.status != status:
            consent.status, consent.source, consent.changed_at = status, source[:40], at
            consent.campaign_id = campaign_id if not granted else None
            consent.save(update_fields=["status", "source", "changed_at", "campaign_id"])
    return consent


def unsubscribe(customer_id: int, at: datetime, *, campaign_id: int | None, source: str) -> MarketingConsent:
    """Idempotent: a second click changes nothing (and keeps the first campaign's attribution)."""
    return set_consent(customer_id, False, at, source=source, campaign_id=campaign_id)

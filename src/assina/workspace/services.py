"""The workspace's own use cases: saving the list's filters as a segment (the same rows
campaigns, survey sends and playbooks use) and removing one. Every other action on a customer
goes through its app's service (subscriptions, payments, portal, engagement)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.notifications.models import Segment
from assina.time import now as clock_now


class SegmentSaveError(DomainError):
    pass


def save_segment(name: str, criteria: Segment) -> Segment:
    """Save the filters of ``criteria`` (an unsaved segment) under ``name``; a segment of that
    name is replaced, so saving twice changes nothing."""
    name = (name or "").strip()
    if not name:
        raise SegmentSaveError(_("a segment needs a name"))
    if len(name) > 120 or "\x00" in name:
        raise SegmentSaveError(_("a segment's name holds at most 120 characters"))
    fields = ("plans", "statuses", "countries", "locales", "min_tenure_days", "max_tenure_days", "min_mrr", "max_mrr",
              "health_bands", "min_churn_risk", "max_churn_risk", "nps_categories")
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(name=name).first() or Segment(name=name, created_at=clock_now())
        for field in fields:
            setattr(segment, field, getattr(criteria, field))
        try:
            segment.full_clean(exclude=["name"] if segment.pk else None)
        except ValidationError as exc:
            raise SegmentSaveError("; ".join(m for msgs in exc.message_dict.values() for m in msgs)) from None
        segment.save()
    return segment


def delete_segment(segment_id: int) -> None:
    """Remove a saved segment; one a campaign was sent to stays (its campaigns name it)."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None:
            return
        if segment.campaigns.exists():
            raise SegmentSaveError(_("segment %(name)s is used by a campaign and cannot be removed") % {"name": repr(segment.name)})
        segment.delete()

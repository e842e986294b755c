"""The workspace's own use cases: saving the list's filters as a segment (the same rows
campaigns, survey sends and playbooks use), renaming one, and deleting one that nothing uses any
more. Every other action on a customer goes through its app's service (subscriptions, payments,
portal, engagement)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.notifications.models import Campaign, Segment
from assina.time import now as clock_now


class SegmentSaveError(DomainError):
    pass


def save_segment(name: str, criteria: Segment) -> Segment:
    """Save the filters of ``criteria`` (an unsaved segment) under ``name``; a segment of that
    name is replaced, so saving twice changes nothing."""
    name = _clean_name(name)
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


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise SegmentSaveError(_("a segment needs a name"))
    if len(name) > 120 or "\x00" in name:
        raise SegmentSaveError(_("a segment's name holds at most 120 characters"))
    return name


def segment_uses(segment: Segment) -> list[str]:
    """What still uses ``segment``, in words: the campaigns sent or to be sent to it, the
    playbooks whose e-mail is one of those campaigns, and the price migrations aimed at it."""
    from assina.playbooks.models import Playbook
    from assina.repricing.models import PriceMigration

    uses = [_("campaign “%(name)s”") % {"name": name}
            for name in Campaign.objects.filter(segment=segment).order_by("name", "pk").values_list("name", flat=True)]
    uses += [_("playbook “%(name)s”") % {"name": name} for name in
             Playbook.objects.filter(email_campaign__segment=segment).order_by("name", "pk").values_list("name", flat=True)]
    uses += [_("the price migration of plan “%(plan)s” from %(date)s") % {"plan": plan, "date": formats.date_format(timezone.localtime(when))}
             for plan, when in PriceMigration.objects.filter(segment=segment).order_by("effective_at", "pk")
             .values_list("plan__name", "effective_at")]
    return uses


def _in_use(segment: Segment, uses: list[str]) -> SegmentSaveError:
    return SegmentSaveError(_("Segment “%(name)s” cannot be deleted while it is still used by: %(uses)s. Point them "
                              "at another segment, or delete them, first.") % {"name": segment.name, "uses": "; ".join(uses)})


def delete_segment(segment_id: int) -> str | None:
    """Delete a saved segment; refused while a campaign, a playbook (through its e-mail's
    campaign) or a price migration uses it. The deleted segment's name (None: there was none)."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None:
            return None
        uses = segment_uses(segment)
        if uses:
            raise _in_use(segment, uses)
        try:
            with transaction.atomic():
                segment.delete()
        except ProtectedError:  # a table that protects segments and is not named above
            raise _in_use(segment, [_("other records")]) from None
    return segment.name


def rename_segment(segment_id: int, name: str) -> Segment:
    """Give a saved segment another name (campaigns, playbooks and price migrations keep it:
    they point at the segment, not at its name)."""
    name = _clean_name(name)
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None:
            raise SegmentSaveError(_("that segment no longer exists"))
        if Segment.objects.filter(name=name).exclude(pk=segment.pk).exists():
            raise SegmentSaveError(_("another segment is already called “%(name)s”") % {"name": name})
        segment.name = name
        segment.save(update_fields=["name"])
    return segment

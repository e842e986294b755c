"""A playbook's outcome: of the customers it ran for, how many were still subscribed 30 and 90
days later, against customers who met the same trigger in the ``LOOKBACK_DAYS`` before the
playbook existed (nothing was done for them: the comparison group). A run or a comparison
customer counts for a horizon once that many days have passed. A playbook with a coupon also
counts its offers: made, accepted in the portal, declined, expired, and the share accepted."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q

from . import signals
from .models import Playbook, PlaybookOffer, PlaybookRun, Trigger

HORIZONS = (30, 90)
LOOKBACK_DAYS = 180


def _history(playbook: Playbook) -> dict[int, datetime]:
    end = playbook.created_at
    start = end - timedelta(days=LOOKBACK_DAYS)
    match playbook.trigger:
        case Trigger.HEALTH_BELOW:
            return signals.history_health_below(playbook.threshold, start, end)
        case Trigger.RISK_ABOVE:
            return signals.history_risk_above(playbook.threshold / 100, start, end)
        case Trigger.INACTIVE:
            return signals.history_inactive(playbook.threshold, start, end)
        case Trigger.DETRACTOR:
            return signals.history_detractors(start, end)
        case Trigger.PAYMENT_FAILED:
            return signals.history_failed_payments(start, end)
        case Trigger.MILESTONE_MISSED:
            days = playbook.threshold if playbook.threshold is not None else playbook.milestone.due_days
            return signals.history_missed_milestone(playbook.milestone.event_name, days, start, end)
    return {}


def _retention(moments: list[tuple[int, datetime]], at: datetime) -> dict:
    spans = signals.subscribed_at({pk: when for pk, when in moments})
    out = {}
    for days in HORIZONS:
        measured = kept = 0
        for pk, when in moments:
            later = when + timedelta(days=days)
            if later > at:
                continue
            measured += 1
            kept += any(start <= later and (end is None or end > later) for start, end in spans.get(pk, []))
        out[f"after_{days}_days"] = {"measured": measured, "still_subscribed": kept,
                                     "rate": round(kept / measured, 4) if measured else None}
    return out


def offer_counts(playbook: Playbook, at: datetime) -> dict:
    """The playbook's portal offers: made, accepted, declined, expired (neither before its end),
    still open, and the share of those made that were accepted."""
    counts = PlaybookOffer.objects.filter(run__playbook=playbook).aggregate(
        made=Count("pk"), accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
        declined=Count("pk", filter=Q(declined_at__isnull=False)),
        expired=Count("pk", filter=Q(accepted_at__isnull=True, declined_at__isnull=True, expires_at__lte=at)))
    counts["open"] = counts["made"] - counts["accepted"] - counts["declined"] - counts["expired"]
    counts["accepted_rate"] = round(counts["accepted"] / counts["made"], 4) if counts["made"] else None
    return counts


def playbook_report(playbook: Playbook, at: datetime) -> dict:
    runs = list(PlaybookRun.objects.filter(playbook=playbook).values_list("customer_id", "fired_at"))
    control = sorted(_history(playbook).items())
    report = {"playbook": playbook.pk, "name": playbook.name, "trigger": playbook.trigger, "active": playbook.active,
              "created_at": playbook.created_at.isoformat(), "runs": len(runs),
              "customers": len({pk for pk, _when in runs}), **_retention(runs, at),
              "comparison": {"customers": len(control), "window_days": LOOKBACK_DAYS, **_retention(control, at)},
              "offers": offer_counts(playbook, at)}
    for days in HORIZONS:
        ours, theirs = report[f"after_{days}_days"]["rate"], report["comparison"][f"after_{days}_days"]["rate"]
        report[f"difference_{days}_days"] = round(ours - theirs, 4) if ours is not None and theirs is not None else None
    return report


def report_all(at: datetime) -> dict:
    return {"playbooks": [playbook_report(p, at) for p in Playbook.objects.select_related("milestone").order_by("pk")]}

"""Applying an accepted offer to the live subscription, through the subscriptions app's own use
cases (each its own transaction with its own events; a pause or a plan change may charge, which
happens after their commit, so they are never called inside the cancel flow's transaction).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings

from assina.core.periods import boundary
from assina.subscriptions import changes, services as subscriptions
from assina.subscriptions.discounts import apply_discount

from .models import OfferKind


def resumes_at(sub, periods: int, at: datetime) -> datetime:
    """When a pause of ``periods`` billing periods starting at ``at`` ends."""
    return boundary(at, sub.interval, sub.interval_count, periods, settings.TIME_ZONE)


def _apply_discount(sub, discount: dict):
    # The owner's discount on a live subscription (from the next invoice), with the flow as its source.
    return apply_discount(sub.pk, percent_off=Decimal(discount["percent_off"]), periods=discount.get("periods"),
                                    source="cancel_flow")


def apply(sub, kind: str, terms: dict, at: datetime) -> dict:
    """Apply the offer; returns what was applied beyond ``terms`` (the pause's end)."""
    if kind == OfferKind.PAUSE:
        until = resumes_at(sub, int(terms["periods"]), at)
        subscriptions.pause(sub.pk, resumes_at=until)
        return {"resumes_at": until.isoformat()}
    if kind == OfferKind.PLAN_CHANGE:
        changes.change_subscription(sub.pk, plan_code=terms["plan"])
        return {}
    if kind == OfferKind.DISCOUNT:
        _apply_discount(sub, terms)
        return {}
    if kind == OfferKind.FEEDBACK and terms.get("discount"):
        _apply_discount(sub, terms["discount"])
        return {}
    raise ValueError(f"nothing to accept in an offer of kind {kind!r}")

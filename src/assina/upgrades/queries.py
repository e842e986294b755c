"""The upgrades app's hand-written SQL, next to its ORM twin (``tests/integration/test_queries.py``
runs both and compares them)."""

from __future__ import annotations

from assina.db import select_row, sql_table

from .models import AnnualOffer, TemporaryUpgrade, TrialPlan

_ANYTHING_TO_OFFER: str | None = None


def anything_to_offer(subscription_id: int, plan_id: int) -> bool:
    """Whether a trial is running on the subscription, an active annual offer exists for its plan,
    or any plan may be tried: one short statement, because building the three ORM queries costs
    more CPU than the portal's home has to spare (docs/performance.md)."""
    global _ANYTHING_TO_OFFER
    if _ANYTHING_TO_OFFER is None:
        _ANYTHING_TO_OFFER = (
            f"SELECT EXISTS (SELECT 1 FROM {sql_table(TemporaryUpgrade)} WHERE subscription_id = %s "
            f"AND confirmed_at IS NULL AND reverted_at IS NULL), "
            f"EXISTS (SELECT 1 FROM {sql_table(AnnualOffer)} WHERE monthly_plan_id = %s AND active = %s), "
            f"EXISTS (SELECT 1 FROM {sql_table(TrialPlan)} WHERE active = %s)")
    return any(select_row(_ANYTHING_TO_OFFER, [subscription_id, plan_id, True, True]))


def anything_to_offer_orm(subscription_id: int, plan_id: int) -> bool:
    return (TemporaryUpgrade.objects.filter(subscription_id=subscription_id, confirmed_at__isnull=True,
                                            reverted_at__isnull=True).exists()
            or AnnualOffer.objects.filter(monthly_plan_id=plan_id, active=True).exists()
            or TrialPlan.objects.filter(active=True).exists())

"""The segment criteria only the apps above notifications can evaluate, registered at start-up
(``WorkspaceConfig.ready``) so that campaigns, survey sends and the workspace's list share them:

- ``health_bands``: the band of the customer's current health score (``success.HealthScore``);
  a customer not scored yet is in no band.
- ``churn_risk``: their churn probability over the next 30 days, in whole percent, between the
  segment's bounds (inclusive); a customer without a probability matches no bound.
- ``nps_categories``: the category of their latest NPS answer with a score (promoter 9–10,
  passive 7–8, detractor 0–6); a customer who never answered is in none.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from assina.feedback.models import Survey, SurveyResponse
from assina.notifications.segments import register_criterion
from assina.success.models import HealthScore

NPS_RANGES = {"promoter": (9, 10), "passive": (7, 8), "detractor": (0, 6)}


def health_bands(segment, query: QuerySet, at: datetime) -> QuerySet:
    return query.filter(pk__in=HealthScore.objects.filter(band__in=list(segment.health_bands)).values("customer_id"))


def churn_risk(segment, query: QuerySet, at: datetime) -> QuerySet:
    scores = HealthScore.objects.filter(churn_probability__isnull=False)
    # Whole percent, as the owner reads it: 25 % takes in 0.245 (shown as 25 %) but not 0.244.
    if segment.min_churn_risk is not None:
        scores = scores.filter(churn_probability__gte=(segment.min_churn_risk - 0.5) / 100)
    if segment.max_churn_risk is not None:
        scores = scores.filter(churn_probability__lt=(segment.max_churn_risk + 0.5) / 100)
    return query.filter(pk__in=scores.values("customer_id"))


def latest_nps():
    """The score of a customer's latest NPS answer (a subquery on ``OuterRef('pk')``)."""
    return Subquery(SurveyResponse.objects.filter(customer=OuterRef("pk"), survey=Survey.NPS, score__isnull=False)
                    .order_by("-submitted_at", "-id").values("score")[:1])


def nps_categories(segment, query: QuerySet, at: datetime) -> QuerySet:
    # One IN over the categories' scores: the latest answer is looked up once per customer (a
    # range per category would repeat the subquery in each bound).
    scores = sorted({score for name in segment.nps_categories for score in range(NPS_RANGES[name][0], NPS_RANGES[name][1] + 1)})
    return query.alias(workspace_latest_nps=latest_nps()).filter(workspace_latest_nps__in=scores)


def register() -> None:
    register_criterion("health_bands", health_bands)
    register_criterion("churn_risk", churn_risk)
    register_criterion("nps_categories", nps_categories)

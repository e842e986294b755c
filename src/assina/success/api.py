"""``GET /api/v1/customers/{id}/health`` and ``GET /api/v1/metrics/health``. Mounted by
``assina.api.main`` at "" (full paths here).

Scores are the last computation's (the daily ``health_scores`` job, or ``assina success score``);
reasons and factors come as codes with figures and in words, in the language of ``Accept-Language``.
Amounts are integers in minor units per currency; probabilities fractions.
"""

from __future__ import annotations

from typing import Optional

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from assina.api.errors import ApiProblem
from assina.api.ids import ident

router = Router(tags=["success"])


class Reason(Schema):
    code: str = Field(description="usage_down, usage_up, low_usage, inactive, no_activity, onboarding, past_due, "
                                  "payment_failed, failed_payments, detractor, passive, promoter, low_csat, "
                                  "no_feedback, tickets, new_customer, active_recently, payments_ok; churn factors "
                                  "also onboarding_unfinished, no_first_value, slow_first_value")
    value: Optional[int] = Field(None, description="the figure: a percentage, a number of days or events, a score, "
                                                   "the onboarding milestones reached")
    month: Optional[int] = Field(None, description="YYYYMM of the survey answer")
    total: Optional[int] = Field(None, description="onboarding_unfinished: the milestones defined")


class Health(Schema):
    customer: str
    score: int = Field(description="0–100")
    band: str = Field(description="healthy, watch or at_risk")
    churn_probability: Optional[float] = Field(None, description="of churning in the next 30 days; null when no "
                                                                 "churn model is in use (the health rules rank)")
    risk_source: Optional[str] = Field(None, description="model or rules")
    mrr: int
    currency: str
    reasons: list[str] = Field(description="in words, worst first")
    reason_codes: list[Reason]
    factors: list[str] = Field(description="the churn model's top factors, in words")
    factor_codes: list[Reason]
    computed_at: str


class HealthDay(Schema):
    day: str
    score: int
    band: str
    churn_probability: Optional[float] = None


class CustomerHealth(Health):
    components: dict[str, Optional[float]] = Field(description="each component 0–1 (null: left out)")
    history: list[HealthDay] = Field(description="the days the score or band changed, oldest first (last 365)")


class ModelWindow(Schema):
    from_: Optional[str] = Field(None, alias="from")
    to: Optional[str] = None
    samples: int
    churned: int


class ModelFigures(Schema):
    roc_auc: Optional[float] = None
    top_decile_lift: Optional[float] = None


class ModelSummary(Schema):
    id: int
    trained_at: str
    beats_baseline: bool
    train: Optional[ModelWindow] = None
    test: Optional[ModelWindow] = None
    model: ModelFigures
    baseline: ModelFigures


class HealthMetrics(Schema):
    as_of: Optional[str] = Field(None, description="when the scores were computed")
    risk_from: str = Field(description="model (the churn model beats the tenure-only baseline) or rules")
    model: Optional[ModelSummary] = Field(None, description="the churn model in use")
    latest_training: Optional[ModelSummary] = None
    risk_threshold: float
    thresholds: dict[str, int]
    bands: dict[str, int] = Field(description="customers per band")
    customers_at_risk: int
    mrr_at_risk: dict[str, int] = Field(description="MRR of the customers at risk, minor units per currency")
    expected_mrr_loss: Optional[dict[str, int]] = Field(None, description="Σ probability × MRR (model in use)")
    at_risk: list[Health] = Field(description="riskiest first")


class MetricsQuery(Schema):
    limit: int = Field(50, ge=1, le=1000)


def _api_row(row: dict) -> dict:
    return {**row, "customer": ident("cus_", row["customer"])}


@router.get("/customers/{customer_id}/health", response=CustomerHealth, summary="A customer's health and churn risk",
            operation_id="get_customer_health",
            description="The score 0–100, its band, components and reasons, the probability of churning in the "
                        "next 30 days with its top factors, and the score's history (docs/success.md).")
def customer_health(request, customer_id: str):
    from assina.customers.api import load_customer

    from .report import customer_health as read

    customer = load_customer(customer_id)
    out = read(customer.pk)
    if out is None:
        raise ApiProblem(404, "not_scored", _("this customer has no health score yet: it is computed daily, or "
                                              "now with assina success score"))
    return _api_row(out)


@router.get("/metrics/health", response=HealthMetrics, by_alias=True, summary="Customers at risk and MRR at risk",
            operation_id="get_health_metrics",
            description="Customers per band, the customers at risk (riskiest first) with the MRR at risk, and which "
                        "ranking is in use: the churn model when it beats the tenure-only baseline, else the health "
                        "rules (docs/success.md).")
def health_metrics(request, query: Query[MetricsQuery]):
    from .report import overview

    out = overview(limit=query.limit)
    out["at_risk"] = [_api_row(r) for r in out["at_risk"]]
    return out

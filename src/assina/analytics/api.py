"""``/api/v1/metrics``: the dashboard's figures as JSON (a django-ninja Router mounted by ``assina.api``).

Every endpoint takes the same query as the dashboard and ``assina metrics``: ``as_of`` (date),
``from``/``to`` (months or dates), ``months``, and the filters ``plan``, ``segment``, ``country``,
``currency``. Amounts are integers in minor units of ``currency``; rates are fractions.
"""

from __future__ import annotations

from typing import Optional

from ninja import Field, Query, Router, Schema

from .service import recent_events, report

router = Router(tags=["metrics"])


class MetricsQuery(Schema):
    as_of: Optional[str] = Field(None, description="figures as of the end of this date (YYYY-MM-DD); default now")
    from_: Optional[str] = Field(None, alias="from", description="first month of the range (YYYY-MM or a date)")
    to: Optional[str] = Field(None, description="last month of the range (YYYY-MM or a date)")
    months: Optional[int] = Field(None, description="length of the range in months (default 12)")
    plan: Optional[str] = None
    segment: Optional[str] = None
    country: Optional[str] = None
    currency: Optional[str] = Field(None, description="only customers paying in this currency, unconverted")


class Meta(Schema):
    as_of: str
    from_: str = Field(..., alias="from")
    to: str
    currency: str = Field(..., description="currency of every amount (minor units)")
    filters: dict[str, str]
    unconverted_currencies: list[str]
    reconciles: bool = Field(..., description="MRR at start + movements == MRR at end")


class Summary(Schema):
    mrr: int
    arr: int
    customers: int
    arpa: Optional[float] = Field(None, description="MRR per paying customer, minor units")
    ltv: Optional[float] = Field(None, description="ARPA / trailing six-month average customer churn rate, minor units")
    ltv_churn_rate: Optional[float]
    mrr_start: int
    customers_start: int
    new: int
    expansion: int
    contraction: int
    churn: int
    reactivation: int
    net: int
    new_customers: int
    expansion_customers: int
    contraction_customers: int
    churn_customers: int
    reactivation_customers: int
    customer_churn_rate: Optional[float]
    gross_mrr_churn_rate: Optional[float]
    net_mrr_churn_rate: Optional[float]
    net_revenue_retention: Optional[float]
    gross_revenue_retention: Optional[float]
    quick_ratio: Optional[float]
    annual_share: Optional[float]
    trials_started: int
    trials_ended: int
    trials_converted: int
    trial_conversion_rate: Optional[float]
    invoices_failed: int
    invoices_recovered: int
    invoices_lost: int
    invoices_in_dunning: int
    amount_failed: int
    amount_recovered: int
    dunning_recovery_rate: Optional[float]
    dunning_amount_recovery_rate: Optional[float]


class Month(Schema):
    month: str
    mrr_start: int
    mrr_end: int
    customers_start: int
    customers_end: int
    new: int
    expansion: int
    contraction: int
    churn: int
    reactivation: int
    net: int
    new_customers: int
    expansion_customers: int
    contraction_customers: int
    churn_customers: int
    reactivation_customers: int
    customer_churn_rate: Optional[float]
    gross_mrr_churn_rate: Optional[float]
    net_mrr_churn_rate: Optional[float]
    net_revenue_retention: Optional[float]
    gross_revenue_retention: Optional[float]
    quick_ratio: Optional[float]
    arpa: Optional[float]
    ltv: Optional[float]


class PlanRow(Schema):
    plan: str
    mrr: int
    subscriptions: int
    customers: int
    share: Optional[float]


class MixRow(Schema):
    interval: str = Field(..., description="monthly, annual or other")
    mrr: int
    subscriptions: int
    share: Optional[float]


class Cancellation(Schema):
    reason: str
    count: int
    mrr: int


class CohortTable(Schema):
    months: list[str] = Field(..., description="cohorts: month of first payment")
    ages: list[int] = Field(..., description="columns: months since the first payment")
    size: list[int]
    customers: list[list[Optional[int]]]
    mrr: list[list[Optional[int]]]
    customers_percent: list[list[Optional[float]]]
    revenue_percent: list[list[Optional[float]]]


class SummaryOut(Meta):
    summary: Summary


class MovementsOut(Meta):
    months: list[Month]


class PlansOut(Meta):
    plans: list[PlanRow]
    mix: list[MixRow]


class CohortsOut(Meta):
    cohorts: CohortTable


class CancellationsOut(Meta):
    cancellations: list[Cancellation]


class ReportOut(Meta):
    summary: Summary
    months: list[Month]
    plans: list[PlanRow]
    mix: list[MixRow]
    cancellations: list[Cancellation]
    cohorts: CohortTable


class EventOut(Schema):
    id: int
    type: str
    occurred_at: str
    customer_id: Optional[int]
    subject_type: str
    subject_id: int


def _report(q: MetricsQuery) -> dict:
    return report(as_of=q.as_of, since=q.from_, until=q.to, months=q.months, plan=q.plan, segment=q.segment,
                  country=q.country, currency=q.currency)


@router.get("", response=ReportOut, by_alias=True, summary="Every metric of the dashboard")
def all_metrics(request, q: Query[MetricsQuery]):
    return _report(q)


@router.get("/summary", response=SummaryOut, by_alias=True, summary="Headline figures: MRR, churn, retention, LTV")
def summary(request, q: Query[MetricsQuery]):
    return _report(q)


@router.get("/movements", response=MovementsOut, by_alias=True, summary="MRR movements and rates, month by month")
def movements(request, q: Query[MetricsQuery]):
    return _report(q)


@router.get("/plans", response=PlansOut, by_alias=True, summary="MRR by plan and by billing interval")
def plans(request, q: Query[MetricsQuery]):
    return _report(q)


@router.get("/cohorts", response=CohortsOut, by_alias=True, summary="Customer and revenue retention cohorts")
def cohorts(request, q: Query[MetricsQuery]):
    return _report(q)


@router.get("/cancellations", response=CancellationsOut, by_alias=True, summary="Cancellations by reason")
def cancellations(request, q: Query[MetricsQuery]):
    return _report(q)


@router.get("/events", response=list[EventOut], summary="The most recent events")
def events(request, limit: int = 20):
    return recent_events(max(1, min(limit, 200)))


# --- lifetime value forecasts (assina.analytics.forecasts) ------------------------------------
class ClvQuery(Schema):
    as_of: Optional[str] = Field(None, description="forecast from the data as of the end of this date (YYYY-MM-DD); default now")
    discount_rate: Optional[float] = Field(None, description="yearly discount rate, 0 to 1 (default 0.10)")
    margin: Optional[float] = Field(None, description="share of revenue that is margin, 0 to 1 (default 1: CLV in revenue)")
    customer: Optional[int] = Field(None, description="only this customer (id) in `customers`")
    limit: int = Field(100, ge=1, le=1000, description="how many customers, the most valuable first")


class StandardErrors(Schema):
    alpha: Optional[float]
    beta: Optional[float]


class RetentionModel(Schema):
    group: str = Field(..., description="monthly or annual subscriptions (a period is a month or a year)")
    period_months: int
    subscriptions: int = Field(..., description="subscriptions that ever paid")
    stopped: int
    paying: int
    discount_rate: float = Field(..., description="the yearly rate as a rate per period")
    alpha: Optional[float] = Field(None, description="sBG α (null when it could not be fitted: see error)")
    beta: Optional[float]
    log_likelihood: Optional[float]
    standard_errors: Optional[StandardErrors]
    error: Optional[str] = Field(None, description="why the model could not be fitted")
    observed: list[float] = Field(..., description="share still paying after 0, 1, 2… periods, as observed (Kaplan-Meier)")
    projected: list[float] = Field(..., description="share still paying after 0, 1, 2… periods, projected")
    new_customer_periods: Optional[float] = Field(None, description="a new subscription's discounted expected number of payments (DEL)")


class PlanValue(Schema):
    plan: str
    group: str
    subscriptions: int
    paying: int
    new_customer_clv: Optional[int] = Field(None, description="a new subscriber's expected discounted value, minor units")
    clv_total: Optional[int] = Field(None, description="the paying subscriptions' expected remaining value, minor units (null: no model)")
    clv_mean: Optional[int]


class CohortForecast(Schema):
    cohort: str = Field(..., description="month of the first payment")
    group: str
    size: int
    paying: int
    fit: Optional[str] = Field(None, description="cohort: fitted to this cohort; pooled: its billing interval's fit")
    alpha: Optional[float]
    beta: Optional[float]
    observed: list[float]
    projected: list[float]
    clv_total: Optional[int] = Field(None, description="expected remaining value of its paying subscriptions (null: no model)")


class CustomerValue(Schema):
    customer_id: int
    clv: int = Field(..., description="expected remaining value of their paying subscriptions, minor units")
    half_life_months: Optional[float] = Field(None, description="months until half of such customers have left")
    expected_months: Optional[float] = Field(None, description="expected remaining months (null: unbounded, α <= 1)")


class ClvOut(Schema):
    as_of: str
    currency: str
    discount_rate: float
    margin: float
    groups: list[RetentionModel]
    plans: list[PlanValue]
    cohorts: list[CohortForecast]
    customers_valued: int
    clv_total: int
    customers: list[CustomerValue]


@router.get("/clv", response=ClvOut, summary="Lifetime value forecasts: retention per billing interval, plan and cohort; CLV per customer")
def clv(request, q: Query[ClvQuery]):
    from .forecasts import clv as forecast

    return forecast(as_of=q.as_of, discount_rate=q.discount_rate, margin=q.margin, customer=q.customer, limit=q.limit)

"""What the triggers read, behind one small interface: each function answers "which customers meet
this now" (``current_*``: customer id -> what met it) or "when did customers first meet it in a
window" (``history_*``: customer id -> that moment, for the outcome's comparison group).

Health and risk come from the success app (``HealthScore``: score 0-100, churn probability 0-1;
``HealthScoreDay``: the daily history); activity and milestones from the engagement app; detractors
from feedback; failed payments from the event log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, Max, Min, OuterRef, Subquery

from assina.customers.models import Customer
from assina.engagement.models import EngagementEvent
from assina.events.models import Event
from assina.feedback.models import SurveyResponse
from assina.subscriptions.models import Subscription
from assina.success.models import HealthScore, HealthScoreDay

LIVE = ("active", "trialing", "past_due")
DETRACTOR_MAX = 6


def live_customers():
    """Customers with a running subscription (imported history included): those a playbook acts for."""
    return Customer.objects.filter(erased_at__isnull=True).filter(
        Exists(Subscription.objects.filter(customer_id=OuterRef("pk"), status__in=LIVE)))


def current_health_below(score: float) -> dict[int, dict]:
    rows = HealthScore.objects.filter(score__lt=score, customer__in=live_customers()).values_list("customer_id", "score")
    return {pk: {"score": s} for pk, s in rows}


def current_risk_above(probability: float) -> dict[int, dict]:
    rows = (HealthScore.objects.filter(churn_probability__gt=probability, customer__in=live_customers())
            .values_list("customer_id", "churn_probability"))
    return {pk: {"probability": round(p, 4)} for pk, p in rows}


def _last_activity():
    return Subquery(EngagementEvent.objects.filter(customer_id=OuterRef("pk")).order_by("-occurred_at")
                    .values("occurred_at")[:1])


def current_inactive(days: float, at: datetime) -> dict[int, dict]:
    """Live customers with no engagement event in the last ``days`` days (and customers for longer)."""
    since = at - timedelta(days=days)
    rows = (live_customers().filter(created_at__lte=since).annotate(last=_last_activity())
            .values_list("pk", "last"))
    return {pk: {"last_activity": last.isoformat() if last else None} for pk, last in rows if last is None or last < since}


def current_detractors(since: datetime, at: datetime) -> dict[int, dict]:
    rows = (SurveyResponse.objects.filter(survey="nps", score__lte=DETRACTOR_MAX, submitted_at__gte=since,
                                          submitted_at__lte=at, customer__in=live_customers())
            .order_by("submitted_at").values_list("customer_id", "score", "submitted_at"))
    return {pk: {"score": score, "submitted_at": when.isoformat()} for pk, score, when in rows}


def current_failed_payments(since: datetime, at: datetime) -> dict[int, dict]:
    rows = (Event.objects.filter(type="payment.failed", occurred_at__gte=since, occurred_at__lte=at,
                                 customer_id__in=live_customers().values("pk"))
            .order_by("occurred_at").values_list("customer_id", "occurred_at"))
    return {pk: {"failed_at": when.isoformat()} for pk, when in rows}


def current_missed_milestone(event_name: str, days: float, since: datetime, at: datetime) -> dict[int, dict]:
    """Live customers who signed up ``days`` days before a moment in (since, at] and have no
    ``event_name`` event yet."""
    reached = EngagementEvent.objects.filter(customer_id=OuterRef("pk"), name=event_name)
    rows = (live_customers().filter(created_at__gt=since - timedelta(days=days), created_at__lte=at - timedelta(days=days))
            .exclude(Exists(reached)).values_list("pk", "created_at"))
    return {pk: {"milestone": event_name, "due_at": (created + timedelta(days=days)).isoformat()} for pk, created in rows}


# --- history: when customers first met a trigger in [start, end) ---------------------------------

def history_health_below(score: float, start: datetime, end: datetime) -> dict[int, datetime]:
    rows = (HealthScoreDay.objects.filter(score__lt=score, day__gte=start.date(), day__lt=end.date())
            .values("customer_id").annotate(first=Min("day")).values_list("customer_id", "first"))
    return {pk: datetime.combine(day, datetime.min.time(), start.tzinfo) for pk, day in rows}


def history_risk_above(probability: float, start: datetime, end: datetime) -> dict[int, datetime]:
    rows = (HealthScoreDay.objects.filter(churn_probability__gt=probability, day__gte=start.date(), day__lt=end.date())
            .values("customer_id").annotate(first=Min("day")).values_list("customer_id", "first"))
    return {pk: datetime.combine(day, datetime.min.time(), start.tzinfo) for pk, day in rows}


def history_detractors(start: datetime, end: datetime) -> dict[int, datetime]:
    rows = (SurveyResponse.objects.filter(survey="nps", score__lte=DETRACTOR_MAX, submitted_at__gte=start,
                                          submitted_at__lt=end)
            .values("customer_id").annotate(first=Min("submitted_at")).values_list("customer_id", "first"))
    return dict(rows)


def history_failed_payments(start: datetime, end: datetime) -> dict[int, datetime]:
    rows = (Event.objects.filter(type="payment.failed", occurred_at__gte=start, occurred_at__lt=end, customer_id__isnull=False)
            .values("customer_id").annotate(first=Min("occurred_at")).values_list("customer_id", "first"))
    return dict(rows)


def history_inactive(days: float, start: datetime, end: datetime) -> dict[int, datetime]:
    """Customers whose last activity before ``end`` was followed by ``days`` days of none, the
    moment falling in [start, end): that last activity + ``days``."""
    rows = (EngagementEvent.objects.filter(occurred_at__lt=end).values("customer_id").annotate(last=Max("occurred_at"))
            .values_list("customer_id", "last"))
    gap = timedelta(days=days)
    return {pk: last + gap for pk, last in rows if start <= last + gap < end}


def history_missed_milestone(event_name: str, days: float, start: datetime, end: datetime) -> dict[int, datetime]:
    gap = timedelta(days=days)
    first = (EngagementEvent.objects.filter(customer_id=OuterRef("pk"), name=event_name).order_by("occurred_at")
             .values("occurred_at")[:1])
    rows = (Customer.objects.filter(created_at__gte=start - gap, created_at__lt=end - gap)
            .annotate(reached=Subquery(first)).values_list("pk", "created_at", "reached"))
    return {pk: created + gap for pk, created, reached in rows if reached is None or reached > created + gap}


def subscribed_at(moments: dict[int, datetime]) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """Each customer's subscriptions as (started_at, ended_at), to tell whether they were subscribed later."""
    spans: dict[int, list] = {pk: [] for pk in moments}
    ids = list(moments)
    for offset in range(0, len(ids), 5000):
        for pk, started, ended in (Subscription.objects.filter(customer_id__in=ids[offset:offset + 5000])
                                   .exclude(status="incomplete").values_list("customer_id", "started_at", "ended_at")):
            spans[pk].append((started, ended))
    return spans

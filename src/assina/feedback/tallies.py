"""The counts behind the NPS report (``ScoreTally``): kept on every response write, checked
and rebuilt from the responses.

A response carries who answered as they were then (plan, country, locale, signup month: see
``snapshot``); its count sits under (UTC month, survey, score, those four). Writing a scored
response adds one under each of its four keys (overall, country, locale, cohort); changing its
score moves those from the old score to the new one — in the
same transaction as the response, so the counts never disagree with the responses they count.
Responses written around the services (a bulk load, a deleted customer's cascade) are brought
back in line by ``rebuild``; ``check`` says whether that is needed.
"""

from __future__ import annotations

from datetime import datetime, timezone

from django.db import IntegrityError, transaction
from django.db.models import Count, F, IntegerField, Sum
from django.db.models.functions import Cast, Substr

from .models import ScoreTally, Survey, SurveyResponse

KEY = ("month", "survey", "score", "plan_code", "country", "locale", "cohort")
SCORED = (Survey.NPS, Survey.CSAT)


def month_number(at: datetime) -> int:
    at = at.astimezone(timezone.utc)
    return at.year * 100 + at.month


def snapshot(customer_id: int) -> dict:
    """The customer as the report breaks them down now: the plan of their newest subscription,
    their country, locale and signup month."""
    from assina.customers.models import Customer
    from assina.subscriptions.models import Subscription

    customer = Customer.objects.filter(pk=customer_id).values("country", "locale", "created_at").first() or {}
    plan = (Subscription.objects.filter(customer_id=customer_id).order_by("-id").values_list("plan__code", flat=True).first()
            or "")
    created = customer.get("created_at")
    return {"plan_code": plan, "country": customer.get("country") or "", "locale": customer.get("locale") or "",
            "cohort": month_number(created) if created else 0}


BREAKDOWNS = ("all", "country", "locale", "cohort")


def _keys(month: int, plan: str, country: str, locale: str, cohort: int, survey: str, score: int) -> list[dict]:
    """The four count rows one response adds to: overall, and by its country, locale, cohort."""
    return [{"month": month, "plan_code": plan, "dimension": dimension, "value": value, "survey": survey, "score": score}
            for dimension, value in zip(BREAKDOWNS, ("", country, locale, str(cohort)))]


def add(response: SurveyResponse, score: int | None, delta: int) -> None:
    """``delta`` responses more (or fewer) under the response's keys with ``score``. Call inside
    the transaction that writes the response."""
    if score is None or response.survey not in SCORED:
        return
    for key in _keys(month_number(response.submitted_at), response.plan_code, response.country, response.locale,
                     response.cohort, response.survey, score):
        if ScoreTally.objects.filter(**key).update(n=F("n") + delta):
            continue
        try:
            with transaction.atomic():
                ScoreTally.objects.create(n=delta, **key)
        except IntegrityError:  # another transaction created the row first
            ScoreTally.objects.filter(**key).update(n=F("n") + delta)


def changed_score(response: SurveyResponse, old: int | None, new: int | None) -> None:
    if old != new:
        add(response, old, -1)
        add(response, new, +1)


def counted_responses(start: datetime | None = None, end: datetime | None = None, plan: str | None = None):
    """The straightforward count: GROUP BY over the responses themselves, rows (*KEY, n)."""
    rows = SurveyResponse.objects.filter(score__isnull=False, survey__in=SCORED)
    if start is not None:
        rows = rows.filter(submitted_at__gte=start)
    if end is not None:
        rows = rows.filter(submitted_at__lt=end)
    if plan:
        rows = rows.filter(plan_code=plan)
    # The month as YYYYMM from the stored time: SQLite keeps ISO text, PostgreSQL a timestamptz.
    month = _month_expression()
    return (rows.annotate(month=month).values(*KEY).annotate(n=Count("id")).order_by().values_list(*KEY, "n"))


def _month_expression():
    from django.db import connection

    if connection.vendor == "sqlite":
        # "2027-01-15 10:00:00" (stored in UTC) -> 2027 * 100 + 1
        return (Cast(Substr("submitted_at", 1, 4), IntegerField()) * 100
                + Cast(Substr("submitted_at", 6, 2), IntegerField()))
    from django.db.models.functions import ExtractMonth, ExtractYear

    return ExtractYear("submitted_at", tzinfo=timezone.utc) * 100 + ExtractMonth("submitted_at", tzinfo=timezone.utc)


def tallied(start_month: int, end_month: int, plan: str | None = None):
    """The counts for the months in [start_month, end_month) (a queryset to group)."""
    rows = ScoreTally.objects.filter(month__gte=start_month, month__lt=end_month, n__gt=0)
    if plan:
        rows = rows.filter(plan_code=plan)
    return rows


def _expected() -> dict:
    counts: dict = {}
    for month, survey, score, plan, country, locale, cohort, n in counted_responses():
        for key in _keys(month, plan, country, locale, cohort, survey, score):
            k = tuple(key.values())
            counts[k] = counts.get(k, 0) + n
    return counts


ROW = ("month", "plan_code", "dimension", "value", "survey", "score")


def rebuild() -> int:
    """The counts again from the responses (all of them). Returns the number of count rows."""
    with transaction.atomic():
        ScoreTally.objects.all().delete()
        rows = [ScoreTally(n=n, **dict(zip(ROW, key))) for key, n in _expected().items()]
        ScoreTally.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def check() -> list[dict]:
    """The keys whose count differs from the responses' (empty: all agree)."""
    truth = _expected()
    kept: dict = {}
    for *key, n in ScoreTally.objects.values_list(*ROW, "n"):
        kept[tuple(key)] = kept.get(tuple(key), 0) + n
    out = []
    for key in sorted(set(truth) | set(kept), key=str):
        if truth.get(key, 0) != kept.get(key, 0):
            out.append({**dict(zip(ROW, key)), "responses": truth.get(key, 0), "counted": kept.get(key, 0)})
    return out


def total() -> int:
    return ScoreTally.objects.filter(dimension="all").aggregate(n=Sum("n"))["n"] or 0

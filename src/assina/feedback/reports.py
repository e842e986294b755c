"""Scores: NPS with its counts, CSAT, response rate, by month and by plan, country, locale and
cohort (the month the customer signed up). Counts are grouped in the database (one GROUP BY per
breakdown), the arithmetic is ``assina.core.nps``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from dateutil.relativedelta import relativedelta
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.nps import CsatSummary, nps_from_counts, response_rate
from assina.time import now

from .models import Survey, SurveyRequest, SurveyResponse


class ReportError(DomainError):
    pass


def _month(text: str | None, *, end: bool) -> datetime | None:
    if not text:
        return None
    value = text.strip()
    try:
        if len(value) == 7:
            day = datetime.strptime(value, "%Y-%m").replace(tzinfo=timezone.utc)
            return day + relativedelta(months=1) if end else day
        day = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(_("'%(text)s' is not a month (2027-01) or a date") % {"text": text}) from None
    day = day if day.tzinfo else day.replace(tzinfo=timezone.utc)
    return day + relativedelta(days=1) if end and len(value) == 10 else day


def _plan_code():
    from assina.subscriptions.models import Subscription

    return Subscription.objects.filter(customer_id=OuterRef("customer_id")).order_by("-id").values("plan__code")[:1]


def _summaries(groups: dict) -> dict:
    out = {}
    for key, counts in groups.items():
        nps = nps_from_counts(counts[Survey.NPS]).as_dict()
        csat_counts = counts[Survey.CSAT]
        csat = CsatSummary(responses=sum(csat_counts), satisfied=csat_counts[4] + csat_counts[5]).as_dict()
        out[key] = {"nps": nps, "csat": csat}
    return out


def _grouped(rows, field: str) -> dict:
    groups: dict = defaultdict(lambda: {Survey.NPS: [0] * 11, Survey.CSAT: [0] * 11})
    for row in rows:
        key = row[field]
        if isinstance(key, datetime):
            key = key.strftime("%Y-%m")
        groups[key if key not in (None, "") else "—"][row["survey"]][row["score"]] += row["n"]
    return dict(sorted(groups.items(), key=lambda kv: str(kv[0])))


def feedback_report(*, since: str | datetime | None = None, until: str | datetime | None = None,
                    plan: str | None = None) -> dict:
    """The scores of the responses submitted in [since, until) (default: the last 12 months)."""
    end = until if isinstance(until, datetime) else _month(until, end=True)
    start = since if isinstance(since, datetime) else _month(since, end=False)
    end = end or now()
    start = start or (end - relativedelta(months=12))
    if start >= end:
        raise ReportError(_("the start of the period must come before its end"))
    scored = SurveyResponse.objects.filter(submitted_at__gte=start, submitted_at__lt=end, score__isnull=False,
                                           survey__in=(Survey.NPS, Survey.CSAT))
    sent = SurveyRequest.objects.filter(sent_at__gte=start, sent_at__lt=end)
    if plan:
        scored = scored.annotate(plan_code=Subquery(_plan_code())).filter(plan_code=plan)
        sent = sent.annotate(plan_code=Subquery(_plan_code())).filter(plan_code=plan)

    def by(field, expression=None):
        query = scored.annotate(**{field: expression}) if expression is not None else scored
        return _grouped(query.values(field, "survey", "score").annotate(n=Count("id")).order_by(), field)

    overall = _grouped([{**r, "all": "all"} for r in scored.values("survey", "score").annotate(n=Count("id")).order_by()],
                       "all")
    requests = sent.count()
    answered = sent.filter(response__isnull=False).count()
    return {
        "from": start, "to": end, "plan": plan or None,
        "overall": _summaries(overall or {"all": {Survey.NPS: [0] * 11, Survey.CSAT: [0] * 11}})["all"],
        "surveys_sent": requests, "surveys_answered": answered, "response_rate": response_rate(answered, requests),
        "by_month": _summaries(by("month", TruncMonth("submitted_at"))),
        "by_plan": _summaries(by("plan_code", Subquery(_plan_code())) if not plan else by("plan_code")),
        "by_country": _summaries(by("customer__country")),
        "by_locale": _summaries(by("customer__locale")),
        "by_cohort": _summaries(by("cohort", TruncMonth("customer__created_at"))),
    }


def latest_comments(limit: int = 20) -> list[SurveyResponse]:
    return list(SurveyResponse.objects.select_related("customer").exclude(comment="").order_by("-submitted_at", "-id")[:limit])

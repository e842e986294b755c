"""Scores: NPS with its counts, CSAT, response rate, by month and by plan, country, locale and
cohort (the month the customer signed up), each as the customer was when they answered. The
counts come from ``ScoreTally`` (see tallies.py), the arithmetic is ``assina.core.nps``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.nps import CsatSummary, nps_from_counts, response_rate
from assina.time import now


from . import tallies
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


def _empty() -> dict:
    return {Survey.NPS: [0] * 11, Survey.CSAT: [0] * 11}


def _summaries(groups: dict) -> dict:
    out = {}
    for key, counts in sorted(groups.items(), key=lambda kv: str(kv[0])):
        csat = counts[Survey.CSAT]
        out[key] = {"nps": nps_from_counts(counts[Survey.NPS]).as_dict(),
                    "csat": CsatSummary(responses=sum(csat), satisfied=csat[4] + csat[5]).as_dict()}
    return out


def _month_start(at: datetime, *, up: bool) -> datetime:
    """The first instant of ``at``'s UTC month (``up``: of the next month unless ``at`` is one)."""
    at = at.astimezone(timezone.utc)
    first = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first + relativedelta(months=1) if up and first != at else first


def _label(month: int) -> str:
    return f"{month // 100:04d}-{month % 100:02d}" if month else ""


DIMENSIONS = ("month", "plan_code", "country", "locale", "cohort")


def counts(start: datetime, end: datetime, plan: str | None = None, *, direct: bool = False) -> dict[str, list[tuple]]:
    """Per dimension (month, plan, country, locale, cohort), rows (key, survey, score, n) of the
    scored responses submitted in [start, end). The whole months are summed by the database from
    the counts table, one small GROUP BY per dimension; the partial months at either end are read
    from the responses (``direct``: everything from the responses, the straightforward way)."""
    out: dict[str, list[tuple]] = {name: [] for name in DIMENSIONS}

    def from_responses(since: datetime, until: datetime) -> None:
        for month, survey, score, plan_code, country, locale, cohort, n in tallies.counted_responses(since, until, plan):
            for name, key in zip(DIMENSIONS, (month, plan_code, country, locale, cohort)):
                out[name].append((key, survey, score, n))

    first, last = _month_start(start, up=True), _month_start(end, up=False)
    if direct or first >= last:
        from_responses(start, end)
        return out
    rows = tallies.tallied(tallies.month_number(first), tallies.month_number(last), plan)
    # Two small GROUP BYs: the overall rows by month and by plan, the others by breakdown and value.
    for month, plan_code, survey, score, n in (rows.filter(dimension="all").values("month", "plan_code", "survey", "score")
                                               .annotate(total=Sum("n")).order_by()
                                               .values_list("month", "plan_code", "survey", "score", "total")):
        out["month"].append((month, survey, score, n))
        out["plan_code"].append((plan_code, survey, score, n))
    for dimension, value, survey, score, n in (rows.exclude(dimension="all").values("dimension", "value", "survey", "score")
                                               .annotate(total=Sum("n")).order_by()
                                               .values_list("dimension", "value", "survey", "score", "total")):
        out[dimension].append((int(value) if dimension == "cohort" else value, survey, score, n))
    if start < first:
        from_responses(start, first)
    if last < end:
        from_responses(last, end)
    return out


def feedback_report(*, since: str | datetime | None = None, until: str | datetime | None = None,
                    plan: str | None = None, direct: bool = False) -> dict:
    """The scores of the responses submitted in [since, until) (default: this month and the 11
    before it).

    Read from ``ScoreTally`` (counts per month, survey, score and the customer's plan, country,
    locale and signup month when they answered), a few thousand rows however many responses;
    ``direct`` computes the same from the responses (the tests compare the two)."""
    end = until if isinstance(until, datetime) else _month(until, end=True)
    start = since if isinstance(since, datetime) else _month(since, end=False)
    end = end or _month_start(now(), up=False) + relativedelta(months=1)
    start = start or (end - relativedelta(months=12))
    if start >= end:
        raise ReportError(_("the start of the period must come before its end"))
    sent = SurveyRequest.objects.filter(sent_at__gte=start, sent_at__lt=end)
    if plan:
        from assina.subscriptions.models import Subscription

        sent = sent.filter(customer_id__in=Subscription.objects.filter(plan__code=plan).values("customer_id"))
    by_month: dict = {}
    overall = {"all": _empty()}
    breakdowns: dict[str, dict] = {"plan": {}, "country": {}, "locale": {}, "cohort": {}}
    grouped = counts(start, end, plan, direct=direct)
    for month, survey, score, n in grouped["month"]:
        by_month.setdefault(_label(month), _empty())[survey][score] += n
        overall["all"][survey][score] += n
    for name, dimension in (("plan", "plan_code"), ("country", "country"), ("locale", "locale"), ("cohort", "cohort")):
        for key, survey, score, n in grouped[dimension]:
            key = _label(key) if dimension == "cohort" else key
            breakdowns[name].setdefault(key or "—", _empty())[survey][score] += n
    by_segment = _by_segment(start, end, plan)
    requests = sent.count()
    answered = sent.filter(response__isnull=False).count()
    return {
        "from": start, "to": end, "plan": plan or None,
        "overall": _summaries(overall)["all"],
        "surveys_sent": requests, "surveys_answered": answered, "response_rate": response_rate(answered, requests),
        "by_month": _summaries(by_month),
        "by_plan": _summaries(breakdowns["plan"]),
        "by_country": _summaries(breakdowns["country"]),
        "by_locale": _summaries(breakdowns["locale"]),
        "by_cohort": _summaries(breakdowns["cohort"]),
        "by_segment": _summaries(by_segment),
    }


def _by_segment(start: datetime, end: datetime, plan: str | None) -> dict:
    """Each saved segment's scores: the responses of the customers in it now (a customer may be
    in several segments). Read from the responses, per customer (no counts table can know who
    a segment holds today), only when segments exist."""
    from assina.notifications.models import Segment
    from assina.notifications.segments import customers_of

    segments = list(Segment.objects.order_by("name"))
    if not segments:
        return {}
    scored = SurveyResponse.objects.filter(submitted_at__gte=start, submitted_at__lt=end, score__isnull=False,
                                           survey__in=(Survey.NPS, Survey.CSAT))
    if plan:
        scored = scored.filter(plan_code=plan)
    per_customer = list(scored.values("customer_id", "survey", "score").annotate(n=Count("id")).order_by()
                        .values_list("customer_id", "survey", "score", "n"))
    out: dict = {}
    for segment in segments:
        members = set(customers_of(segment, end).values_list("pk", flat=True))
        counts_ = _empty()
        for customer_id, survey, score, n in per_customer:
            if customer_id in members:
                counts_[survey][score] += n
        out[segment.name] = counts_
    return out


def latest_comments(limit: int = 20) -> list[SurveyResponse]:
    return list(SurveyResponse.objects.select_related("customer").exclude(comment="").order_by("-submitted_at", "-id")[:limit])

"""Scores: NPS with its counts, CSAT, response rate, by month and by plan, country, locale and
cohort (the month the customer signed up). Counts are grouped in the database (one GROUP BY per
breakdown), the arithmetic is ``assina.core.nps``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dateutil.relativedelta import relativedelta
from django.db.models import CharField, Count, Func
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.nps import CsatSummary, nps_from_counts, response_rate
from assina.time import now

from assina.customers.models import Customer

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


class MonthText(Func):
    """The UTC month of a time as "YYYY-MM", computed by the database without a Python callback
    (Django's TruncMonth on SQLite calls back into Python for every row)."""

    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 7)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM')", **extra)


def _empty() -> dict:
    return {Survey.NPS: [0] * 11, Survey.CSAT: [0] * 11}


def _summaries(groups: dict) -> dict:
    out = {}
    for key, counts in sorted(groups.items(), key=lambda kv: str(kv[0])):
        csat = counts[Survey.CSAT]
        out[key] = {"nps": nps_from_counts(counts[Survey.NPS]).as_dict(),
                    "csat": CsatSummary(responses=sum(csat), satisfied=csat[4] + csat[5]).as_dict()}
    return out


def _plans(customer_ids) -> dict[int, str]:
    """Each customer's plan: that of their newest subscription."""
    from assina.subscriptions.models import Subscription

    plans: dict[int, str] = {}
    for customer_id, code in (Subscription.objects.filter(customer_id__in=customer_ids).order_by("id")
                              .values_list("customer_id", "plan__code")):
        plans[customer_id] = code
    return plans


def feedback_report(*, since: str | datetime | None = None, until: str | datetime | None = None,
                    plan: str | None = None) -> dict:
    """The scores of the responses submitted in [since, until) (default: the last 12 months).

    Two GROUP BYs in the database: by (month, survey, score) and by (customer, survey, score);
    the customer's plan, country, locale and cohort are joined in Python from one read of the
    customers who answered (far fewer rows than responses)."""
    end = until if isinstance(until, datetime) else _month(until, end=True)
    start = since if isinstance(since, datetime) else _month(since, end=False)
    end = end or now() + timedelta(seconds=1)  # up to now, included
    start = start or (end - relativedelta(months=12))
    if start >= end:
        raise ReportError(_("the start of the period must come before its end"))
    scored = SurveyResponse.objects.filter(submitted_at__gte=start, submitted_at__lt=end, score__isnull=False,
                                           survey__in=(Survey.NPS, Survey.CSAT))
    sent = SurveyRequest.objects.filter(sent_at__gte=start, sent_at__lt=end)
    if plan:
        from assina.subscriptions.models import Subscription

        customers_of_plan = Subscription.objects.filter(plan__code=plan).values("customer_id")
        scored = scored.filter(customer_id__in=customers_of_plan)
        sent = sent.filter(customer_id__in=customers_of_plan)
    by_month: dict = {}
    for month, survey, score, n in (scored.annotate(month=MonthText("submitted_at")).values("month", "survey", "score")
                                    .annotate(n=Count("id")).order_by().values_list("month", "survey", "score", "n")):
        by_month.setdefault(month, _empty())[survey][score] += n
    per_customer = list(scored.values("customer_id", "survey", "score").annotate(n=Count("id")).order_by()
                        .values_list("customer_id", "survey", "score", "n"))
    customer_ids = {row[0] for row in per_customer}
    people = {pk: (country, locale, created.strftime("%Y-%m"))
              for pk, country, locale, created in Customer.objects.filter(pk__in=customer_ids)
              .values_list("pk", "country", "locale", "created_at")} if customer_ids else {}
    plans = _plans(customer_ids) if customer_ids else {}
    overall = {"all": _empty()}
    breakdowns: dict[str, dict] = {"plan": {}, "country": {}, "locale": {}, "cohort": {}}
    for customer_id, survey, score, n in per_customer:
        overall["all"][survey][score] += n
        country, locale, cohort = people.get(customer_id, ("", "", ""))
        for name, key in (("plan", plans.get(customer_id, "")), ("country", country), ("locale", locale),
                          ("cohort", cohort)):
            breakdowns[name].setdefault(key or "—", _empty())[survey][score] += n
    by_segment = _by_segment(per_customer, end)
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


def _by_segment(per_customer: list, at: datetime) -> dict:
    """Each saved segment's scores: the responses of the customers in it now (a customer may be
    in several segments)."""
    from assina.notifications.models import Segment
    from assina.notifications.segments import customers_of

    out: dict = {}
    for segment in Segment.objects.order_by("name"):
        members = set(customers_of(segment, at).values_list("pk", flat=True))
        counts = _empty()
        for customer_id, survey, score, n in per_customer:
            if customer_id in members:
                counts[survey][score] += n
        out[segment.name] = counts
    return out


def latest_comments(limit: int = 20) -> list[SurveyResponse]:
    return list(SurveyResponse.objects.select_related("customer").exclude(comment="").order_by("-submitted_at", "-id")[:limit])

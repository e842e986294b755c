"""The NPS report's breakdown by health band (issue 17): NPS and CSAT of the responses submitted in
a period, grouped by the band of each customer's health score as of the last scoring (``healthy``,
``watch``, ``at_risk``; ``unscored`` for customers without a score).

Feedback sits below this app, so the breakdown is computed here and merged into the report by
feedback's entry points (``assina feedback report``, ``GET /api/v1/metrics/feedback``,
``/dashboard/feedback/``).

Joining a million responses to the scores takes seconds; the report must take under one. So the
daily scoring rebuilds ``BandTally`` (answers per month, band, plan, survey and score; one GROUP BY)
and the breakdown sums it for the period's whole months, reading only the partial months at its
edges from the responses. Answers given or changed since the last scoring count from the next one
(``rebuilt_at`` says when); before the first rebuild the breakdown is read from the responses.
"""

from __future__ import annotations

from datetime import datetime, timezone

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import ExtractMonth, ExtractYear
from django.utils.translation import gettext as _

from assina.core.nps import CsatSummary, nps_from_counts

from .models import Band, BandTally

UNSCORED = "unscored"
ORDER = (*Band.values, UNSCORED)
BAND = "customer__health__band"


def _answers(since: datetime | None = None, until: datetime | None = None, plan: str | None = None):
    from assina.feedback.models import SurveyResponse

    scored = SurveyResponse.objects.filter(score__isnull=False, survey__in=("nps", "csat"))
    if since is not None:
        scored = scored.filter(submitted_at__gte=since)
    if until is not None:
        scored = scored.filter(submitted_at__lt=until)
    return scored.filter(plan_code=plan) if plan else scored


def rebuild_tally() -> int:
    """Count every answer again by month, current band, plan, survey and score. Returns the rows."""
    rows = (_answers().annotate(y=ExtractYear("submitted_at", tzinfo=timezone.utc),
                                m=ExtractMonth("submitted_at", tzinfo=timezone.utc))
            .values("y", "m", BAND, "plan_code", "survey", "score").annotate(n=Count("id")).order_by()
            .values_list("y", "m", BAND, "plan_code", "survey", "score", "n"))
    tallies = [BandTally(month=y * 100 + m, band=band or UNSCORED, plan_code=plan, survey=survey, score=score,
                         responses=n) for y, m, band, plan, survey, score, n in rows]
    with transaction.atomic():
        BandTally.objects.all().delete()
        BandTally.objects.bulk_create(tallies, batch_size=5000)
    return len(tallies)


def _month_floor(at: datetime) -> datetime:
    at = at.astimezone(timezone.utc)
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _add(counts: dict, band: str | None, survey: str, score: int, n: int) -> None:
    counts.setdefault(band or UNSCORED, {"nps": [0] * 11, "csat": [0] * 11})[survey][score] += n


def _direct(counts: dict, since: datetime, until: datetime, plan: str | None) -> None:
    for band, survey, score, n in (_answers(since, until, plan).values(BAND, "survey", "score")
                                   .annotate(n=Count("id")).order_by().values_list(BAND, "survey", "score", "n")):
        _add(counts, band, survey, score, n)


def by_health_band(since: datetime, until: datetime, plan: str | None = None, *, direct: bool = False) -> dict[str, dict]:
    """{band: {"nps": {...}, "csat": {...}}} for the responses submitted in [since, until), in the
    order healthy, watch, at_risk, unscored (bands without responses left out). ``direct``: read
    everything from the responses (the tests compare the two)."""
    counts: dict = {}
    first = _month_floor(since)
    first = first if first == since else first + relativedelta(months=1)
    last = _month_floor(until)
    if direct or first >= last or not BandTally.objects.exists():
        _direct(counts, since, until, plan)
    else:
        if since < first:
            _direct(counts, since, first, plan)
        tallies = BandTally.objects.filter(month__gte=first.year * 100 + first.month,
                                           month__lt=last.year * 100 + last.month)
        if plan:
            tallies = tallies.filter(plan_code=plan)
        for band, survey, score, n in (tallies.values("band", "survey", "score").annotate(n=Sum("responses"))
                                       .order_by().values_list("band", "survey", "score", "n")):
            _add(counts, band, survey, score, n)
        if last < until:
            _direct(counts, last, until, plan)
    out = {}
    for band in ORDER:
        if band in counts:
            nps, csat = counts[band]["nps"], counts[band]["csat"]
            out[band] = {"nps": nps_from_counts(nps).as_dict(),
                         "csat": CsatSummary(responses=sum(csat), satisfied=csat[4] + csat[5]).as_dict()}
    return out


def band_section(breakdown: dict[str, dict]) -> tuple[str, dict[str, dict]]:
    """The feedback page's table: its title and rows keyed by the bands' names in the reader's language."""
    names = {**dict(Band.choices), UNSCORED: _("Not scored yet")}
    return _("By health band"), {str(names[band]): value for band, value in breakdown.items()}

"""The NPS report's breakdown by health band (issue 17): NPS and CSAT of the responses submitted in
a period, grouped by the band of each customer's current health score (``healthy``, ``watch``,
``at_risk``; ``unscored`` for customers without a score yet).

Feedback sits below this app, so the breakdown is computed here and merged into the report by
feedback's entry points (``assina feedback report``, ``GET /api/v1/metrics/feedback``,
``/dashboard/feedback/``). One GROUP BY over the responses joined to the scores.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count
from django.utils.translation import gettext as _

from assina.core.nps import CsatSummary, nps_from_counts

from .models import Band

UNSCORED = "unscored"
ORDER = (*Band.values, UNSCORED)


def by_health_band(since: datetime, until: datetime, plan: str | None = None) -> dict[str, dict]:
    """{band: {"nps": {...}, "csat": {...}}} for the responses submitted in [since, until), in the
    order healthy, watch, at_risk, unscored (bands without responses left out)."""
    from assina.feedback.models import SurveyResponse

    scored = SurveyResponse.objects.filter(submitted_at__gte=since, submitted_at__lt=until, score__isnull=False,
                                           survey__in=("nps", "csat"))
    if plan:
        scored = scored.filter(plan_code=plan)
    counts: dict[str, dict[str, list[int]]] = {}
    for band, survey, score, n in (scored.values("customer__health__band", "survey", "score")
                                   .annotate(n=Count("id")).order_by()
                                   .values_list("customer__health__band", "survey", "score", "n")):
        counts.setdefault(band or UNSCORED, {"nps": [0] * 11, "csat": [0] * 11})[survey][score] += n
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

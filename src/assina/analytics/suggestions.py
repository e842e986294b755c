"""The suggestions' figures (issue 19) for a range of days, as the API and the dashboard's panel
give them: suggestions shown and accepted, the acceptance rate and the MRR the accepted ones
added, overall and by kind (``upgrades.suggestions.report``).

The range is read as the retention figures read theirs (``from``/``to``: dates or months of the
business time zone, both ends included; default the last 90 days), so the two panels beside the
dashboard answer the same question for the same days.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext_lazy

from assina.retention.report import date_range
from assina.time import now as clock_now
from assina.upgrades.suggestions import report

KIND_LABELS = {
    "usage_upsell": gettext_lazy("Upgrade that fits their usage"),
    "limit_upsell": gettext_lazy("Upgrade near a plan's limit"),
    "cross_sell": gettext_lazy("Add-on customers like them have"),
    "bundle": gettext_lazy("Bundle that costs less"),
    "popular": gettext_lazy("Popular add-on"),
}


def kind_label(kind: str | None) -> str:
    label = KIND_LABELS.get(kind or "")
    return str(label) if label is not None else (kind or "")


def suggestions_report(since: str | None = None, until: str | None = None) -> dict:
    """The figures for the suggestions shown from ``since`` to ``until`` (a refused range raises
    ``retention.report.ReportError``, worded for the reader)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    as_of = clock_now()
    first, last = date_range(since, until, as_of.astimezone(zone).date())
    start = datetime.combine(first, time.min, zone)
    # The last day is included: up to the instant before the next day starts.
    end = datetime.combine(last + timedelta(days=1), time.min, zone) - timedelta(microseconds=1)
    figures = report(start, end)
    return {**figures, "from": first.isoformat(), "to": last.isoformat(), "as_of": as_of.isoformat(),
            "added_mrr": {c: a for c, a in figures["added_mrr"].items() if c},
            "by_kind": [{**row, "added_mrr": {c: a for c, a in row["added_mrr"].items() if c}}
                        for row in figures["by_kind"]]}

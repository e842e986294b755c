"""The feedback export for other teams (issue 17): every survey answer and comment with its
customer, score, NPS category, source, themes and tags, as CSV, streamed in id order so a
million responses never sit in memory. No cell can be read as a formula by a spreadsheet
(``core.spreadsheet.safe_row``): comments are the customers' own words."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from assina.core.nps import category
from assina.core.spreadsheet import safe_row
from assina.feedback.models import Survey, SurveyResponse, ThemeAssignment

HEADER = ["response_id", "submitted_at", "customer_id", "customer_email", "customer_name", "survey", "score",
          "nps_category", "source", "language", "plan", "country", "themes", "tags", "comment"]
BATCH = 2000


class _Line:
    def write(self, value: str) -> str:
        return value


def feedback_rows(customer_id: int | None = None) -> Iterator[str]:
    """The CSV's lines: its header, then each response (of ``customer_id``, or everyone's)."""
    writer = csv.writer(_Line())
    yield writer.writerow(HEADER)
    last = 0
    while True:
        query = SurveyResponse.objects.filter(pk__gt=last)
        if customer_id is not None:
            query = query.filter(customer_id=customer_id)
        batch = list(query.order_by("pk").values_list(
            "pk", "submitted_at", "customer_id", "customer__email", "customer__name", "survey", "score", "source",
            "language", "plan_code", "country", "tags", "comment")[:BATCH])
        if not batch:
            return
        themes: dict[int, list[str]] = {}
        for response_id, slug in (ThemeAssignment.objects.filter(response_id__in=[r[0] for r in batch])
                                  .values_list("response_id", "theme__slug")):
            themes.setdefault(response_id, []).append(slug)
        for (pk, at, cus, email, name, survey, score, source, language, plan, country, tags, comment) in batch:
            group = category(score) if survey == Survey.NPS and score is not None else ""
            yield writer.writerow(safe_row([
                pk, at.isoformat(), f"cus_{cus}", email, name, survey, "" if score is None else score, group, source,
                language, plan, country, " ".join(sorted(themes.get(pk, []))), " ".join(map(str, tags or [])), comment]))
        last = batch[-1][0]

"""The feedback app's hand-written SQL, next to its ORM twins (``tests/integration/test_queries.py``
runs both and compares them)."""

from __future__ import annotations

import functools
from datetime import datetime

from django.db import connection

from assina.db import select_row, sql_columns, sql_table, sql_time

from .models import SurveyRequest, SurveyResponse


@functools.cache
def _due_survey_sql(vendor: str) -> str:
    r, answer = sql_columns(SurveyRequest), sql_columns(SurveyResponse)
    return (f"SELECT r.{r['token']}, r.{r['survey']} FROM {sql_table(SurveyRequest)} r "
            f"WHERE r.{r['customer']} = %s AND r.{r['expires_at']} > %s "
            f"AND NOT EXISTS (SELECT 1 FROM {sql_table(SurveyResponse)} a WHERE a.{answer['request']} = r.{r['id']}) "
            f"ORDER BY r.{r['sent_at']} DESC, r.{r['id']} DESC LIMIT 1")


def due_survey(customer_id: int, at: datetime) -> tuple[str, str] | None:
    """The token and kind of the customer's open, unanswered survey, newest first
    (``sending.due_survey_for``): asked on every portal home, so one fixed statement."""
    return select_row(_due_survey_sql(connection.vendor), [customer_id, sql_time(at)])


def due_survey_orm(customer_id: int, at: datetime) -> tuple[str, str] | None:
    return (SurveyRequest.objects.filter(customer_id=customer_id, expires_at__gt=at, response__isnull=True)
            .order_by("-sent_at", "-id").values_list("token", "survey").first())

"""The cancel flow's reason and comment are feedback too (issue 17): each completed cancel
session of ``assina.retention`` becomes a note (``source=cancellation``) with the reason as a
tag and the customer's own words as the comment, so its pain points join the themes.

The note's key is the session (``cancel:<id>``): the job may run any number of times.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import translation

from .models import SurveyResponse
from .services import record_response


def _sessions(until: datetime):
    from assina.retention.models import CancelSession

    done = SurveyResponse.objects.filter(source=SurveyResponse.Source.CANCELLATION).values_list("idempotency_key", flat=True)
    return (CancelSession.objects.select_related("customer")
            .filter(completed_at__isnull=False, completed_at__lte=until, customer__erased_at__isnull=True)
            .exclude(reason="", reason_text="", feedback_text="")
            .order_by("id"), set(done))


def has_work(until: datetime) -> bool:
    sessions, done = _sessions(until)
    return any(f"cancel:{pk}" not in done for pk in sessions.values_list("pk", flat=True))


def import_cancellations(until: datetime) -> dict:
    sessions, done = _sessions(until)
    count = 0
    for session in sessions:
        key = f"cancel:{session.pk}"
        if key in done:
            continue
        with translation.override("en"):
            reason = str(session.get_reason_display()) if session.reason else ""
        words = "\n".join(t.strip() for t in (session.reason_text, session.feedback_text) if t and t.strip())
        result = record_response(customer=session.customer, survey="note", score=None, comment=words or reason,
                                 submitted_at=session.completed_at, source=SurveyResponse.Source.CANCELLATION,
                                 tags=[f"reason:{session.reason}"] if session.reason else [], at=session.completed_at,
                                 key=key)
        count += result.created
    return {"cancellation_feedback": count} if count else {}

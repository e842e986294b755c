"""The feedback jobs: send the surveys that fell due, bring in cancellation feedback, and find
the themes of new comments; the owner's weekly digest of rising themes (digest.py). Registered from ``FeedbackConfig.ready()``."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from . import cancellations, sending


def run(until: datetime, *, at_due_time: bool) -> dict:
    counts: Counter = Counter()
    counts.update(sending.send_due(until))
    if sending.survey_settings().on_cancellation:
        counts.update(cancellations.import_cancellations(until))
    from .themes import has_unthemed, refresh

    if has_unthemed():
        counts.update(refresh(until))
    return {k: v for k, v in counts.items() if v}


def has_work(until: datetime) -> bool:
    """Cheap checks, one statement each: the clock asks at every stop."""
    from .models import SurveyRequest, Trigger
    from .themes import has_unthemed

    conf = sending.survey_settings()
    if conf.after_signup:
        signed_up = {c.pk for c, _key in sending.due_after_signup(until, conf)[:1000]}
        if signed_up - set(SurveyRequest.objects.filter(customer_id__in=signed_up, trigger=Trigger.SIGNUP)
                           .values_list("customer_id", flat=True)):
            return True
    if conf.before_renewal and sending.due_before_renewal(until, conf):
        keys = [k for _c, k in sending.due_before_renewal(until, conf)]
        if len(set(keys) - set(SurveyRequest.objects.filter(trigger_key__in=keys).values_list("trigger_key", flat=True))):
            return True
    return (conf.on_cancellation and cancellations.has_work(until)) or has_unthemed()


def register() -> None:
    from assina.jobs import register_job

    # Before the mail jobs (order 900+), so a survey queued here goes out in the same pass.
    register_job("feedback_surveys", run, has_work=has_work, order=850)
    from . import digest

    # After the themes are found (above), before the mail jobs: the owner's weekly digest.
    register_job("feedback_digest", digest.run, next_due=digest.next_due, has_work=digest.has_work, order=860)

"""Sending surveys: who is due (the owner's triggers), the throttle, and the e-mail.

A survey is a ``SurveyRequest`` row plus an outbox message written in the same transaction;
``trigger_key`` (unique) names the fact that fired it, so a trigger fires once however often
the job runs, and the message's key (``survey:<request id>``) is told once.

Surveys are service messages: no marketing consent is needed, but every survey carries an
opt-out link, and a customer who opted out gets none.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from assina.customers.models import Customer
from assina.events.services import record
from assina.notifications.outbox import Draft, queue

from .models import Survey, SurveyOptOut, SurveyRequest, SurveySettings, Trigger

SIGNUP_WINDOW_DAYS = 14  # a customer whose day N passed long ago (before the trigger was on) is not surveyed late


def survey_settings() -> SurveySettings:
    found, _created = SurveySettings.objects.get_or_create(pk=1)
    return found


def base_url() -> str:
    return settings.ASSINA_BASE_URL.rstrip("/")


def score_url(token: str, score: int) -> str:
    return f"{base_url()}/s/{token}/{score}/"


def opt_out_url(token: str) -> str:
    return f"{base_url()}/s/{token}/opt-out/"


def scale(survey: str) -> range:
    return range(0, 11) if survey == Survey.NPS else range(1, 6)


def email_context(request: SurveyRequest) -> dict:
    return {"scores": [{"score": n, "url": score_url(request.token, n)} for n in scale(request.survey)],
            "opt_out_url": opt_out_url(request.token), "survey_url": f"{base_url()}/s/{request.token}/"}


def blocked(customer_ids: list[int], survey: str, at: datetime, conf: SurveySettings) -> set[int]:
    """Customers who may not get this survey now: opted out, erased, or (NPS) surveyed within
    the throttle."""
    out = set(SurveyOptOut.objects.filter(customer_id__in=customer_ids).values_list("customer_id", flat=True))
    out |= set(Customer.objects.filter(pk__in=customer_ids, erased_at__isnull=False).values_list("pk", flat=True))
    if survey == Survey.NPS:
        since = at - timedelta(days=conf.nps_throttle_days)
        out |= set(SurveyRequest.objects.filter(customer_id__in=customer_ids, survey=Survey.NPS, sent_at__gt=since)
                   .values_list("customer_id", flat=True))
    return out


def send(wanted: list[tuple[Customer, str]], survey: str, trigger: str, at: datetime,
         conf: SurveySettings | None = None) -> int:
    """Send ``survey`` to each (customer, trigger key) not blocked and not sent for that key.
    Returns how many were sent."""
    conf = conf or survey_settings()
    if not wanted:
        return 0
    with transaction.atomic():
        ids = [c.pk for c, _key in wanted]
        skip = blocked(ids, survey, at, conf)
        done = set(SurveyRequest.objects.filter(trigger_key__in=[k for _c, k in wanted]).values_list("trigger_key", flat=True))
        requests, seen = [], set()
        for customer, key in wanted:
            if customer.pk in skip or key in done or customer.pk in seen:
                continue
            seen.add(customer.pk)  # one survey per customer per pass (the throttle counts this one)
            requests.append(SurveyRequest(customer=customer, survey=survey, trigger=trigger, trigger_key=key[:200],
                                          token=secrets.token_urlsafe(24), sent_at=at,
                                          expires_at=at + timedelta(days=conf.link_days)))
        SurveyRequest.objects.bulk_create(requests)
        saved = {r.trigger_key: r for r in SurveyRequest.objects.filter(trigger_key__in=[r.trigger_key for r in requests])}
        drafts = []
        for request in requests:
            request = saved[request.trigger_key]
            customer = next(c for c, _k in wanted if c.pk == request.customer_id)
            drafts.append(Draft(key=f"survey:{request.pk}", template=f"survey_{survey}", customer=customer, due_at=at,
                                context=email_context(request)))
            record("survey.sent", request, at, {"survey": survey, "trigger": trigger})
        queue(drafts, at)
    return len(requests)


def due_after_signup(until: datetime, conf: SurveySettings) -> list[tuple[Customer, str]]:
    latest = until - timedelta(days=conf.after_signup_days)
    customers = Customer.objects.filter(created_at__lte=latest, created_at__gt=latest - timedelta(days=SIGNUP_WINDOW_DAYS),
                                        erased_at__isnull=True).exclude(survey_opt_out__isnull=False)
    return [(c, f"signup:{c.pk}") for c in customers]


def due_before_renewal(until: datetime, conf: SurveySettings) -> list[tuple[Customer, str]]:
    from assina.subscriptions.models import Subscription

    subs = (Subscription.objects.select_related("customer")
            .filter(status__in=("active", "trialing"), interval="year", cancel_at_period_end=False,
                    current_period_end__gt=until, current_period_end__lte=until + timedelta(days=conf.before_renewal_days)))
    return [(s.customer, f"renewal:{s.pk}:{s.current_period_end.date().isoformat()}") for s in subs]


def send_due(until: datetime) -> dict:
    conf = survey_settings()
    sent = 0
    if conf.after_signup:
        sent += send(due_after_signup(until, conf), Survey.NPS, Trigger.SIGNUP, until, conf)
    if conf.before_renewal:
        sent += send(due_before_renewal(until, conf), Survey.NPS, Trigger.RENEWAL, until, conf)
    return {"surveys_sent": sent} if sent else {}


def survey_after_support(customer: Customer, reference: str, survey: str, at: datetime) -> tuple[bool, str]:
    conf = survey_settings()
    if not conf.after_support:
        return False, _("the owner turned surveys after support off")
    key = f"support:{customer.pk}:{reference}"
    if SurveyRequest.objects.filter(trigger_key=key).exists():
        return False, _("a survey was already sent for this reference")
    if customer.pk in blocked([customer.pk], survey, at, conf):
        return False, _("the customer opted out of surveys or was surveyed recently")
    sent = send([(customer, key)], survey, Trigger.SUPPORT, at, conf)
    return bool(sent), "" if sent else _("not sent")


def send_to_segment(segment_name: str, survey: str, at: datetime) -> dict:
    """A manual send to a saved segment (the throttle still holds for NPS)."""
    from assina.notifications.models import Segment
    from assina.notifications.segments import customers_of

    from .services import FeedbackError

    segment = Segment.objects.filter(name=segment_name).first()
    if segment is None:
        raise FeedbackError(_("no segment named %(name)r") % {"name": segment_name})
    if survey not in (Survey.NPS, Survey.CSAT):
        raise FeedbackError(_("survey must be nps or csat"))
    customers = list(customers_of(segment, at).filter(erased_at__isnull=True))
    stamp = at.strftime("%Y%m%dT%H%M%S")
    sent = send([(c, f"manual:{segment.pk}:{survey}:{stamp}:{c.pk}") for c in customers], survey, Trigger.MANUAL, at)
    return {"segment": segment.name, "audience": len(customers), "sent": sent, "skipped": len(customers) - sent}


def due_survey_for(customer_id: int, at: datetime) -> SurveyRequest | None:
    """The customer's open, unanswered survey (newest), for a small card in the portal."""
    return (SurveyRequest.objects.filter(customer_id=customer_id, expires_at__gt=at, response__isnull=True)
            .order_by("-sent_at").first())


def announce_addressed(theme_slug: str, note_en: str, note_pt: str, at: datetime) -> dict:
    """"You asked, we did": tell every customer who raised the theme what changed, in their
    language (a marketing message: it carries the unsubscribe link and respects consent), once
    per customer and theme; the theme is marked addressed."""
    from assina.notifications.rendering import message_locale

    from .models import Theme, ThemeAssignment
    from .services import FeedbackError

    theme = Theme.objects.filter(slug=theme_slug).first()
    if theme is None:
        raise FeedbackError(_("no theme %(slug)r") % {"slug": theme_slug})
    if not note_en.strip() or not note_pt.strip():
        raise FeedbackError(_("write what changed in English and in Portuguese"))
    customers = Customer.objects.filter(
        pk__in=ThemeAssignment.objects.filter(theme=theme).values("response__customer_id"), erased_at__isnull=True)
    drafts = []
    for customer in customers.order_by("pk"):
        portuguese = message_locale(customer.locale) == "pt-BR"
        drafts.append(Draft(key=f"theme_addressed:{theme.pk}:{customer.pk}", template="theme_addressed",
                            customer=customer, due_at=at,
                            context={"theme": (theme.name_pt_br or theme.name_en) if portuguese else theme.name_en,
                                     "note": (note_pt if portuguese else note_en).strip()}))
    with transaction.atomic():
        queued = queue(drafts, at)
        Theme.objects.filter(pk=theme.pk, addressed_at__isnull=True).update(addressed_at=at)
    return {"theme": theme.slug, "customers": len(drafts), "queued": queued}

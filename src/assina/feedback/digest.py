"""The owner's weekly digest of rising themes (job ``feedback_digest``), Mondays at 08:00 UTC,
to ``ASSINA_OWNER_EMAIL`` (nothing when it is empty).

A theme is **rising** when at least ``MIN_CUSTOMERS`` customers raised it in the 7 days before
the digest and more than in an average week of the 28 days before those (their count / 4):
customers, not comments, so one customer writing five times is one voice. The digest lists the
rising themes, most risen first, with their counts, how many of this week's customers are
detractors and one recent comment. A week with nothing rising sends nothing but is recorded,
so each week is considered once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import transaction

from .models import Digest, Survey, Theme, ThemeAssignment

SEND_HOUR = 8
MIN_CUSTOMERS = 2


def week_start(at: datetime) -> datetime:
    """The latest Monday 08:00 UTC at or before ``at``."""
    at = at.astimezone(timezone.utc)
    monday = (at - timedelta(days=at.weekday())).replace(hour=SEND_HOUR, minute=0, second=0, microsecond=0)
    return monday if monday <= at else monday - timedelta(days=7)


def rising_themes(at: datetime, *, language: str = "en") -> list[dict]:
    recent_from, before_from = at - timedelta(days=7), at - timedelta(days=35)
    rows = (ThemeAssignment.objects.filter(theme__active=True, response__submitted_at__gte=before_from,
                                           response__submitted_at__lt=at)
            .values_list("theme_id", "response__customer_id", "response__submitted_at", "response__survey",
                         "response__score", "response__comment"))
    recent: dict[int, set] = {}
    before: dict[int, set] = {}
    detractors: dict[int, set] = {}
    example: dict[int, tuple] = {}
    for theme_id, customer_id, submitted_at, survey, score, comment in rows:
        if submitted_at >= recent_from:
            recent.setdefault(theme_id, set()).add(customer_id)
            if survey == Survey.NPS and score is not None and score <= 6:
                detractors.setdefault(theme_id, set()).add(customer_id)
            if comment and (theme_id not in example or submitted_at > example[theme_id][0]):
                example[theme_id] = (submitted_at, comment)
        else:
            before.setdefault(theme_id, set()).add(customer_id)
    names = {t.pk: t for t in Theme.objects.filter(pk__in=recent)}
    out = []
    for theme_id, customers in recent.items():
        average = len(before.get(theme_id, ())) / 4
        if len(customers) >= MIN_CUSTOMERS and len(customers) > average:
            theme = names[theme_id]
            name = theme.name_pt_br if language == "pt-BR" and theme.name_pt_br else theme.name_en
            out.append({"theme": theme.slug, "name": name, "last_7_days": len(customers), "weekly_average": average,
                        "detractors": len(detractors.get(theme_id, ())),
                        "example": example.get(theme_id, (None, ""))[1][:300]})
    out.sort(key=lambda t: (-(t["last_7_days"] - t["weekly_average"]), -t["last_7_days"], t["theme"]))
    return out


def _owner_locale() -> str:
    from assina.notifications.rendering import message_locale

    return message_locale(settings.ASSINA_OWNER_LOCALE or settings.LANGUAGE_CODE)


def next_due() -> datetime | None:
    if not settings.ASSINA_OWNER_EMAIL:
        return None
    last = Digest.objects.order_by("-week_start").values_list("week_start", flat=True).first()
    if last is not None:
        return datetime(last.year, last.month, last.day, SEND_HOUR, tzinfo=timezone.utc) + timedelta(days=7)
    from assina.time import now

    return week_start(now()) + timedelta(days=7)


def has_work(until: datetime) -> bool:
    return bool(settings.ASSINA_OWNER_EMAIL) and not Digest.objects.filter(week_start=week_start(until).date()).exists()


def run(until: datetime, *, at_due_time: bool) -> dict:
    """The digest of the latest week due by ``until`` (a worker back after downtime makes one,
    for the latest week, not one per missed week)."""
    from babel.dates import format_date

    from assina.notifications.outbox import Draft, queue

    if not settings.ASSINA_OWNER_EMAIL:
        return {}
    due = week_start(until)
    if Digest.objects.filter(week_start=due.date()).exists():
        return {}
    stamp = due if at_due_time else until
    locale = _owner_locale()
    themes = rising_themes(due, language=locale)
    babel_locale = "pt_BR" if locale == "pt-BR" else "en"
    shown = [{**t, "weekly_average": _number(t["weekly_average"], babel_locale)} for t in themes]
    with transaction.atomic():
        Digest.objects.create(week_start=due.date(), sent_at=stamp, themes=len(themes))
        if themes:
            queue([Draft(key=f"feedback_digest:{due.date().isoformat()}", template="feedback_digest", customer=None,
                         due_at=stamp, to_email=settings.ASSINA_OWNER_EMAIL, locale=locale,
                         context={"week_start": format_date((due - timedelta(days=7)).date(), "long", locale=babel_locale),
                                  "week_end": format_date((due - timedelta(days=1)).date(), "long", locale=babel_locale),
                                  "themes": shown,
                                  "feedback_url": settings.ASSINA_BASE_URL.rstrip("/") + "/dashboard/feedback/"})],
                  stamp)
    return {"digests": 1, "rising_themes": len(themes)}


def _number(value: float, babel_locale: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(round(value, 2), format="#,##0.##", locale=babel_locale)

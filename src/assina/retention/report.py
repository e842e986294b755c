"""The retention figures (issue 16): what the cancel flow's sessions of a date range came to.

For the sessions that **started** in the range (dates of the business time zone, both ends
included): how many; their reasons with each one's share; offers shown and accepted (the
acceptance rate: accepted / shown); and the **save rate**: saves validated against billing
(``validation.py``: an accepted offer and still paying 30 days later) per *evaluated* session —
one whose 30 days have passed and whose outcome is known (cancelled, or checked at 30 days).
Sessions too recent to judge are counted as ``pending``, in neither part of the rate, so a
recent range is not made to look worse than it is. **Saved MRR** is the monthly recurring
revenue (at the session's start) of the validated saves, in minor units per currency, never
summed across currencies.

The same figures by reason, by offer (its kind) and by variant; and A against B on the save rate
and on the acceptance rate, with a two-proportion test (``core.retention_stats``). Variants are
compared only within the reasons that had both in the range (a reason without an A/B test sends
everyone to A), per reason and pooled over those reasons.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.retention_stats import compare, rate, total_by_key
from assina.time import now as clock_now

from .models import REASON_CODES, CancelSession
from .validation import SAVE_WINDOW

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
Outcome = CancelSession.Outcome
FIELDS = ("reason", "variant", "offer_kind", "offer_shown_at", "offer_accepted_at", "outcome", "started_at", "mrr",
          "currency", "save_checked_at", "still_paying_at_30_days")


class ReportError(DomainError):
    pass


def _day(text: str, what: str, *, end: bool) -> date:
    """A date, or a month (its first day for ``from``, its last for ``to``)."""
    value = text.strip()
    try:
        if len(value) == 7:  # 2027-01
            first = date.fromisoformat(value + "-01")
            if not end:
                return first
            return date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
        return date.fromisoformat(value)
    except ValueError:
        raise ReportError(_("%(what)s must be a date like 2027-01-31 or a month like 2027-01, not %(value)s")
                          % {"what": what, "value": repr(text)}) from None


def date_range(since: str | None, until: str | None, today: date) -> tuple[date, date]:
    last = _day(until, "to", end=True) if until else today
    first = _day(since, "from", end=False) if since else last - timedelta(days=DEFAULT_DAYS - 1)
    if not (1970 <= first.year <= 2199 and 1970 <= last.year <= 2199):
        raise ReportError(_("the dates must fall between the years 1970 and 2199"))
    if first > last:
        raise ReportError(_("the range starts after it ends"))
    if (last - first).days + 1 > MAX_DAYS:
        raise ReportError(_("the range is longer than %(maximum)s days") % {"maximum": MAX_DAYS})
    return first, last


def retention_report(since: str | None = None, until: str | None = None) -> dict:
    """The figures for the sessions started from ``since`` to ``until`` (dates or months of the
    business time zone; default: the last 90 days), as of now."""
    zone = ZoneInfo(settings.TIME_ZONE)
    as_of = clock_now()
    first, last = date_range(since, until, as_of.astimezone(zone).date())
    start = datetime.combine(first, time.min, zone)
    end = datetime.combine(last + timedelta(days=1), time.min, zone)
    rows = list(CancelSession.objects.filter(started_at__gte=start, started_at__lt=end).order_by("started_at", "pk")
                .values(*FIELDS))
    for row in rows:
        _judge(row, as_of)
    total = len(rows)
    outcomes = Counter(row["outcome"] for row in rows)
    by_reason = _grouped(rows, lambda r: r["reason"] or "", total, order=REASON_CODES)
    return {
        "from": first.isoformat(), "to": last.isoformat(), "as_of": as_of.isoformat(),
        "save_window_days": SAVE_WINDOW.days,
        **_figures(rows, total),
        "outcomes": {outcome.value: outcomes.get(outcome.value, 0) for outcome in Outcome},
        "stayed_without_offer": sum(1 for r in rows if r["outcome"] == Outcome.ABANDONED and r["still_paying_at_30_days"]),
        "reasons": by_reason,
        "offers": _grouped(rows, lambda r: r["offer_kind"] or "none", total),
        "variants": _grouped([r for r in rows if r["variant"]], lambda r: r["variant"], total, order=("a", "b")),
        "variant_test": _variant_tests(rows),
    }


def _judge(row: dict, as_of: datetime) -> None:
    """Mark a session evaluated (its save question has an answer) and saved (validated)."""
    matured = row["started_at"] + SAVE_WINDOW <= as_of
    known = row["outcome"] == Outcome.CANCELED or row["save_checked_at"] is not None
    row["evaluated"] = matured and known
    row["saved"] = row["evaluated"] and row["outcome"] == Outcome.SAVED and bool(row["still_paying_at_30_days"])


def _figures(rows: list[dict], total: int) -> dict:
    shown = sum(1 for r in rows if r["offer_shown_at"] is not None)
    accepted = sum(1 for r in rows if r["offer_accepted_at"] is not None)
    evaluated = sum(1 for r in rows if r["evaluated"])
    saves = [r for r in rows if r["saved"]]
    return {
        "sessions": len(rows), "share": rate(len(rows), total),
        "offers_shown": shown, "offers_accepted": accepted, "acceptance_rate": rate(accepted, shown),
        "evaluated": evaluated, "pending": len(rows) - evaluated, "saves": len(saves),
        "save_rate": rate(len(saves), evaluated),
        "accepted_not_paying": sum(1 for r in rows if r["evaluated"] and r["outcome"] == Outcome.SAVED and not r["saved"]),
        "saved_mrr": dict(sorted(total_by_key((r["currency"], r["mrr"]) for r in saves).items())),
    }


def _grouped(rows: list[dict], key, total: int, order: tuple[str, ...] = ()) -> list[dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    rank = {code: i for i, code in enumerate(order)}
    names = sorted(groups, key=lambda name: (rank.get(name, len(rank)), name))
    return [{"key": name, **_figures(groups[name], total)} for name in names]


def _variant_tests(rows: list[dict]) -> dict:
    """A against B, per reason that had both in the range and pooled over those reasons."""
    by_reason: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["variant"]:
            by_reason[row["reason"]].append(row)
    tested = {reason: group for reason, group in by_reason.items() if {r["variant"] for r in group} == {"a", "b"}}
    pooled = [row for group in tested.values() for row in group]
    per_reason = [{"reason": reason, **_tests(tested[reason])} for reason in REASON_CODES if reason in tested]
    return {"reasons": [reason for reason in REASON_CODES if reason in tested], **_tests(pooled),
            "by_reason": per_reason}


def _tests(rows: list[dict]) -> dict:
    a = [r for r in rows if r["variant"] == "a"]
    b = [r for r in rows if r["variant"] == "b"]

    def counts(group: list[dict]) -> tuple[int, int, int, int]:
        return (sum(1 for r in group if r["saved"]), sum(1 for r in group if r["evaluated"]),
                sum(1 for r in group if r["offer_accepted_at"] is not None),
                sum(1 for r in group if r["offer_shown_at"] is not None))

    saves_a, evaluated_a, accepted_a, shown_a = counts(a)
    saves_b, evaluated_b, accepted_b, shown_b = counts(b)
    return {"save_rate": compare(saves_a, evaluated_a, saves_b, evaluated_b).as_dict(),
            "acceptance_rate": compare(accepted_a, shown_a, accepted_b, shown_b).as_dict()}


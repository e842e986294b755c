"""The one entry point the dashboard, the API and the CLI share: parse a query, answer it.

The change table is built from the database once and kept in memory (``Snapshot``) until the
data changes; each answer is kept too. Why a kept answer is still right:
  * the data fingerprint — the number and the highest id of events (every billing change
    writes one, in its own transaction; counting catches an event with a lower id that commits
    late), of payment attempts, and the exchange rates' count and last edit — must not have
    changed, or the table is rebuilt;
  * an answer depends on the as-of moment only through which dated facts (changes, trial
    ends, discount ends, cancellations, payment failures and recoveries) fall before it, so it
    is reused only while that set is the same.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db.models import Count, Max
from django.utils.translation import gettext as _

from assina.time import now as clock_now
from assina.core.errors import DomainError
from assina.events.models import Event
from assina.payments.models import PaymentAttempt

from .engine.report import Dataset, Query, compute
from .engine.table import Filters, UnknownFilter, month_of
from .models import ExchangeRate

DEFAULT_MONTHS = 12
MAX_MONTHS = 120
KEPT_ANSWERS = 64


class MetricsError(DomainError):
    pass


@dataclass
class Snapshot:
    fingerprint: tuple
    data: Dataset
    times: np.ndarray  # every dated fact, sorted: an answer changes only when one falls due


_lock = threading.Lock()
_snapshot: Snapshot | None = None
_answers: OrderedDict = OrderedDict()


def fingerprint() -> tuple:
    events = Event.objects.aggregate(n=Count("id"), last=Max("id"))
    attempts = PaymentAttempt.objects.aggregate(n=Count("id"), last=Max("id"), done=Max("completed_at"))
    rates = ExchangeRate.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    return (events["n"], events["last"], attempts["n"], attempts["last"], attempts["done"], rates["n"], rates["last"],
            settings.TIME_ZONE, settings.ASSINA_REPORTING_CURRENCY)


def _dated_facts(data: Dataset) -> np.ndarray:
    f, d = data.facts, data.dunning
    times = np.concatenate([data.table.at, f.trial_end, f.converted_at, f.ended_at, f.started_at,
                            d.first_failure_at, d.recovered_at])
    return np.sort(times[times >= 0])  # duplicates are harmless to searchsorted


def install(data: Dataset, print_: tuple | None = None) -> Snapshot:
    """Keep ``data`` as the current snapshot (the benchmark installs a synthetic one)."""
    global _snapshot
    with _lock:
        _snapshot = Snapshot(print_ if print_ is not None else fingerprint(), data, _dated_facts(data))
        _answers.clear()
    return _snapshot


def forget() -> None:
    """Drop the kept snapshot and answers (tests that recreate a database call it)."""
    global _snapshot
    with _lock:
        _snapshot = None
        _answers.clear()


def snapshot() -> Snapshot:
    current = fingerprint()
    kept = _snapshot
    if kept is not None and kept.fingerprint == current:
        return kept
    from .derive import build_dataset

    return install(build_dataset(), current)


def answer(query: Query) -> dict:
    snap = snapshot()
    due = int(np.searchsorted(snap.times, query.as_of, side="right"))
    key = (snap.fingerprint, query.filters, query.first_month, query.last_month, due)
    with _lock:
        kept = _answers.get(key)
        if kept is not None:
            _answers.move_to_end(key)
    if kept is None:
        try:
            kept = compute(snap.data, query)
        except UnknownFilter as exc:
            raise MetricsError(_("unknown %(kind)s %(value)s") % {"kind": _filter_word(exc.kind), "value": repr(exc.value)}) from None
        with _lock:
            _answers[key] = kept
            while len(_answers) > KEPT_ANSWERS:
                _answers.popitem(last=False)
    return {**kept, "as_of": _iso(query.as_of)}


def _filter_word(kind: str) -> str:
    return {"plan": _("plan"), "segment": _("segment"), "country": _("country"), "currency": _("currency")}[kind]


def options() -> dict:
    """What the filters can choose from."""
    data = snapshot().data
    return {"plans": list(data.table.plans), "segments": [s for s in data.customers.segments if s],
            "countries": [c for c in data.customers.countries if c], "currencies": list(data.table.currencies)}


# --- parsing a query ------------------------------------------------------------------------
def _date(text: str, what: str) -> date:
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise MetricsError(_("%(what)s must be a date like 2027-01-31, not %(value)s") % {"what": what, "value": repr(text)}) from None
    if not 1970 <= day.year <= 2199:
        raise MetricsError(_("%(what)s must be a date between 1970 and 2199") % {"what": what})
    return day


def _month_of_day(day: date) -> int:
    return (day.year - 1970) * 12 + day.month - 1


def _month_arg(text: str, what: str) -> int:
    if len(text) == 7:  # 2027-01
        text += "-01"
    return _month_of_day(_date(text, what))


def _wall(at: datetime) -> int:
    from .derive import wall_of

    return wall_of(at)


def _iso(seconds: int) -> str:
    """Wall-clock seconds of the business time zone -> ISO 8601 in UTC (as the API writes times)."""
    local = datetime.fromtimestamp(int(seconds), UTC).replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    return local.astimezone(UTC).isoformat().replace("+00:00", "Z")


def build_query(*, as_of: str | None = None, since: str | None = None, until: str | None = None, months: int | None = None,
                plan: str | None = None, segment: str | None = None, country: str | None = None,
                currency: str | None = None) -> Query:
    """A query from text arguments (the CLI's, the API's, the dashboard's), validated."""
    now = _wall(clock_now())
    if as_of:
        end = _date(as_of, "--as-of")
        as_of_s = int(np.datetime64(end + timedelta(days=1), "s").astype(np.int64)) - 1  # the end of that day
    elif until:
        end = _date(until if len(until) > 7 else until + "-01", "--to")
        if len(until) == 7:
            end = (date(end.year + end.month // 12, end.month % 12 + 1, 1) - timedelta(days=1))
        as_of_s = min(now, int(np.datetime64(end + timedelta(days=1), "s").astype(np.int64)) - 1)
    else:
        as_of_s = now
    last = _month_arg(until, "--to") if until else int(month_of(np.array([as_of_s]))[0])
    if months is not None and (not isinstance(months, int) or not 1 <= months <= MAX_MONTHS):
        raise MetricsError(_("the number of months must be between 1 and %(maximum)s") % {"maximum": MAX_MONTHS})
    first = _month_arg(since, "--from") if since else last - (months or DEFAULT_MONTHS) + 1
    if first > last:
        raise MetricsError(_("the range starts after it ends"))
    if last - first + 1 > MAX_MONTHS:
        raise MetricsError(_("the range is longer than %(maximum)s months") % {"maximum": MAX_MONTHS})
    if currency:
        currency = currency.strip().upper()
    return Query(as_of=as_of_s, first_month=first, last_month=last,
                 filters=Filters(plan=plan or None, segment=segment or None, country=(country or "").upper() or None,
                                 currency=currency or None))


def recent_events(limit: int = 15) -> list[dict]:
    # Newest first by when they happened (ids follow commit order, not the time of the fact).
    rows = Event.objects.order_by("-occurred_at", "-id").values("id", "type", "occurred_at", "customer_id", "subject_type", "subject_id")[:limit]
    return [{**r, "occurred_at": r["occurred_at"].isoformat()} for r in rows]


def report(**arguments) -> dict:
    return answer(build_query(**arguments))


__all__ = ["MetricsError", "answer", "build_query", "options", "recent_events", "report", "install"]

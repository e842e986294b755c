"""Storing engagement events in bulk: ``POST /api/v1/engagement_events[/batch]`` and ``assina import events``.

The path of usage batches (``assina.usage.ingest``), without what only billing needs. In the
common case (every event names its customer by id) a batch is one statement whatever its size:
an INSERT of every event, whose rows travel as one JSON text encoded by msgspec in C, joined to
the customers table (so it checks that they exist as it stores) and returning no rows. When it
stores fewer events than sent (a duplicate id, an unknown customer) it is rolled back and the
batch takes the exact path: customers read and checked (by id, or by e-mail for the events that
give one; a clear 422 for an unknown one), then an INSERT that returns the ids it stored, to say
which events were duplicates. The checks work on sets (the latest time, NUL only when the body
can hold one) and go event by event only to say which events are wrong. A batch is all or nothing: one bad event
refuses the whole batch, with every problem listed by its index, and nothing is stored.
Event ids are the sender's: an id already stored is a duplicate, reported and not stored again.

On SQLite the writers take turns (``assina.sqlite_backend``) and keep the write-ahead log short
(``assina.usage.sqlite_wal``: usage and engagement batches are the same kind of traffic).
"""

from __future__ import annotations

import contextlib
import gc
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Protocol

import msgspec
import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.usage import ingest as usage_ingest
from assina.usage import queries as usage_queries
from assina.usage import sqlite_wal

from . import queries
from .wire import MAX_VALUE, NAME_PATTERN

CUSTOMER_PREFIX = "cus_"
UTC = timezone.utc
NAME = re.compile(NAME_PATTERN)
_encode = msgspec.json.Encoder().encode
# Rows per INSERT of a bulk import (one JSON parameter each).
CHUNK = 5_000


class EngagementError(DomainError):
    """Events refused as a whole; ``errors`` says which and why (``loc``: where, ``message``)."""

    code = "engagement_invalid"
    status = 422

    def __init__(self, message: str, errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class BatchTooLarge(DomainError):
    code = "batch_too_large"
    status = 413


class EventIn(Protocol):
    id: str
    customer: str | None
    customer_email: str | None
    name: str
    timestamp: datetime
    value: float | None
    properties: dict[str, Any]


@dataclass
class IngestResult:
    received: int
    stored: int
    duplicates: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EventRow:
    """One event for ``record_events``: the customer already resolved to its id."""

    event_id: str
    customer_id: int
    name: str
    occurred_at: datetime
    value: float | None = None
    properties: dict = field(default_factory=dict)


def max_batch() -> int:
    return int(getattr(settings, "ASSINA_ENGAGEMENT_MAX_BATCH", 1000))


def _latest(received_at: datetime) -> datetime:
    return received_at + timedelta(seconds=int(getattr(settings, "ASSINA_ENGAGEMENT_FUTURE_TOLERANCE", 3600)))


def _utc(t: datetime) -> datetime | None:
    if t.tzinfo is UTC:
        return t
    if t.utcoffset() is None:
        return None
    try:
        return t.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
        return None


def _has_nul(texts: Iterable[Any]) -> bool:
    return any(isinstance(t, str) and "\x00" in t for t in texts)


def _nul_in(e: EventIn) -> bool:
    """NUL cannot be stored in PostgreSQL text or JSON: refused for every engine alike."""
    return _has_nul([e.id, e.name, e.customer, e.customer_email]) or _has_nul(e.properties) \
        or _has_nul(e.properties.values())


def _resolve_customers(events: list[EventIn], problems: list[dict]) -> list[int | None]:
    """The customer id of each event (by ``customer`` id or ``customer_email``): usage's resolution."""
    return usage_ingest.resolve_customers(events, problems,
                                          usage_ingest.customer_pks({e.customer for e in events} - {None}, ascii_digits=True),
                                          _("say whose event it is: customer or customer_email"))


def ingest(events: list[EventIn], received_at: datetime, *, nul_possible: bool = True) -> IngestResult:
    """Store a batch of events from the API (all or nothing); duplicates are reported, not stored.

    ``nul_possible=False``: the caller knows no text holds a NUL character (the request body has
    no ``\\u0000``), so the events are not searched for one.
    """
    if len(events) > max_batch():
        raise BatchTooLarge(_("a batch holds at most %(max)d events; this one has %(count)d")
                            % {"max": max_batch(), "count": len(events)})
    if not events:
        return IngestResult(0, 0)
    problems: list[dict] = []
    latest = _latest(received_at)
    times = [_utc(e.timestamp) for e in events]
    nul = nul_possible and any(map(_nul_in, events))
    if nul or None in times or max(t for t in times if t is not None) > latest:
        for index, (e, t) in enumerate(zip(events, times)):
            if nul and _nul_in(e):
                problems.append({"loc": ["events", index], "message": _("text cannot contain the NUL character")})
            elif t is None:
                problems.append({"loc": ["events", index, "timestamp"],
                                 "message": _("%(at)s is out of range") % {"at": e.timestamp.isoformat()}})
            elif t > latest:
                problems.append({"loc": ["events", index, "timestamp"],
                                 "message": _("%(at)s is in the future") % {"at": e.timestamp.isoformat()}})
    if any(len(p["loc"]) == 2 for p in problems):
        _refuse(problems, len(events))  # a NUL would break the lookups below on PostgreSQL
    if not problems:
        pks = _fast_customer_ids(events)
        if pks is not None:
            rows = _encode([{"c": pk, "i": e.id, "n": e.name, "t": t, "v": e.value, "p": e.properties}
                            for pk, e, t in zip(pks, events, times)]).decode()
            try:
                with transaction.atomic():
                    if queries.count_inserted(rows, False, received_at) != len(events):
                        raise _NotEveryEvent  # rolls this INSERT back: the exact path below says why
                sqlite_wal.keep_short()
                return IngestResult(len(events), len(events), [])
            except _NotEveryEvent:
                pass
    customers = _resolve_customers(events, problems)
    if problems:
        _refuse(problems, len(events))
    rows = _encode([{"c": pk, "i": e.id, "n": e.name, "t": t, "v": e.value, "p": e.properties}
                    for pk, e, t in zip(customers, events, times)]).decode()
    with transaction.atomic():
        stored = queries.insert_events(rows, False, received_at)
    sqlite_wal.keep_short()
    if len(stored) == len(events):
        return IngestResult(len(events), len(events), [])
    duplicates = []
    for e in events:
        if e.id in stored:
            stored.discard(e.id)  # the first of identical ids in one batch is the stored one
        else:
            duplicates.append(e.id)
    return IngestResult(len(events), len(events) - len(duplicates), duplicates)


class _NotEveryEvent(Exception):
    """The fast INSERT stored fewer events than the batch holds (a duplicate or an unknown customer)."""


# Customer references already parsed ("cus_12" -> 12): a dict lookup per event instead of parsing
# each again in every batch. Parsing only: the INSERT's join checks that the customer exists.
# Bounded: cleared when it grows too large.
_ID_REFS: dict[str, int] = {}
_ID_REFS_MAX = 200_000


def _fast_customer_ids(events: list[EventIn]) -> list[int] | None:
    """Each event's customer id when every event names its customer by id (no e-mail); else None."""
    refs = _ID_REFS
    result = []
    for e in events:
        pk = refs.get(e.customer) if e.customer_email is None and type(e.customer) is str else -1
        if pk is None:
            text = e.customer.removeprefix(CUSTOMER_PREFIX)
            if not (text.isdigit() and text.isascii() and len(text) < 19):
                return None
            if len(refs) >= _ID_REFS_MAX:
                refs.clear()
            pk = refs[e.customer] = int(text)
        elif pk == -1:
            return None
        result.append(pk)
    return result


def _refuse(problems: list[dict], total: int) -> None:
    problems.sort(key=lambda p: p["loc"][1])  # in the order of the events (stable: an event's own order kept)
    raise EngagementError(_("%(count)d of the %(total)d events are invalid; nothing was stored")
                          % {"count": len({tuple(p["loc"][:2]) for p in problems}), "total": total}, problems[:100])


# --- bulk: imports and other apps ------------------------------------------------------------------

def _row_problems(index: int, row: tuple, latest: datetime) -> list[dict]:
    event_id, customer_id, name, at, value, properties = row
    found = []

    def bad(field_name: str, message: str) -> None:
        found.append({"loc": ["rows", index, field_name], "message": message})

    if not isinstance(event_id, str) or not 0 < len(event_id) <= 128 or "\x00" in event_id:
        bad("event_id", _("an event id is 1 to 128 characters"))
    if type(customer_id) is not int:
        bad("customer", _("no customer with id %(id)s") % {"id": repr(str(customer_id))})
    if not isinstance(name, str) or not NAME.match(name):
        bad("name", _("an event name is 1 to 64 letters, digits, _ . : / or -, starting with a letter or digit; "
                      "got %(name)s") % {"name": repr(name)})
    if not isinstance(at, datetime) or _utc(at) is None:
        bad("occurred_at", _("a time with its time zone is needed; got %(at)s") % {"at": repr(str(at))})
    elif _utc(at) > latest:
        bad("occurred_at", _("%(at)s is in the future") % {"at": at.isoformat()})
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not math.isfinite(value) or abs(value) > MAX_VALUE):
        bad("value", _("a value is a number between -10^15 and 10^15; got %(value)s") % {"value": repr(value)})
    if not isinstance(properties, dict) or _has_nul(properties) or _has_nul(properties.values()):
        bad("properties", _("properties are an object of names and values without NUL characters"))
    return found


def record_events(rows: Iterable[EventRow | tuple], *, imported: bool = False, at: datetime | None = None) -> IngestResult:
    """Store many events at once, all or nothing, skipping event ids already stored (idempotent).

    ``rows``: ``EventRow``s or plain tuples ``(event_id, customer_id, name, occurred_at, value,
    properties)`` (``value`` None or a number, ``properties`` a dict, ``occurred_at`` aware).
    Every row is checked first (customers exist, names, times not in the future, finite values);
    any bad row raises ``EngagementError`` whose ``errors`` give each problem's row index
    (``loc = ["rows", index, field]``) and nothing is stored. Then one INSERT per ``CHUNK`` rows,
    in one transaction (the caller's, if it has one). ``imported=True`` marks history brought in
    by ``assina import events``. The answer counts what was stored; ``duplicates`` is left empty
    (the ids are not read back): ``received - stored`` were already there.
    """
    from assina.time import now

    received_at = at or now()
    latest = _latest(received_at)
    tuples = [(r.event_id, r.customer_id, r.name, r.occurred_at, r.value, r.properties) if isinstance(r, EventRow)
              else tuple(r) for r in rows]
    problems: list[dict] = []
    for index, row in enumerate(tuples):
        if len(row) != 6:
            problems.append({"loc": ["rows", index], "message": _("a row is (event_id, customer_id, name, occurred_at, "
                                                                  "value, properties)")})
            continue
        at_utc = _utc(row[3]) if isinstance(row[3], datetime) else None
        if (at_utc is None or at_utc > latest or type(row[1]) is not int or not isinstance(row[0], str)
                or not isinstance(row[2], str) or not NAME.match(row[2]) or not 0 < len(row[0]) <= 128
                or "\x00" in row[0] or not isinstance(row[5], dict)
                or (row[4] is not None and (type(row[4]) not in (int, float) or not math.isfinite(row[4])
                                            or abs(row[4]) > MAX_VALUE))
                or (row[5] and (_has_nul(row[5]) or _has_nul(row[5].values())))):
            problems.extend(_row_problems(index, row, latest))
    customer_ids = {row[1] for row in tuples if len(row) == 6 and type(row[1]) is int}
    known = set()
    ids = sorted(customer_ids)
    for start in range(0, len(ids), 50_000):
        known |= usage_queries.known_customers(set(ids[start:start + 50_000]))
    if known != customer_ids:
        for index, row in enumerate(tuples):
            if len(row) == 6 and type(row[1]) is int and row[1] not in known:
                problems.append({"loc": ["rows", index, "customer"],
                                 "message": _("no customer with id %(id)s") % {"id": repr(f"cus_{row[1]}")}})
    if problems:
        problems.sort(key=lambda p: p["loc"][1])
        raise EngagementError(_("%(count)d of the %(total)d events are invalid; nothing was stored")
                              % {"count": len({p["loc"][1] for p in problems}), "total": len(tuples)}, problems[:100])
    ids, customers, names, times, values, properties = zip(*tuples) if tuples else ([],) * 6
    return _store(ids, customers, names, [_utc(t) for t in times], values, properties, imported, received_at)


def _store(ids, customers, names, times, values, properties, imported: bool, received_at: datetime) -> IngestResult:
    """INSERT checked events, ``CHUNK`` rows a statement, in one transaction (the caller's, if it
    has one); ``times``: UTC datetimes or RFC 3339 texts ending in Z; ``properties`` None: all empty."""
    stored = 0
    with transaction.atomic(), queries._customer_index_deferred(len(ids)):
        for start in range(0, len(ids), CHUNK):
            stop = start + CHUNK
            if properties is None:  # no "p": stored as {}
                chunk = [{"c": c, "i": e, "n": n, "t": t, "v": v} for e, c, n, t, v
                         in zip(ids[start:stop], customers[start:stop], names[start:stop], times[start:stop], values[start:stop])]
            else:
                chunk = [{"c": c, "i": e, "n": n, "t": t, "v": v, "p": p} for e, c, n, t, v, p
                         in zip(ids[start:stop], customers[start:stop], names[start:stop], times[start:stop], values[start:stop],
                                properties[start:stop])]
            stored += queries.count_inserted(_encode(chunk).decode(), imported, received_at)
    sqlite_wal.keep_short()
    return IngestResult(len(ids), stored, [])


@contextlib.contextmanager
def without_gc():
    """No cyclic garbage collection inside (a bulk import makes millions of objects and no cycles:
    the collector would walk them all again and again); as before after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_YEAR_1 = -62135596800 * 1_000_000  # 0001-01-01T00:00:00Z in microseconds since the epoch
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def record_event_columns(event_ids: list[str], customer_ids: list[int], names: list[str], micros: np.ndarray,
                         values: list[float | None], *, imported: bool = False, at: datetime | None = None) -> IngestResult:
    """``record_events`` of events given column by column, without properties: ``micros`` the
    times as int64 UTC microseconds since the epoch. Each column is checked as a whole (each
    distinct customer and name once); when a check fails, the rows are checked one by one by
    ``record_events``, which says which rows are bad (``loc = ["rows", index, field]``)."""
    from assina.time import now

    received_at = at or now()
    count = len(event_ids)
    latest = (_latest(received_at) - _EPOCH) // timedelta(microseconds=1)
    ok = len(customer_ids) == len(names) == len(micros) == len(values) == count
    if ok and count:
        distinct_names = set(names)
        numbers = [v for v in values if v is not None]
        ok = (set(map(type, event_ids)) == {str} and min(map(len, event_ids)) > 0 and max(map(len, event_ids)) <= 128
              and "\x00" not in "".join(event_ids) and set(map(type, customer_ids)) == {int}
              and all(type(n) is str and NAME.match(n) for n in distinct_names)
              and _YEAR_1 <= int(micros.min()) and int(micros.max()) <= latest
              and set(map(type, numbers)) <= {int, float}
              and (not numbers or bool(np.all(np.abs(np.array(numbers, dtype=np.float64)) <= MAX_VALUE))))
        if ok:
            distinct = sorted(set(customer_ids))
            known: set[int] = set()
            for start in range(0, len(distinct), 50_000):
                known |= usage_queries.known_customers(set(distinct[start:start + 50_000]))
            ok = len(known) == len(distinct)
    if not ok:
        times = [_EPOCH + timedelta(microseconds=m) for m in np.asarray(micros).tolist()]
        return record_events(list(zip(event_ids, customer_ids, names, times, values, [{}] * count)),
                             imported=imported, at=received_at)
    # RFC 3339 in UTC, as msgspec writes a UTC datetime: whole seconds without a fraction.
    stamp = np.asarray(micros).astype("datetime64[us]")
    whole = micros % 1_000_000 == 0
    texts = np.datetime_as_string(stamp, unit="s") if whole.all() else \
        np.where(whole, np.datetime_as_string(stamp, unit="s"), np.datetime_as_string(stamp, unit="us"))
    return _store(event_ids, customer_ids, names, np.char.add(texts, "Z").tolist(), values, None, imported, received_at)

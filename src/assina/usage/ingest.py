"""Storing usage events in bulk: the hot path of ``POST /api/v1/usage/batch``.

One batch costs two statements in the common case whatever its size: one read of its metrics
and one INSERT of every event. No model instance is built and no Python loop formats values per
event: the checks work on sets (distinct customers, distinct metrics, the latest timestamp) and
go event by event only to say which events are wrong. The rows travel as one JSON text (encoded
by msgspec in C) that the database unpacks itself:
- SQLite: ``INSERT … SELECT … FROM json_each(?)``;
- PostgreSQL: ``INSERT … SELECT … FROM json_to_recordset(?)`` (typed columns, one C pass).
The INSERT skips events already stored (``ON CONFLICT (customer, event_id) DO NOTHING``), so a
re-sent batch stores nothing (COPY is not used: it cannot skip conflicting rows).

The fast path (every event names its customer by id, every timestamp in UTC): the INSERT joins
the customers table, so it checks that they exist as it stores, and returns no rows. When it
stores every event, that is the answer. When it stores fewer (a duplicate, an unknown customer)
it is rolled back and the batch takes the exact path: customers read and checked (a clear 422
for an unknown one), then an INSERT that returns the ids it stored (``RETURNING``) to say which
events were duplicates. Reading 1,000 returned rows and resolving 1,000 customers in Python
cost a fifth of a batch's CPU; a retried batch pays it, a new one does not.
A batch is all or nothing: one bad event refuses the batch and stores nothing.

On SQLite the events are stored as pending: they reach the index by customer in bulk a few
batches later, in the transaction of a later batch (``assina.usage.settle``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import msgspec
from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from assina.catalog.models import Metric
from assina.core.errors import DomainError
from assina.customers.models import Customer

from . import queries, settle, sqlite_wal
from .wire import UsageEventStruct

CUSTOMER_PREFIX = "cus_"
UTC = timezone.utc
_encode = msgspec.json.Encoder().encode


class UsageError(DomainError):
    """A batch refused as a whole; ``errors`` says which events and why."""

    code = "usage_invalid"
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
    metric: str
    value: int
    timestamp: datetime
    properties: dict[str, Any]


@dataclass
class IngestResult:
    received: int
    stored: int
    duplicates: list[str] = field(default_factory=list)


def max_batch() -> int:
    return int(getattr(settings, "ASSINA_USAGE_MAX_BATCH", 1000))



def customer_pks(refs: set, ascii_digits: bool = False) -> dict[Any, int | None]:
    """The customer id in each reference (``cus_12`` or ``12``; None if it cannot be one).
    ``ascii_digits``: only the digits 0-9 (engagement's rule; usage also reads other scripts' digits)."""
    pks = {}
    for ref in refs:
        text = ref.removeprefix(CUSTOMER_PREFIX) if type(ref) is str else str(ref).removeprefix(CUSTOMER_PREFIX)
        pks[ref] = int(text) if text.isdigit() and len(text) < 19 and (text.isascii() or not ascii_digits) else None
    return pks


def _has_nul(e: EventIn) -> bool:
    """NUL cannot be stored in PostgreSQL text or JSON: refused for every engine alike."""
    texts = [e.id, e.metric, e.customer or "", e.customer_email or ""]
    for key, value in e.properties.items():
        texts.append(key)
        if isinstance(value, str):
            texts.append(value)
    return any("\x00" in text for text in texts)


def _utc_times(events: list[EventIn], problems: list[dict]) -> list[datetime | None]:
    """Each event's timestamp in UTC (what is stored); None where it has no UTC equivalent."""
    times = [e.timestamp for e in events]
    if all(t.tzinfo is UTC for t in times):
        return times  # the common case: sent with Z
    result: list[datetime | None] = []
    for index, t in enumerate(times):
        if t.utcoffset() is None:
            raise ValueError(f"naive datetime {t!r} cannot be stored: times are always aware")
        try:
            result.append(t if t.tzinfo is UTC else t.astimezone(UTC))
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
            problems.append({"loc": ["events", index, "timestamp"],
                             "message": _("%(at)s is out of range") % {"at": t.isoformat()}})
            result.append(None)
    return result


def _check_texts_and_times(events: list[EventIn], times: list[datetime | None], latest: datetime,
                           problems: list[dict], nul_possible: bool) -> None:
    """NUL characters and timestamps in the future; event by event only when one is there."""
    nul = nul_possible and any(map(_has_nul, events))
    present = [t for t in times if t is not None] if problems else times  # None only with a problem
    if not nul and (not present or max(present) <= latest):
        return
    for index, (e, t) in enumerate(zip(events, times)):
        if nul and _has_nul(e):
            problems.append({"loc": ["events", index], "message": _("text cannot contain the NUL character")})
        if t is not None and t > latest:
            problems.append({"loc": ["events", index, "timestamp"],
                             "message": _("%(at)s is in the future") % {"at": e.timestamp.isoformat()}})


def resolve_customers(events: list, problems: list[dict], pks: dict[Any, int | None], whose: str) -> list[int | None]:
    """The customer id of each event (usage or engagement: by ``customer``, whose id ``pks``
    gives, or by ``customer_email``): one or two queries. A problem for each event without a
    known customer (``whose``: the message when it names none), at ``["events", index, field]``."""
    refs = {e.customer for e in events}
    emails = {e.customer_email for e in events}
    known = queries.known_customers({pk for pk in pks.values() if pk is not None})
    if None not in refs and emails == {None} and all(pk in known for pk in pks.values()):
        return [pks[e.customer] for e in events]  # the common case: every event names a known customer id
    emails = {e.customer_email.strip().lower() for e in events if e.customer is None and e.customer_email}
    email_ids = {}
    if emails:
        for pk, email in Customer.objects.filter(email__in_list=sorted(emails)).values_list("pk", "email"):
            email_ids[email.lower()] = pk
        missing = emails - email_ids.keys()
        if missing:  # stored as typed, unique without case: the slower case-blind match for the rest
            for pk, email in (Customer.objects.annotate(lower_email=Lower("email"))
                              .filter(lower_email__in_list=sorted(missing)).values_list("pk", "email")):
                email_ids[email.lower()] = pk
    result: list[int | None] = []
    for index, e in enumerate(events):
        pk = None
        if e.customer is not None:
            if e.customer_email:
                problems.append({"loc": ["events", index, "customer_email"],
                                 "message": _("give customer or customer_email, not both")})
            pk = pks[e.customer]
            if pk not in known:
                problems.append({"loc": ["events", index, "customer"],
                                 "message": _("no customer with id %(id)s") % {"id": repr(str(e.customer))}})
                pk = None
        elif e.customer_email:
            pk = email_ids.get(e.customer_email.strip().lower())
            if pk is None:
                problems.append({"loc": ["events", index, "customer_email"],
                                 "message": _("no customer with email %(email)s") % {"email": repr(e.customer_email)}})
        else:
            problems.append({"loc": ["events", index, "customer"], "message": whose})
        result.append(pk)
    return result


def _resolve_customers(events: list[EventIn], problems: list[dict]) -> list[int | None]:
    return resolve_customers(events, problems, customer_pks({e.customer for e in events} - {None}),
                             _("say whose usage it is: customer or customer_email"))


def _check_metrics(events: list[EventIn], problems: list[dict]) -> None:
    codes = {e.metric for e in events}
    metrics = queries.metrics(codes)
    if metrics.keys() == codes and all(a != Metric.Aggregation.UNIQUE_COUNT for a, _p in metrics.values()):
        return  # every metric exists and none needs a property on each event
    for index, e in enumerate(events):
        metric = metrics.get(e.metric)
        if metric is None:
            problems.append({"loc": ["events", index, "metric"], "message": _("no metric with code %(code)s") % {"code": repr(e.metric)}})
        elif metric[0] == Metric.Aggregation.UNIQUE_COUNT and metric[1] not in e.properties:
            problems.append({"loc": ["events", index, "properties", metric[1]],
                             "message": _("metric %(code)s counts distinct values of property %(property)s: the event has none")
                             % {"code": e.metric, "property": repr(metric[1])}})


def ingest(events: list[EventIn], received_at: datetime, *, nul_possible: bool = True) -> IngestResult:
    """Store a batch of usage events (all or nothing); duplicates are reported, not stored.

    ``nul_possible=False`` skips looking for NUL characters event by event: the caller knows
    none can be there (``assina.usage.wire.may_contain_nul`` of the request body).
    """
    if len(events) > max_batch():
        raise BatchTooLarge(_("a batch holds at most %(max)d events; this one has %(count)d")
                            % {"max": max_batch(), "count": len(events)})
    if not events:
        return IngestResult(0, 0)
    problems: list[dict] = []
    latest = received_at + timedelta(seconds=int(getattr(settings, "ASSINA_USAGE_FUTURE_TOLERANCE", 3600)))
    times = _utc_times(events, problems)
    _check_texts_and_times(events, times, latest, problems, nul_possible)
    if any(len(p["loc"]) == 2 for p in problems):
        _refuse(problems, len(events))  # a NUL would break the lookups below on PostgreSQL
    if not problems and _fast_path(events):
        if _metrics_fine(events):
            try:
                with transaction.atomic():
                    settle.settle_if_due()
                    stored_count = queries.insert_fast(_encode(events).decode(), received_at)
                    if stored_count != len(events):
                        raise _NotEveryEvent  # rolls this INSERT back: the exact path below decides
                sqlite_wal.keep_short()
                return IngestResult(len(events), len(events), [])
            except _NotEveryEvent:
                pass
    customers = _resolve_customers(events, problems)
    _check_metrics(events, problems)
    if problems:
        _refuse(problems, len(events))
    rows = _encode([[pk, e.metric, e.id, e.value, t, e.properties]
                    for pk, e, t in zip(customers, events, times)]).decode()
    with transaction.atomic():
        settle.settle_if_due()
        stored = queries.insert_exact(rows, received_at)
    sqlite_wal.keep_short()
    if len(stored) == len(events):
        return IngestResult(len(events), len(events), [])
    duplicates = []
    for pk, e in zip(customers, events):
        key = (pk, e.id)
        if key in stored:
            stored.discard(key)  # the first of identical ids in one batch is the stored one
        else:
            duplicates.append(e.id)
    return IngestResult(len(events), len(events) - len(duplicates), duplicates)


class _NotEveryEvent(Exception):
    """The fast INSERT stored fewer events than the batch holds (a duplicate or an unknown customer)."""


# Customer references already seen in the form the fast path takes ("cus_12" or "12"): a set
# lookup per distinct reference instead of parsing it again in every batch. Parsing only: whether
# the customer exists is checked by the INSERT itself. Bounded: cleared when it grows too large.
_ID_REFS: set[str] = set()
_ID_REFS_MAX = 200_000


def _is_id_ref(ref: object) -> bool:
    if type(ref) is not str:
        return False
    text = ref.removeprefix(CUSTOMER_PREFIX)
    return text.isdigit() and text.isascii() and len(text) < 19


def _fast_path(events: list[EventIn]) -> bool:
    """Every event names its customer by id (no email) and its timestamp is in UTC as sent."""
    if any(type(e) is not UsageEventStruct for e in events):
        return False  # what the INSERT reads is msgspec's encoding of these structs
    if any(e.timestamp.tzinfo is not UTC for e in events):
        return False  # msgspec would encode the time with its own offset
    refs = {e.customer for e in events}
    if not refs <= _ID_REFS:
        new = refs - _ID_REFS
        if not all(map(_is_id_ref, new)):
            return False
        if len(_ID_REFS) + len(new) > _ID_REFS_MAX:
            _ID_REFS.clear()
        _ID_REFS.update(new)
    return {e.customer_email for e in events} == {None}


def _metrics_fine(events: list[EventIn]) -> bool:
    """Every metric exists and none needs a property on each event (else the exact path says why)."""
    codes = {e.metric for e in events}
    metrics = queries.metrics(codes)
    return metrics.keys() == codes and all(a != Metric.Aggregation.UNIQUE_COUNT for a, _p in metrics.values())


def _refuse(problems: list[dict], total: int) -> None:
    raise UsageError(_("%(count)d of the %(total)d events are invalid; nothing was stored")
                     % {"count": len({tuple(p["loc"][:2]) for p in problems}), "total": total}, problems[:100])

"""Use cases of engagement: events from the business's product, notes and tasks on a customer,
onboarding milestones, and a customer's engagement data for privacy (export, erasure).

For other apps:
- ``record_events(rows, imported=False)``: many events at once (``assina import events``), idempotent.
- ``record_api_events(events)``: a batch decoded from the API (by customer id or e-mail).
- ``add_note``, ``add_task``, ``complete_task``: each records its event in the same transaction.
- ``create_milestone``: an onboarding milestone (``assina.engagement.onboarding`` reads them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.customers.models import Customer
from assina.events.services import record
from assina.time import now as clock_now

from .ingest import EngagementError, EventIn, EventRow, IngestResult, ingest
from .ingest import record_events as _record_events
from .models import CustomerNote, EngagementEvent, OnboardingMilestone, Task
from .wire import NAME_PATTERN

__all__ = ["EngagementError", "EventRow", "IngestResult", "record_events", "record_api_events", "add_note",
           "add_task", "complete_task", "create_milestone", "update_milestone", "NoteError", "TaskError", "MilestoneError"]

MAX_BODY = 20_000
MAX_TITLE = 200


class NoteError(DomainError):
    code = "note_invalid"
    status = 422


class TaskError(DomainError):
    code = "task_invalid"
    status = 422


class MilestoneError(DomainError):
    code = "milestone_invalid"
    status = 422


def record_events(rows: Iterable[EventRow | tuple], imported: bool = False, at: datetime | None = None) -> IngestResult:
    """Store many engagement events at once, all or nothing; ids already stored are skipped.

    ``rows``: ``EventRow(event_id, customer_id, name, occurred_at, value=None, properties={})``
    or the same six values as a plain tuple (faster for a million rows). ``imported=True`` marks
    history brought in by ``assina import events`` (never billed; counted by health and churn).
    Bad rows raise ``EngagementError`` (``errors``: ``{"loc": ["rows", index, field], "message"}``,
    sorted by index, the first 100) and nothing is stored. Returns ``IngestResult(received,
    stored, [])``: ``received - stored`` rows had an event id already stored (re-importing the
    same file stores nothing). Runs in the caller's transaction when there is one.
    """
    return _record_events(rows, imported=imported, at=at)


def record_api_events(events: list[EventIn], at: datetime | None = None, *, nul_possible: bool = True) -> IngestResult:
    """Store a batch from ``POST /api/v1/engagement_events[/batch]`` (see ``assina.engagement.ingest``)."""
    return ingest(events, at or clock_now(), nul_possible=nul_possible)


def _customer(customer: Customer | int) -> Customer:
    pk = customer.pk if isinstance(customer, Customer) else customer
    found = Customer.objects.filter(pk=pk).first()
    if found is None:
        raise NoteError(_("no customer with id %(id)s") % {"id": repr(f"cus_{pk}")})
    return found


def add_note(customer: Customer | int, *, body: str, kind: str = CustomerNote.Kind.NOTE, occurred_at: datetime | None = None,
             author=None, at: datetime | None = None) -> CustomerNote:
    """Write down a support interaction or a note on a customer (kind: note, call, ticket, meeting).

    ``occurred_at`` is when it happened (default: now; never in the future); records
    ``customer_note.created`` in the same transaction."""
    at = at or clock_now()
    occurred_at = occurred_at or at
    body = (body or "").strip()
    if kind not in CustomerNote.Kind.values:
        raise NoteError(_("%(kind)s is not a kind of note (note, call, ticket, meeting)") % {"kind": repr(kind)})
    if not body:
        raise NoteError(_("a note needs some text"))
    if len(body) > MAX_BODY:
        raise NoteError(_("a note holds at most %(max)d characters") % {"max": MAX_BODY})
    if "\x00" in body:
        raise NoteError(_("text cannot contain the NUL character"))
    if occurred_at.utcoffset() is None:
        raise NoteError(_("a time with its time zone is needed; got %(at)s") % {"at": repr(str(occurred_at))})
    if occurred_at > at:
        raise NoteError(_("%(at)s is in the future") % {"at": occurred_at.isoformat()})
    with transaction.atomic():
        customer = _customer(customer)
        note = CustomerNote.objects.create(customer=customer, kind=kind, body=body, author=author,
                                           occurred_at=occurred_at, created_at=at)
        record("customer_note.created", note, at, {"kind": kind, "occurred_at": occurred_at.isoformat(),
                                                  "author": getattr(author, "pk", None)})
    return note


def add_task(customer: Customer | int, *, title: str, due_at: datetime | None = None, source: str = "",
             at: datetime | None = None) -> Task:
    """Something to do for a customer, due at ``due_at`` (optional). ``source``: empty for the
    owner, ``playbook:<id>`` for a playbook's run. Records ``task.created`` in the same transaction."""
    at = at or clock_now()
    title = (title or "").strip()
    if not title:
        raise TaskError(_("a task needs a title"))
    if len(title) > MAX_TITLE or len(source) > 64:
        raise TaskError(_("a task's title holds at most %(max)d characters") % {"max": MAX_TITLE})
    if "\x00" in title or "\x00" in source:
        raise TaskError(_("text cannot contain the NUL character"))
    if due_at is not None and due_at.utcoffset() is None:
        raise TaskError(_("a time with its time zone is needed; got %(at)s") % {"at": repr(str(due_at))})
    with transaction.atomic():
        try:
            customer = _customer(customer)
        except NoteError as exc:
            raise TaskError(str(exc)) from None
        task = Task.objects.create(customer=customer, title=title, due_at=due_at, source=source, created_at=at)
        record("task.created", task, at, {"due_at": due_at.isoformat() if due_at else None, "source": source})
    return task


def complete_task(task: Task | int, *, at: datetime | None = None) -> Task:
    """Mark a task done; done already: nothing changes (idempotent). Records ``task.completed``."""
    at = at or clock_now()
    pk = task.pk if isinstance(task, Task) else task
    with transaction.atomic():
        task = Task.objects.select_for_update().filter(pk=pk).first()
        if task is None:
            raise TaskError(_("no task with id %(id)s") % {"id": repr(str(pk))})
        if task.done_at is not None:
            return task
        task.done_at = at
        task.save(update_fields=["done_at"])
        record("task.completed", task, at, {})
    return task


def create_milestone(*, name: str, event_name: str, due_days: int, first_value: bool = False, position: int = 0,
                     at: datetime | None = None) -> OnboardingMilestone:
    """An onboarding milestone: the customer's first ``event_name`` event within ``due_days`` days
    of signing up. Records ``onboarding_milestone.created``."""
    import re

    at = at or clock_now()
    if not (name or "").strip() or len(name) > 100:
        raise MilestoneError(_("a milestone needs a name of at most 100 characters"))
    if not re.match(NAME_PATTERN, event_name or ""):
        raise MilestoneError(_("an event name is 1 to 64 letters, digits, _ . : / or -, starting with a letter or "
                               "digit; got %(name)s") % {"name": repr(event_name)})
    if not 0 <= due_days <= 3650:
        raise MilestoneError(_("a milestone is due between day 0 and day 3650"))
    if OnboardingMilestone.objects.filter(event_name=event_name).exists():
        raise MilestoneError(_("a milestone already watches event %(name)s") % {"name": event_name})
    with transaction.atomic():
        milestone = OnboardingMilestone.objects.create(name=name.strip(), event_name=event_name, due_days=due_days,
                                                       first_value=first_value, position=position, created_at=at)
        record("onboarding_milestone.created", milestone, at, {"event_name": event_name, "due_days": due_days})
    return milestone


def update_milestone(milestone: OnboardingMilestone | int, *, name: str | None = None, due_days: int | None = None,
                     first_value: bool | None = None, position: int | None = None, active: bool | None = None,
                     at: datetime | None = None) -> OnboardingMilestone:
    """Change a milestone (its event stays: another event is another milestone). Records
    ``onboarding_milestone.updated`` with what changed; nothing changed records nothing."""
    at = at or clock_now()
    pk = milestone.pk if isinstance(milestone, OnboardingMilestone) else milestone
    if name is not None and (not name.strip() or len(name) > 100):
        raise MilestoneError(_("a milestone needs a name of at most 100 characters"))
    if due_days is not None and not 0 <= due_days <= 3650:
        raise MilestoneError(_("a milestone is due between day 0 and day 3650"))
    with transaction.atomic():
        milestone = OnboardingMilestone.objects.select_for_update().filter(pk=pk).first()
        if milestone is None:
            raise MilestoneError(_("no milestone with id %(id)s") % {"id": repr(str(pk))})
        wanted = {"name": name.strip() if name is not None else None, "due_days": due_days,
                  "first_value": first_value, "position": position, "active": active}
        changed = {k: v for k, v in wanted.items() if v is not None and getattr(milestone, k) != v}
        if not changed:
            return milestone
        for key, value in changed.items():
            setattr(milestone, key, value)
        milestone.save(update_fields=list(changed))
        record("onboarding_milestone.updated", milestone, at, changed)
    return milestone


# --- privacy (called by assina.privacy) -------------------------------------------------------------

def _t(value: datetime | None) -> str | None:
    from datetime import timezone

    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def export_customer_engagement(customer_id: int) -> dict:
    """A customer's engagement events, notes and tasks as JSON-ready data (their data export)."""
    return {
        "engagement_events": [{
            "id": e.event_id, "name": e.name, "occurred_at": _t(e.occurred_at), "value": e.value,
            "properties": e.properties, "imported": e.imported, "received_at": _t(e.received_at),
        } for e in EngagementEvent.objects.filter(customer_id=customer_id).order_by("occurred_at", "pk")],
        "notes": [{
            "kind": n.kind, "body": n.body, "occurred_at": _t(n.occurred_at), "created_at": _t(n.created_at),
        } for n in CustomerNote.objects.filter(customer_id=customer_id).order_by("occurred_at", "pk")],
        "tasks": [{
            "title": t.title, "due_at": _t(t.due_at), "done_at": _t(t.done_at), "source": t.source,
            "created_at": _t(t.created_at),
        } for t in Task.objects.filter(customer_id=customer_id).order_by("pk")],
    }


ERASED = "[erased]"


def erase_customer_engagement(customer_id: int) -> dict[str, int]:
    """Inside the caller's erasure transaction: the properties of the customer's events are
    emptied (names, times and values stay: anonymous counts), note bodies and task titles become
    ``[erased]``. Running it again changes nothing."""
    events = (EngagementEvent.objects.filter(customer_id=customer_id).exclude(properties={})
              .update(properties={}))
    notes = CustomerNote.objects.filter(customer_id=customer_id).exclude(body=ERASED).update(body=ERASED)
    tasks = Task.objects.filter(customer_id=customer_id).exclude(title=ERASED).update(title=ERASED)
    return {"engagement_events": events, "notes": notes, "tasks": tasks}

"""Writing recent usage events into the index by customer in bulk, a few batches at a time (SQLite).

The window index (customer, metric, time) is what billing and lookups by customer use. A batch
of 1,000 events for 1,000 customers adds one entry to each customer's part of it: about 1,000
index pages changed, and SQLite writes every changed page to its log at each commit (4 kB per
event, about 6 µs of a batch's CPU per event). So on SQLite a batch stores its events as
*pending* (``pending = true``): they are in the table, in the unique index (deduplication is
unchanged) and in a small index of pending events ordered by id, which a batch only appends to.
Once ``ROWS`` events may be pending (counted in the database), the next batch first settles
every pending event (``UPDATE … SET pending = false``) in its transaction, before its INSERT:
the index by customer gets about ten entries per page in one commit instead of one entry per page
in each of ten commits. Billing settles before it marks (``assina.usage.billing``), so it always
sees every event through the index; lookups by customer read the pending events apart.

Durability is unchanged: a pending event is committed like any other before the answer, and
settling only changes which index finds it. On PostgreSQL events are never pending (its log
records index changes, not whole pages, and ingestion is faster than on SQLite already).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q

from . import queries
from .models import UsageEvent

# About ten batches of 1,000 events between settlements: each costs about 30 ms, and the pending
# events a lookup by customer reads apart stay few.
ROWS = 10_000


def pending_on_insert() -> bool:
    """Whether a batch stores its events as pending (SQLite)."""
    return connection.vendor == "sqlite"


def settle() -> int:
    """Put every pending event into the index by customer, inside the caller's transaction; how many."""
    return queries.settle_pending()


def settle_if_due() -> bool:
    """Before a batch's INSERT, in its transaction: settle once ``ROWS`` events may be pending.

    Counted in the database, not per process, so that short-lived writers (the CLI, restarted
    workers) cannot leave more behind: the ids from the oldest pending event to the newest event
    (two lookups at the ends of two indexes). Ids never come back, so this is at least the
    number of pending events. True when it settled.
    """
    if not pending_on_insert():
        return False
    span = queries.pending_span()
    if span is None or span < ROWS:
        return False
    settle()
    return True


def settled_and_pending(**filters):
    """The events matching ``filters`` (on the customer, at least) as two querysets, settled and
    pending, each of which an index serves.

    The window index holds settled events only, and ``customer = x AND (NOT pending OR pending)``
    can use neither partial index (PostgreSQL even factors the customer out of an OR of the two):
    callers combine the two with a UNION instead.
    """
    events = UsageEvent.objects.filter(**filters).order_by()
    return events.filter(pending=False), events.filter(pending=True)


def of_customer(customer_id: int) -> Q:
    """A filter on one customer's events that uses an index for settled and pending ones alike."""
    settled, pending = settled_and_pending(customer_id=customer_id)
    return Q(pk__in=settled.values("pk").union(pending.values("pk"), all=True))

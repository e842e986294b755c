"""Writing a subscription: the one way, so its derived next action time is never stale.

``Subscription.next_action_at`` decides when the billing run looks at a subscription again;
a write that forgot to recompute it would leave the subscription never billed again. Every
write of a subscription's row goes through ``save`` (one row) or ``save_many`` (bulk, one
UPDATE per batch), which recompute it from the row and its pending scheduled changes by the
rule of ``assina.core.schedule.next_action_time``, which leaves it empty while the subscription is
held for catch-up (``catch_up_held_at``) and for ever on imported history (``imported_at``: never
billed or charged). (The billing run's renewals compute it with that same
function from the changes they have already read; a held row is never renewed.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from assina.core.schedule import next_action_time
from assina.core.states import NEXT_ACTION_AT_PERIOD_END
from assina.db import insert_one, update_rows

from .models import Subscription
from .queries import first_pending_changes


def next_action_times(subs: Sequence[Subscription]) -> dict[int, datetime | None]:
    """The next action time of each of ``subs`` by id, with one query for their pending
    scheduled changes (none when no subscription's next action is its period end)."""
    running = [s.pk for s in subs if s.status in NEXT_ACTION_AT_PERIOD_END and s.imported_at is None]
    first_change = first_pending_changes(running) if running else {}
    return {s.pk: None if s.imported_at is not None else
            next_action_time(s.status, s.current_period_end, s.resumes_at, s.created_at, first_change.get(s.pk),
                             held=s.catch_up_held_at is not None)
            for s in subs}


def next_action_at(sub: Subscription) -> datetime | None:
    """When the billing run must next look at ``sub`` (None: never again by itself)."""
    return next_action_times([sub])[sub.pk]


def save(sub: Subscription, fields: Iterable[str] | None = None) -> None:
    """Write ``sub`` (every field, or only ``fields``) with its next action time recomputed."""
    if sub.pk is None:
        # A new subscription has no scheduled changes yet: inserted once, with its time.
        sub.next_action_at = None if sub.imported_at is not None else next_action_time(
            sub.status, sub.current_period_end, sub.resumes_at, sub.created_at, held=sub.catch_up_held_at is not None)
        insert_one(sub)
        return
    sub.next_action_at = next_action_at(sub)
    if fields is None:
        sub.save()
    else:
        sub.save(update_fields=[*dict.fromkeys([*fields, "next_action_at"])])


def save_many(subs: Iterable[Subscription], fields: Sequence[str]) -> None:
    """Write ``fields`` of each of ``subs`` (already in the database) with their next action
    times recomputed: one query for their scheduled changes and one bulk UPDATE."""
    subs = list(subs)
    if not subs:
        return
    times = next_action_times(subs)
    for sub in subs:
        sub.next_action_at = times[sub.pk]
    columns = [*dict.fromkeys([*fields, "next_action_at"])]
    update_rows(Subscription, columns, [(*(getattr(s, name) for name in columns), s.pk) for s in subs])

"""What a checkout page suggested and what the buyer took, recorded for the new customer as the
portal records its suggestions (``upgrades.suggestions``: ``suggestion.shown``, then
``suggestion.accepted`` pointing at it, surface ``checkout``), so the suggestions report counts
checkout too; with the customer's other events of the purchase (the shipping address).

A purchase holds SQLite's one write lock, so these rows are worked out before its transaction
and written in it by one multi-row INSERT; an accepted row names its shown row's id, so the ids
are known before the INSERT (``_ids``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from assina.db import insert_rows, reserve_ids
from assina.events.models import Event

SURFACE = "checkout"
FIELDS = ("id", "type", "occurred_at", "customer_id", "subject_type", "subject_id", "data")


@dataclass(frozen=True)
class Offer:
    """One suggestion a checkout page showed, as ``upgrades.suggestions.Suggestion`` keys it:
    ``addon:<code>`` (a tick box) or ``plan:<bundle>`` (the bundle's link)."""

    key: str
    kind: str
    plan: str
    monthly_amount: int  # the MRR it adds (an add-on: its price; a bundle: its price, as upgrades counts it)
    currency: str


@dataclass(frozen=True)
class Offered:
    """What the buyer was shown: the page's suggestions, and ``bundle`` when this checkout sells
    a bundle that another plan's page suggested (its link names it): taking it is accepting it."""

    shown: tuple[Offer, ...] = ()
    bundle: Offer | None = None


# (type, data, index of the shown row an accepted row points at, or None)
Row = tuple[str, dict, "int | None"]


def suggestion_rows(offered: Offered | None, taken_addons: set[str]) -> list[Row]:
    """Shown rows for every suggestion the buyer saw, then an accepted row for each one taken (a
    ticked add-on the page suggested, the bundle bought). A new customer has no earlier shown
    rows, so nothing is left out as "shown within the day" (``record_shown``)."""
    if offered is None:
        return []
    shown = list({o.key: o for o in (*offered.shown, *((offered.bundle,) if offered.bundle else ()))}.values())
    rows: list[Row] = [("suggestion.shown", {"key": o.key, "kind": o.kind, "plan": o.plan, "surface": SURFACE,
                                             "monthly_amount": o.monthly_amount, "currency": o.currency,
                                             "subscription": None}, None) for o in shown]
    for index, o in enumerate(shown):
        if o == offered.bundle or (o.key.startswith("addon:") and o.plan in taken_addons):
            rows.append(("suggestion.accepted", {"key": o.key, "kind": o.kind, "plan": o.plan, "surface": SURFACE,
                                                 "shown": None, "monthly_amount": o.monthly_amount,
                                                 "currency": o.currency}, index))
    return rows


def write(rows: list[Row], customer_id: int, subscription_id: int | None, at: datetime, after_id: int) -> int:
    """Write ``rows`` about the customer in one INSERT (in the caller's transaction, right after
    it recorded the event ``after_id``); how many."""
    if not rows:
        return 0
    ids = _ids(len(rows), after_id)
    subscription = f"sub_{subscription_id}" if subscription_id else None
    values = []
    for event_id, (kind, data, shown) in zip(ids, rows):
        if kind == "suggestion.shown":
            data = {**data, "subscription": subscription}
        elif shown is not None:
            data = {**data, "shown": ids[shown]}
        values.append((event_id, kind, at, customer_id, "customer", customer_id, data))
    return insert_rows(Event, FIELDS, values)


def _ids(count: int, after_id: int) -> list[int]:
    """Ids for ``count`` new events. On SQLite the caller's transaction holds the database's one
    write lock and has just been given ``after_id`` (AUTOINCREMENT: one more than any id ever
    given), so the ids after it are free and asking costs nothing; PostgreSQL's sequence hands
    them out (``reserve_ids``: one statement)."""
    if connection.vendor == "sqlite":
        return list(range(after_id + 1, after_id + 1 + count))
    return reserve_ids(Event, count)

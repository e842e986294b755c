"""The Suggestions section of a customer's page: their current suggestions (at most three, each
with its reason in the owner's language, ``upgrades.suggestions.suggestions_for``) and, from the
``suggestion.shown`` and ``suggestion.accepted`` events of the last ``LOOK_BACK`` days, whether
each was shown to the customer and whether they took it.

An accepted add-on is no longer suggested (the customer has it), so suggestions accepted lately
are listed too, after the current ones.

Working out the suggestions reads the counts of every live subscription of the customer's plans,
so the page loads this section after the rest (``views.customer_suggestions``): the page itself
costs nothing more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from assina.catalog.models import Plan
from assina.events.models import Event
from assina.upgrades.suggestions import suggestions_for

LOOK_BACK = timedelta(days=90)  # the suggestions report's default range
MAX_EVENTS = 500  # three suggestions shown a day for 90 days is 270


def _events(customer_id: int, at: datetime) -> tuple[dict[str, dict], dict[str, dict]]:
    """The latest shown and accepted event per suggestion key, newest first."""
    shown: dict[str, dict] = {}
    accepted: dict[str, dict] = {}
    rows = (Event.objects.filter(customer_id=customer_id, type__in=("suggestion.shown", "suggestion.accepted"),
                                 occurred_at__gt=at - LOOK_BACK, occurred_at__lte=at)
            .order_by("-occurred_at", "-id").values_list("type", "occurred_at", "data")[:MAX_EVENTS])
    for kind, occurred_at, data in rows:
        found = shown if kind == "suggestion.shown" else accepted
        key = (data or {}).get("key")
        if key and key not in found:
            found[key] = {**data, "at": occurred_at}
    return shown, accepted


def section(customer_id: int, language: str, at: datetime) -> dict:
    """``current``: the suggestions with ``shown`` and ``accepted`` (the latest event's data and
    time, or None); ``accepted``: the suggestions accepted lately that are not current, with
    their plan's or add-on's name."""
    current = suggestions_for(customer_id, locale=language)
    shown, accepted = _events(customer_id, at)
    keys = {s.key for s in current}
    rows = [{"suggestion": s, "shown": shown.get(s.key), "accepted": accepted.get(s.key)} for s in current]
    past = [data for key, data in accepted.items() if key not in keys]
    names = dict(Plan.objects.filter(code__in={d.get("plan") for d in past}).values_list("code", "name")) if past else {}
    for data in past:
        data["name"] = names.get(data.get("plan"), data.get("plan") or "")
    return {"current": rows, "accepted": past}

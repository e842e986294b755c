"""Onboarding as a read model: which milestones each customer reached, when, and their time to first value.

A milestone (``OnboardingMilestone``, defined by the owner in the admin) is reached at the
customer's first event of its ``event_name``; it is due ``due_days`` days after the customer
signed up (``Customer.created_at``, which an imported customer carries from their history).
Per customer and milestone the state is:
- ``done``: reached by its due day; ``late``: reached after it;
- ``missed``: not reached and its due day has passed; ``pending``: not reached, not yet due.
Onboarding is complete when every active milestone is reached (done or late). Time to first
value is the days from signing up to the milestone marked ``first_value`` (else the first in
order).

Everything is computed for many customers at once: one GROUP BY over the milestones' events
(their first time per customer, through the index by name and time), one read of the
customers' signup times, then NumPy arrays, one per milestone. For other apps:
- ``onboarding_frame(customer_ids=None, at=None)``: a pandas DataFrame indexed by customer id
  (columns below), the vectorised form for scores over every customer;
- ``onboarding_status(customer_ids, at=None)``: ``{customer id: OnboardingStatus}``;
- ``onboarding_cohorts(at=None)``: per signup month, completion and time to first value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.conf import settings

from assina.customers.models import Customer
from assina.db import fetch_values
from assina.time import now as clock_now

from . import queries
from .models import OnboardingMilestone

DAY = 86_400.0
# Below this many customers the events are read for those customers only; above, for everyone
# (one pass over the index is cheaper than a huge list of ids).
FILTER_LIMIT = 20_000

DONE, LATE, MISSED, PENDING = "done", "late", "missed", "pending"


@dataclass(frozen=True)
class MilestoneState:
    milestone_id: int
    name: str
    event_name: str
    due_at: datetime
    reached_at: datetime | None
    state: str  # done, late, missed or pending


@dataclass(frozen=True)
class OnboardingStatus:
    customer_id: int
    signed_up_at: datetime
    milestones: list[MilestoneState] = field(default_factory=list)
    reached: int = 0
    total: int = 0
    completed: bool = False
    completed_at: datetime | None = None
    first_value_at: datetime | None = None
    days_to_first_value: float | None = None

    @property
    def completion(self) -> float:
        """Share of milestones reached (1.0 when there are none)."""
        return self.reached / self.total if self.total else 1.0

    @property
    def missed(self) -> list[str]:
        return [m.name for m in self.milestones if m.state == MISSED]


def milestones() -> list[OnboardingMilestone]:
    """The active milestones in order (position, due day, id)."""
    return list(OnboardingMilestone.objects.filter(active=True).order_by("position", "due_days", "id"))


def first_value_milestone(items: list[OnboardingMilestone]) -> OnboardingMilestone | None:
    marked = [m for m in items if m.first_value]
    return marked[0] if marked else (items[0] if items else None)


def _seconds(values) -> np.ndarray:
    """Aware datetimes as float seconds since the epoch (NaN for None)."""
    return np.array([v.timestamp() if v is not None else np.nan for v in values], dtype=float)


def onboarding_frame(customer_ids: Iterable[int] | None = None, at: datetime | None = None) -> pd.DataFrame:
    """One row per customer (index ``customer_id``; ``None``: every customer not erased) with:

    - ``signed_up_at`` (float seconds since the epoch, UTC);
    - per milestone id ``m``: ``reached_<m>`` (seconds or NaN) and ``state_<m>`` (done, late, missed, pending);
    - ``reached``, ``total``, ``completion`` (0–1; 1 when there are no milestones), ``completed`` (bool),
      ``completed_at`` (seconds or NaN), ``missed`` (how many milestones are past due and not reached),
      ``first_value_at`` (seconds or NaN), ``days_to_first_value`` (float days or NaN).
    """
    at = at or clock_now()
    now_s = at.timestamp()
    items = milestones()
    customers = Customer.objects.all() if customer_ids is None else Customer.objects.filter(
        pk__in_list=sorted(set(customer_ids)))
    if customer_ids is None:
        customers = customers.filter(erased_at__isnull=True)
    ids_and_times = fetch_values(customers.order_by("pk"), ["pk", "created_at"])
    ids = np.array([pk for pk, _t in ids_and_times], dtype=np.int64)
    signup = _seconds(t for _pk, t in ids_and_times)
    frame = pd.DataFrame({"signed_up_at": signup}, index=pd.Index(ids, name="customer_id"))
    n = len(ids)
    reached_count = np.zeros(n, dtype=np.int64)
    missed_count = np.zeros(n, dtype=np.int64)
    completed_at = np.full(n, -np.inf)
    if items and n:
        ids_list = ids.tolist() if customer_ids is not None and n <= FILTER_LIMIT else None
        first_ids, first_names, first_micros = queries.first_times([m.event_name for m in items], ids_list)
        first_names = np.array(first_names, dtype=object)
        first_seconds = first_micros / 1e6
        for m in items:
            mine = first_names == m.event_name
            pks, times = first_ids[mine], first_seconds[mine]
            reached = np.full(n, np.nan)
            if len(pks):
                positions = np.searchsorted(ids, pks)
                inside = positions < n
                inside[inside] = ids[positions[inside]] == pks[inside]
                reached[positions[inside]] = times[inside]
            due = signup + m.due_days * DAY
            is_reached = ~np.isnan(reached)
            state = np.where(is_reached, np.where(reached <= due, DONE, LATE), np.where(now_s > due, MISSED, PENDING))
            frame[f"reached_{m.pk}"] = reached
            frame[f"state_{m.pk}"] = state
            reached_count += is_reached
            missed_count += state == MISSED
            completed_at = np.maximum(completed_at, reached)  # NaN (not complete) once one is not reached
    total = len(items)
    frame["reached"] = reached_count
    frame["total"] = total
    frame["completion"] = reached_count / total if total else 1.0
    frame["completed"] = reached_count == total
    frame["completed_at"] = completed_at if total else np.nan
    frame["missed"] = missed_count
    first = first_value_milestone(items)
    if first is not None and n:
        frame["first_value_at"] = frame[f"reached_{first.pk}"]
        frame["days_to_first_value"] = (frame["first_value_at"] - frame["signed_up_at"]) / DAY
    else:
        frame["first_value_at"] = np.nan
        frame["days_to_first_value"] = np.nan
    return frame


def _time(seconds: float) -> datetime | None:
    return None if seconds is None or np.isnan(seconds) else datetime.fromtimestamp(float(seconds), timezone.utc)


def onboarding_status(customer_ids: Iterable[int], at: datetime | None = None) -> dict[int, OnboardingStatus]:
    """Each customer's onboarding (unknown ids are left out), computed for all of them at once."""
    items = milestones()
    frame = onboarding_frame(list(customer_ids), at)
    result = {}
    for row in frame.itertuples():
        signed_up = _time(row.signed_up_at)
        states = []
        for m in items:
            reached = getattr(row, f"reached_{m.pk}")
            states.append(MilestoneState(m.pk, m.name, m.event_name, signed_up + _days(m.due_days), _time(reached),
                                         getattr(row, f"state_{m.pk}")))
        days = row.days_to_first_value
        result[int(row.Index)] = OnboardingStatus(
            customer_id=int(row.Index), signed_up_at=signed_up, milestones=states, reached=int(row.reached),
            total=int(row.total), completed=bool(row.completed), completed_at=_time(row.completed_at),
            first_value_at=_time(row.first_value_at), days_to_first_value=None if np.isnan(days) else float(days))
    return result


def _days(n: int):
    from datetime import timedelta

    return timedelta(days=n)


def onboarding_cohorts(at: datetime | None = None, customer_ids: Iterable[int] | None = None) -> dict:
    """Per signup month (the business's time zone): customers, how many completed onboarding,
    the completion rate, how many reached first value, the median and mean days to first value,
    and per milestone how many reached it on time (by its due day), late, and missed it."""
    at = at or clock_now()
    items = milestones()
    frame = onboarding_frame(customer_ids, at)
    first = first_value_milestone(items)
    zone = ZoneInfo(settings.TIME_ZONE)
    months = pd.to_datetime(frame["signed_up_at"], unit="s", utc=True).dt.tz_convert(zone).dt.strftime("%Y-%m")
    cohorts = []
    for month, rows in frame.groupby(months.values, sort=True):
        days = rows["days_to_first_value"].dropna()
        cohorts.append({
            "cohort": month, "customers": int(len(rows)), "completed": int(rows["completed"].sum()),
            "completion_rate": round(float(rows["completed"].mean()), 4) if len(rows) else None,
            "reached_first_value": int(len(days)),
            "median_days_to_first_value": round(float(days.median()), 2) if len(days) else None,
            "mean_days_to_first_value": round(float(days.mean()), 2) if len(days) else None,
            "milestones": [{
                "milestone": m.name, "event_name": m.event_name, "due_days": m.due_days,
                **{state: int((rows[f"state_{m.pk}"] == state).sum()) for state in (DONE, LATE, MISSED, PENDING)},
            } for m in items],
        })
    return {"at": at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"), "time_zone": settings.TIME_ZONE,
            "milestones": [{"id": m.pk, "name": m.name, "event_name": m.event_name, "due_days": m.due_days,
                            "first_value": first is not None and m.pk == first.pk} for m in items],
            "customers": int(len(frame)), "completed": int(frame["completed"].sum()) if len(frame) else 0,
            "cohorts": cohorts}

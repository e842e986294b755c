"""A business's history as arrays, and the health inputs of every customer as of any date (issue 20).

Pure: numpy. Times are float days since 1970-01-01 UTC; customers are indices 0..n−1. The same
function gives today's inputs (the health score) and the inputs as of a past observation date (the
churn model's training rows): only rows dated at or before that date are read, so a model never
learns from what happened after its observation date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .health import Inputs

NEVER = np.inf


def _f(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _i(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


@dataclass
class History:
    """Rows of each kind are sorted by time (the latest of a customer's rows is their last one).
    ``signup``: each customer's signup time; ``start``/``end``: first subscription start and the end
    of the last one (``inf`` while one is active, NaN: never subscribed).
    Events ``event_customer``/``event_time``; payment attempts ``payment_customer``/``payment_time``/
    ``payment_failed`` (completed ones); past-due spells ``due_customer``/``due_from``/``due_until``
    (an invoice's first failed payment until paid or voided, ``inf`` while open); survey answers
    ``answer_customer``/``answer_time``/``answer_survey`` (0 NPS, 1 CSAT)/``answer_score``; support
    tickets ``ticket_customer``/``ticket_time``.
    Onboarding, when the owner defined milestones: ``milestone_reached`` (n, milestones), the time each
    customer first reached each one (NaN: not yet), and ``first_value``, the time they reached the
    first-value milestone (NaN: not yet); as of a date only those reached by then count.
    ``onboarding``: a completion share known for today only (NaN: unknown), used when the milestone
    times are not given."""

    signup: np.ndarray
    start: np.ndarray
    end: np.ndarray
    event_customer: np.ndarray
    event_time: np.ndarray
    payment_customer: np.ndarray
    payment_time: np.ndarray
    payment_failed: np.ndarray
    due_customer: np.ndarray
    due_from: np.ndarray
    due_until: np.ndarray
    answer_customer: np.ndarray
    answer_time: np.ndarray
    answer_survey: np.ndarray
    answer_score: np.ndarray
    ticket_customer: np.ndarray
    ticket_time: np.ndarray
    onboarding: np.ndarray | None = None
    milestone_reached: np.ndarray | None = None
    first_value: np.ndarray | None = None

    @property
    def has_milestones(self) -> bool:
        return self.milestone_reached is not None and self.milestone_reached.ndim == 2 \
            and self.milestone_reached.shape[1] > 0

    @property
    def n(self) -> int:
        return len(self.signup)


def _window_count(customer: np.ndarray, time: np.ndarray, low: float, high: float, n: int) -> np.ndarray:
    mask = (time > low) & (time <= high)
    return np.bincount(customer[mask], minlength=n)


def _latest(customer: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """For each customer, the index of their latest row among ``mask`` (rows sorted by time: the
    highest index; among rows of the same time, the last one given); −1 if none."""
    rows = np.flatnonzero(mask)
    out = np.full(n, -1, dtype=np.int64)
    np.maximum.at(out, customer[rows], rows)
    return out


def _yyyymm(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return (1970 + months // 12) * 100 + months % 12 + 1


def inputs_as_of(h: History, t: float) -> Inputs:
    """Every customer's health inputs as of time ``t`` (days since the epoch)."""
    n = h.n
    ec, et = h.event_customer, h.event_time
    events_30 = _window_count(ec, et, t - 30.0, t, n)
    events_prev_30 = _window_count(ec, et, t - 60.0, t - 30.0, n)
    seen = et <= t
    last = np.full(n, -np.inf)
    np.maximum.at(last, ec[seen], et[seen])
    idle = np.where(np.isfinite(last), np.floor(t - last), np.nan)

    pc, pt = h.payment_customer, h.payment_time
    failed = h.payment_failed.astype(bool)
    in_90 = (pt > t - 90.0) & (pt <= t)
    failed_90 = np.bincount(pc[in_90 & failed], minlength=n)
    latest_payment = _latest(pc, pt <= t, n)
    last_failed = np.zeros(n, dtype=bool)
    has = latest_payment >= 0
    last_failed[has] = failed[latest_payment[has]]

    open_due = (h.due_from <= t) & (h.due_until > t)
    past_due = np.bincount(h.due_customer[open_due], minlength=n) > 0

    ac, at, asv, asc = h.answer_customer, h.answer_time, h.answer_survey, h.answer_score
    year = (at > t - 365.0) & (at <= t)
    nps = np.full(n, np.nan)
    csat = np.full(n, np.nan)
    nps_month = np.zeros(n, dtype=np.int64)
    csat_month = np.zeros(n, dtype=np.int64)
    for survey, scores, months in ((0, nps, nps_month), (1, csat, csat_month)):
        latest = _latest(ac, year & (asv == survey), n)
        has = latest >= 0
        scores[has] = asc[latest[has]]
        months[has] = _yyyymm(at[latest[has]])

    tickets_30 = _window_count(h.ticket_customer, h.ticket_time, t - 30.0, t, n)
    tenure = np.maximum(np.floor(t - h.signup), 0.0)
    reached, total, first_value = _onboarding_as_of(h, t)
    if h.has_milestones:
        onboarding = reached / total
    else:
        onboarding = h.onboarding if h.onboarding is not None else np.full(n, np.nan)
    return Inputs(events_30=events_30, events_prev_30=events_prev_30, days_since_activity=idle,
                  onboarding=onboarding, failed_90=failed_90, last_payment_failed=last_failed,
                  past_due=past_due, nps=nps, nps_month=nps_month, csat=csat, csat_month=csat_month,
                  tickets_30=tickets_30, tenure_days=tenure, milestones_reached=reached, milestones_total=total,
                  days_to_first_value=first_value)


def _onboarding_as_of(h: History, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(milestones reached by ``t``, milestones defined, days from signup to first value when reached by
    ``t`` else NaN): a milestone reached after ``t`` does not count yet."""
    n = h.n
    if not h.has_milestones:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.full(n, np.nan)
    reached = (h.milestone_reached <= t).sum(axis=1)  # NaN (never reached) compares False
    total = np.full(n, h.milestone_reached.shape[1], dtype=np.int64)
    fv = h.first_value if h.first_value is not None else np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        first_value = np.where(fv <= t, np.maximum(fv - h.signup, 0.0), np.nan)
    return reached, total, first_value


def subset(x: Inputs, rows: np.ndarray) -> Inputs:
    return Inputs(**{name: None if value is None else np.asarray(value)[rows] for name, value in x.__dict__.items()})


def alive_at(h: History, t: float) -> np.ndarray:
    """Customers with a subscription running at ``t`` (started at or before, not yet ended)."""
    return (h.start <= t) & (h.end > t)


def churned_within(h: History, t: float, horizon: float = 30.0) -> np.ndarray:
    """Customers whose last subscription ends in (t, t + horizon]."""
    return (h.end > t) & (h.end <= t + horizon)


def observation_dates(h: History, until: float, step: float = 30.0, horizon: float = 30.0,
                      warm_up: float = 60.0) -> list[float]:
    """Observation dates ``step`` days apart whose horizon has passed by ``until`` (labels known),
    the first ``warm_up`` days after the first subscription (usage needs 60 days of history)."""
    starts = h.start[np.isfinite(h.start)]
    if len(starts) == 0:
        return []
    first = float(starts.min()) + warm_up
    last = until - horizon
    dates = []
    t = last
    while t >= first:
        dates.append(t)
        t -= step
    return sorted(dates)

"""Customer health scores 0–100 with their reasons, for every customer at once (issue 20). Pure: numpy.

Each customer has seven components, each a value from 0 (bad) to 1 (healthy), or NaN when there
is nothing to judge (no NPS answered, no onboarding defined): a NaN component is left out and the
other weights share its place.

- ``usage_trend``: events in the last 30 days ÷ events in the 30 before, at most 1
  (down 60 % → 0.4; no events in either window → 0 for a customer active before, NaN for one
  never active: recency says it).
- ``recency``: 1 when the last activity is at most 7 days old, then 1/30 less a day: 0 at 37 days;
  never active → 0 (NaN during the first 7 days of a customer).
- ``onboarding``: the share of onboarding milestones reached (NaN when unknown).
- ``payments``: 1 − 0.25 per failed payment in the last 90 days; at most 0.5 when the last payment
  failed; 0 while an invoice is past due.
- ``feedback``: the latest NPS ÷ 10 and the latest CSAT (score − 1) ÷ 4 of the last 365 days,
  their mean when both exist (NaN when neither).
- ``support``: 1 − 0.2 per support ticket in the last 30 days (0 from 5 tickets).
- ``tenure``: days as a customer ÷ 365, at most 1.

score = round half up (100 × Σ wᵢ·cᵢ ÷ Σ wᵢ over the components that are not NaN);
band: ``healthy`` from ``healthy_from``, ``at_risk`` below ``at_risk_below``, else ``watch``.

Reasons are codes with one figure each, worst first (points lost), then what goes well; the
success app puts them in words in the reader's language. ``reason_codes`` gives them as arrays
(no Python object per customer) and ``reasons_for`` turns one customer's into dicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COMPONENTS = ("usage_trend", "recency", "onboarding", "payments", "feedback", "support", "tenure")
DEFAULT_WEIGHTS = {"usage_trend": 25, "recency": 20, "onboarding": 10, "payments": 20, "feedback": 10,
                   "support": 10, "tenure": 5}
HEALTHY, WATCH, AT_RISK = "healthy", "watch", "at_risk"
BANDS = (HEALTHY, WATCH, AT_RISK)

# A reason is stated when its component loses at least this many points of the score...
REASON_MIN_POINTS = 2.0
# ...and what goes well is stated from these values.
USAGE_DROP_PCT = 25          # "usage down N %" from a drop of 25 %
IDLE_DAYS = 14               # "no activity for N days" from 14 days
TICKETS_MANY = 2             # "N support tickets in 30 days" from 2
NEW_CUSTOMER_DAYS = 90       # "customer for N days" under 90 days


@dataclass(frozen=True)
class Inputs:
    """Arrays of one length (one row per customer); days are whole days before the scoring date.

    ``events_30``/``events_prev_30``: events in the last 30 days and in the 30 before;
    ``days_since_activity``: days since the last event (NaN: never); ``onboarding``: share 0–1 (NaN:
    unknown); ``failed_90``: failed payments in 90 days; ``last_payment_failed``, ``past_due``: bool;
    ``nps``/``csat``: the latest score of the last 365 days (NaN: none) and ``nps_month``/``csat_month``
    as YYYYMM (0: none); ``tickets_30``: support tickets in 30 days; ``tenure_days``: days since signup.
    Onboarding milestones reached by the date, when the owner defined some (else None, or 0 of 0):
    ``milestones_reached`` of ``milestones_total``, and ``days_to_first_value`` (days from signup to
    the first-value milestone, NaN while not reached by the date).
    """

    events_30: np.ndarray
    events_prev_30: np.ndarray
    days_since_activity: np.ndarray
    onboarding: np.ndarray
    failed_90: np.ndarray
    last_payment_failed: np.ndarray
    past_due: np.ndarray
    nps: np.ndarray
    nps_month: np.ndarray
    csat: np.ndarray
    csat_month: np.ndarray
    tickets_30: np.ndarray
    tenure_days: np.ndarray
    milestones_reached: np.ndarray | None = None
    milestones_total: np.ndarray | None = None
    days_to_first_value: np.ndarray | None = None

    @classmethod
    def single(cls, **values) -> "Inputs":
        """One customer's inputs from scalars (missing ones: no events, no answers, nothing failed)."""
        defaults = dict(events_30=0, events_prev_30=0, days_since_activity=np.nan, onboarding=np.nan,
                        failed_90=0, last_payment_failed=False, past_due=False, nps=np.nan, nps_month=0,
                        csat=np.nan, csat_month=0, tickets_30=0, tenure_days=0, milestones_reached=0,
                        milestones_total=0, days_to_first_value=np.nan)
        unknown = set(values) - set(defaults)
        if unknown:
            raise TypeError(f"unknown inputs: {sorted(unknown)}")
        defaults.update(values)
        return cls(**{k: np.asarray([v]) for k, v in defaults.items()})


@dataclass(frozen=True)
class Scores:
    score: np.ndarray          # int16 0–100
    band: np.ndarray           # int8 index into BANDS
    components: np.ndarray     # float (n, 7), NaN where left out
    lost: np.ndarray           # float (n, 7): points of the score each component loses

    def band_names(self) -> np.ndarray:
        return np.asarray(BANDS, dtype=object)[self.band]


def components(x: Inputs) -> np.ndarray:
    """The (n, 7) matrix of component values in ``COMPONENTS`` order."""
    n = len(x.tenure_days)
    cur = np.asarray(x.events_30, dtype=np.float64)
    prev = np.asarray(x.events_prev_30, dtype=np.float64)
    out = np.empty((n, len(COMPONENTS)), dtype=np.float64)
    idle = np.asarray(x.days_since_activity, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Nothing in either window: 0 for a customer who used the product before (they stopped),
        # left out for one who never did (recency says it).
        trend = np.where(prev > 0, np.minimum(cur / prev, 1.0),
                         np.where(cur > 0, 1.0, np.where(np.isnan(idle), np.nan, 0.0)))
    out[:, 0] = trend
    tenure = np.asarray(x.tenure_days, dtype=np.float64)
    recency = np.clip(1.0 - (idle - 7.0) / 30.0, 0.0, 1.0)
    never = np.isnan(idle)
    out[:, 1] = np.where(never, np.where(tenure < 7, np.nan, 0.0), recency)
    out[:, 2] = np.clip(np.asarray(x.onboarding, dtype=np.float64), 0.0, 1.0)
    payments = np.clip(1.0 - 0.25 * np.asarray(x.failed_90, dtype=np.float64), 0.0, 1.0)
    payments = np.where(np.asarray(x.last_payment_failed, dtype=bool), np.minimum(payments, 0.5), payments)
    out[:, 3] = np.where(np.asarray(x.past_due, dtype=bool), 0.0, payments)
    nps = np.asarray(x.nps, dtype=np.float64) / 10.0
    csat = (np.asarray(x.csat, dtype=np.float64) - 1.0) / 4.0
    both = ~np.isnan(nps) & ~np.isnan(csat)
    out[:, 4] = np.where(both, (nps + csat) / 2.0, np.where(np.isnan(nps), csat, nps))
    out[:, 5] = np.clip(1.0 - 0.2 * np.asarray(x.tickets_30, dtype=np.float64), 0.0, 1.0)
    out[:, 6] = np.clip(tenure / 365.0, 0.0, 1.0)
    return out


def weight_vector(weights: dict[str, float] | None = None) -> np.ndarray:
    weights = DEFAULT_WEIGHTS if weights is None else weights
    w = np.asarray([float(weights.get(name, 0)) for name in COMPONENTS])
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("health weights are not negative and at least one is positive")
    return w


def score(x: Inputs, weights: dict[str, float] | None = None, *, healthy_from: int = 70,
          at_risk_below: int = 40) -> Scores:
    """Scores, bands and the points each component loses, for every customer in ``x``."""
    if not 0 <= at_risk_below <= healthy_from <= 100:
        raise ValueError("band thresholds: 0 ≤ at risk below ≤ healthy from ≤ 100")
    c = components(x)
    w = weight_vector(weights)
    present = ~np.isnan(c)
    wp = np.where(present, w, 0.0)
    total = wp.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    value = np.where(present, c, 0.0)
    raw = 100.0 * (wp * value).sum(axis=1) / safe
    raw = np.where(total > 0, raw, 50.0)  # nothing to judge at all: the middle of the scale
    # Half up, with a nudge so that 72.5 computed as 72.49999999 still rounds to 73.
    s = np.floor(raw + 0.5 + 1e-9).astype(np.int16)
    band = np.where(s >= healthy_from, 0, np.where(s < at_risk_below, 2, 1)).astype(np.int8)
    lost = 100.0 * wp * (1.0 - value) / safe[:, None]
    lost = np.where(present, lost, 0.0)
    return Scores(score=s, band=band, components=c, lost=lost)


# Reason codes: (code, component index); the figure comes from the inputs.
REASON_CODES = (
    "usage_down",        # pct
    "inactive",          # days (never active: "no_activity")
    "no_activity",
    "onboarding",        # pct complete
    "past_due",
    "payment_failed",
    "failed_payments",   # count in 90 days
    "detractor",         # score, month
    "passive",           # score, month
    "low_csat",          # score, month
    "tickets",           # count in 30 days
    "new_customer",      # days
    "usage_up",          # pct (good)
    "promoter",          # score, month (good)
    "active_recently",   # (good)
    "payments_ok",       # (good)
)
GOOD = {"usage_up", "promoter", "active_recently", "payments_ok"}


def reason_codes(x: Inputs, s: Scores, limit: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The ``limit`` main reasons per customer as arrays: (n, limit) indices into ``REASON_CODES``
    (−1: none) and (n, limit) figures. Negative reasons first, by points lost; then good news."""
    n = len(s.score)
    cur = np.asarray(x.events_30, dtype=np.float64)
    prev = np.asarray(x.events_prev_30, dtype=np.float64)
    idle = np.asarray(x.days_since_activity, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(prev > 0, (cur - prev) / prev * 100.0, np.nan)
    nps = np.asarray(x.nps, dtype=np.float64)
    csat = np.asarray(x.csat, dtype=np.float64)
    failed = np.asarray(x.failed_90)
    tickets = np.asarray(x.tickets_30)
    tenure = np.asarray(x.tenure_days, dtype=np.float64)
    onboarding = np.asarray(x.onboarding, dtype=np.float64)
    past_due = np.asarray(x.past_due, dtype=bool)
    last_failed = np.asarray(x.last_payment_failed, dtype=bool)
    idx = {code: i for i, code in enumerate(REASON_CODES)}

    # One candidate per component: (code index, figure, points lost); −1 when nothing to say.
    cand_code = np.full((n, len(COMPONENTS)), -1, dtype=np.int16)
    cand_fig = np.zeros((n, len(COMPONENTS)), dtype=np.float64)
    lost = s.lost
    enough = lost >= REASON_MIN_POINTS

    drop = np.nan_to_num(-change, nan=0.0)
    m = enough[:, 0] & (drop >= USAGE_DROP_PCT)
    cand_code[m, 0], cand_fig[m, 0] = idx["usage_down"], np.floor(drop[m] + 0.5)
    m = enough[:, 1] & np.isnan(idle)
    cand_code[m, 1] = idx["no_activity"]
    m = enough[:, 1] & ~np.isnan(idle) & (idle >= IDLE_DAYS)
    cand_code[m, 1], cand_fig[m, 1] = idx["inactive"], idle[m]
    m = enough[:, 2] & ~np.isnan(onboarding)
    cand_code[m, 2], cand_fig[m, 2] = idx["onboarding"], np.floor(onboarding[m] * 100 + 0.5)
    m3 = enough[:, 3]
    m = m3 & (failed > 0) & ~past_due & ~last_failed
    cand_code[m, 3], cand_fig[m, 3] = idx["failed_payments"], failed[m]
    m = m3 & last_failed & ~past_due
    cand_code[m, 3] = idx["payment_failed"]
    m = m3 & past_due
    cand_code[m, 3] = idx["past_due"]
    # Feedback: the NPS when there is one (detractor 0–6, passive 7–8), else a CSAT of 1–3.
    m = enough[:, 4] & ~np.isnan(nps) & (nps <= 6)
    cand_code[m, 4], cand_fig[m, 4] = idx["detractor"], nps[m]
    m = enough[:, 4] & ~np.isnan(nps) & (nps >= 7) & (nps <= 8)
    cand_code[m, 4], cand_fig[m, 4] = idx["passive"], nps[m]
    m = enough[:, 4] & np.isnan(nps) & ~np.isnan(csat) & (csat <= 3)
    cand_code[m, 4], cand_fig[m, 4] = idx["low_csat"], csat[m]
    m = enough[:, 5] & (tickets >= TICKETS_MANY)
    cand_code[m, 5], cand_fig[m, 5] = idx["tickets"], tickets[m]
    m = enough[:, 6] & (tenure < NEW_CUSTOMER_DAYS)
    cand_code[m, 6], cand_fig[m, 6] = idx["new_customer"], tenure[m]

    # Order the negative candidates by points lost (stable: component order breaks ties).
    key = np.where(cand_code >= 0, lost, -1.0)
    order = np.argsort(-key, axis=1, kind="stable")
    codes = np.take_along_axis(cand_code, order, axis=1)
    figs = np.take_along_axis(cand_fig, order, axis=1)

    # Good news fills the remaining places: usage up, a promoter, active this week, payments fine.
    good_code = np.full((n, 4), -1, dtype=np.int16)
    good_fig = np.zeros((n, 4), dtype=np.float64)
    m = np.nan_to_num(change, nan=0.0) >= USAGE_DROP_PCT
    good_code[m, 0], good_fig[m, 0] = idx["usage_up"], np.floor(change[m] + 0.5)
    m = ~np.isnan(nps) & (nps >= 9)
    good_code[m, 1], good_fig[m, 1] = idx["promoter"], nps[m]
    m = ~np.isnan(idle) & (idle <= 7)
    good_code[m, 2] = idx["active_recently"]
    # "Paying on time" only for someone who has paid: a failed payment or a past-due invoice says otherwise.
    m = (failed == 0) & ~past_due & ~last_failed & (tenure >= 30)
    good_code[m, 3] = idx["payments_ok"]
    all_codes = np.concatenate([codes, good_code], axis=1)
    all_figs = np.concatenate([figs, good_fig], axis=1)
    # Move the −1s to the end, keeping the order of the others.
    order = np.argsort(all_codes < 0, axis=1, kind="stable")
    all_codes = np.take_along_axis(all_codes, order, axis=1)[:, :limit]
    all_figs = np.take_along_axis(all_figs, order, axis=1)[:, :limit]
    return all_codes, all_figs


def reasons_for(i: int, codes: np.ndarray, figures: np.ndarray, x: Inputs) -> list[dict]:
    """Customer ``i``'s reasons as dicts: {"code", "value"?, "month"?} (month YYYYMM for feedback)."""
    out = []
    for code_index, figure in zip(codes[i], figures[i]):
        if code_index < 0:
            break
        code = REASON_CODES[code_index]
        item: dict = {"code": code}
        if code in ("usage_down", "inactive", "onboarding", "failed_payments", "detractor", "passive",
                    "low_csat", "tickets", "new_customer", "usage_up", "promoter"):
            item["value"] = int(figure)
        if code in ("detractor", "passive", "promoter"):
            item["month"] = int(x.nps_month[i])
        elif code == "low_csat":
            item["month"] = int(x.csat_month[i])
        out.append(item)
    return out

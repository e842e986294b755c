"""The churn model: trained on the business's own history, validated on later months (issue 20).

Rows: every customer with a subscription running on an observation date (every 30 days back from
``until`` − 30 days), their features as of that date (``core.health_inputs.inputs_as_of`` reads
nothing dated after it) and whether their last subscription ended in the 30 days after it.

Backtest: the last observation dates (up to 3) are the test; the model is fitted on the dates whose
30-day outcome was known before the first test date, so nothing it learns comes from the test
window. The model (logistic regression on standardised behaviour, billing, tenure and feedback
features, and onboarding when the owner defined milestones: ``core.churn.features_for``) and the
tenure-only baseline are compared on the test rows by ROC AUC, top-decile lift and calibration. The
model is used only when it beats the baseline (ROC AUC higher by at least ``MIN_AUC_GAIN`` and a
top-decile lift at least as high); the parameters kept are refitted on every dated row (train and
test windows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from assina.core import churn as maths
from assina.core.health_inputs import History, alive_at, churned_within, inputs_as_of, observation_dates, subset

HORIZON_DAYS = 30.0
MIN_AUC_GAIN = 0.02
MIN_TRAIN_ROWS, MIN_CHURNED = 100, 10
TEST_DATES = 3


@dataclass
class Rows:
    X: np.ndarray
    tenure: np.ndarray
    y: np.ndarray
    date: np.ndarray


def rows(h: History, dates: list[float], names: tuple[str, ...] = maths.FEATURES) -> Rows:
    xs, ts, ys, ds = [], [], [], []
    for t in dates:
        alive = np.flatnonzero(alive_at(h, t))
        if len(alive) == 0:
            continue
        x = subset(inputs_as_of(h, t), alive)
        xs.append(maths.feature_matrix(x, names))
        ts.append(maths.feature_matrix(x, maths.TENURE_ONLY))
        ys.append(churned_within(h, t, HORIZON_DAYS)[alive])
        ds.append(np.full(len(alive), t))
    if not xs:
        return Rows(np.zeros((0, len(names))), np.zeros((0, 1)), np.zeros(0, dtype=bool), np.zeros(0))
    return Rows(np.vstack(xs), np.vstack(ts), np.concatenate(ys), np.concatenate(ds))


def fit(X: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> dict:
    """A logistic regression on standardised columns, as plain numbers (``core.churn.predict``)."""
    from sklearn.linear_model import LogisticRegression

    known = ~np.isnan(X)
    mean = np.where(known, X, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
    X = np.where(known, X, mean)  # an unknown value counts as the average customer's
    scale = X.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit((X - mean) / scale, y.astype(int))
    return {"features": list(names), "mean": mean.tolist(), "scale": scale.tolist(),
            "coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0])}


def _metrics(y: np.ndarray, p: np.ndarray) -> dict:
    auc = maths.roc_auc(y, p)
    lift = maths.top_decile_lift(y, p)
    return {"roc_auc": None if auc is None else round(auc, 4),
            "top_decile_lift": None if lift is None else round(lift, 3),
            "calibration": maths.calibration(y, p)}


def _day(t: float) -> str:
    from .history import from_days

    return from_days(t).date().isoformat()


def _window(r: Rows, mask: np.ndarray, dates: list[float]) -> dict:
    return {"from": _day(min(dates)) if dates else None, "to": _day(max(dates)) if dates else None,
            "observation_dates": [_day(t) for t in dates], "samples": int(mask.sum()),
            "churned": int(r.y[mask].sum())}


def backtest(h: History, until: datetime, features: tuple[str, ...] | None = None) -> tuple[dict, dict | None]:
    """(the backtest's report, the parameters to use or None). Dates are the observation dates; each
    row's outcome is the 30 days after its date. ``features``: by default those of
    ``core.churn.features_for`` (onboarding included when the history has milestones)."""
    from .history import to_days

    names = tuple(features) if features is not None else maths.features_for(h.has_milestones)
    dates = observation_dates(h, to_days(until), horizon=HORIZON_DAYS)
    report: dict = {"horizon_days": int(HORIZON_DAYS), "as_of": until.isoformat(), "features": list(names),
                    "baseline_features": list(maths.TENURE_ONLY), "min_auc_gain": MIN_AUC_GAIN}
    test_dates = dates[-TEST_DATES:] if len(dates) >= 2 else []
    train_dates = [t for t in dates if test_dates and t + HORIZON_DAYS <= test_dates[0]]
    r = rows(h, dates, names)
    train = np.isin(r.date, train_dates)
    test = np.isin(r.date, test_dates)
    report["train"] = _window(r, train, train_dates)
    report["test"] = _window(r, test, test_dates)
    enough = (train.sum() >= MIN_TRAIN_ROWS and MIN_CHURNED <= r.y[train].sum() < train.sum()
              and 0 < r.y[test].sum() < test.sum())
    if not enough:
        report.update(model=None, baseline=None, beats_baseline=False, in_use="rules",
                      note="not enough history: at least %d training rows with %d churned, and churned and retained "
                           "customers in the test window" % (MIN_TRAIN_ROWS, MIN_CHURNED))
        return report, None
    model = fit(r.X[train], r.y[train], names)
    baseline = fit(r.tenure[train], r.y[train], maths.TENURE_ONLY)
    report["model"] = _metrics(r.y[test], maths.predict(model, r.X[test]))
    report["baseline"] = _metrics(r.y[test], maths.predict(baseline, r.tenure[test]))
    m, b = report["model"], report["baseline"]
    beats = (m["roc_auc"] is not None and b["roc_auc"] is not None and m["roc_auc"] >= b["roc_auc"] + MIN_AUC_GAIN
             and (m["top_decile_lift"] or 0) >= (b["top_decile_lift"] or 0))
    report["beats_baseline"] = bool(beats)
    report["in_use"] = "model" if beats else "rules"
    labelled = train | test
    report["coefficients"] = dict(zip(names, np.round(model["coef"], 4).tolist()))
    return report, (fit(r.X[labelled], r.y[labelled], names) if beats else None)

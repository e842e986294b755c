"""Churn risk arithmetic (issue 20). Pure: numpy and scipy.

The features of a customer as of an observation date come from the same ``health.Inputs`` as the
health score (behaviour, billing, tenure, feedback), computed from what was known on that date.
A model is a logistic regression on standardised features, stored as plain numbers
(``{"features", "mean", "scale", "coef", "intercept"}``) and scored here with NumPy; the success
app fits it (scikit-learn) and decides whether it beats the tenure-only baseline.

Onboarding, when the owner defined milestones (``ONBOARDING``, added to the features then, left
out otherwise), from the milestones reached by the observation date: ``onboarding_unfinished``, the
share of milestones not reached, and ``first_value_wait``, the days from signup to the first-value
milestone (while not reached: the days since signup so far, capped at ``FIRST_VALUE_CAP``), both
weighted by how new the customer is (1 at signup, 0 from ``NEW_DAYS`` days): an unfinished
onboarding says much about a customer of three weeks and little about one of two years, and a
linear model cannot learn that from the share and the tenure apart. A feature unknown for a
customer (NaN: milestones removed after the model was fitted) counts as the average customer's: it
contributes nothing.

Metrics of a backtest: ROC AUC (the Mann–Whitney statistic, ties counted half), top-decile lift
(churn rate among the riskiest 10 % ÷ the overall churn rate) and calibration (mean predicted
against observed rate per decile of prediction, and the Brier score).
"""

from __future__ import annotations

import numpy as np

from .health import Inputs

FEATURES = ("tenure", "events_30", "usage_change", "idle_days", "failed_90", "past_due", "nps", "no_nps",
            "tickets_30")
ONBOARDING = ("onboarding_unfinished", "first_value_wait")
TENURE_ONLY = ("tenure",)
IDLE_CAP = 120.0
FIRST_VALUE_CAP = 90.0
NEW_DAYS = 90.0


def features_for(with_onboarding: bool) -> tuple[str, ...]:
    """The model's features: behaviour, billing, tenure and feedback, and onboarding when milestones exist."""
    return FEATURES + ONBOARDING if with_onboarding else FEATURES


def _none_or(values, n: int, fill: float) -> np.ndarray:
    return np.full(n, fill) if values is None else np.asarray(values, dtype=np.float64)


def feature_matrix(x: Inputs, names: tuple[str, ...] = FEATURES) -> np.ndarray:
    """The (n, len(names)) float matrix of the named features."""
    tenure = np.asarray(x.tenure_days, dtype=np.float64)
    cur = np.asarray(x.events_30, dtype=np.float64)
    prev = np.asarray(x.events_prev_30, dtype=np.float64)
    idle = np.asarray(x.days_since_activity, dtype=np.float64)
    nps = np.asarray(x.nps, dtype=np.float64)
    n = len(tenure)

    def newness() -> np.ndarray:
        return np.clip(1.0 - tenure / NEW_DAYS, 0.0, 1.0)

    def unfinished() -> np.ndarray:
        return (1.0 - np.asarray(x.onboarding, dtype=np.float64)) * newness()  # NaN stays NaN

    def first_value_wait() -> np.ndarray:
        total = _none_or(x.milestones_total, n, 0.0)
        days = _none_or(x.days_to_first_value, n, np.nan)
        # Not reached yet: as slow as the time since signup so far.
        so_far = np.minimum(np.where(np.isnan(days), np.maximum(tenure, 0.0), days), FIRST_VALUE_CAP)
        return np.where(total > 0, so_far * newness(), np.nan)

    columns = {
        "tenure": lambda: np.log1p(np.maximum(tenure, 0.0)),
        "events_30": lambda: np.log1p(cur),
        "usage_change": lambda: np.log((cur + 1.0) / (prev + 1.0)),
        # Never active: as idle as the whole tenure (capped).
        "idle_days": lambda: np.minimum(np.where(np.isnan(idle), tenure, idle), IDLE_CAP),
        "failed_90": lambda: np.asarray(x.failed_90, dtype=np.float64),
        "past_due": lambda: np.asarray(x.past_due, dtype=np.float64),
        "nps": lambda: np.where(np.isnan(nps), 7.5, nps),
        "no_nps": lambda: np.isnan(nps).astype(np.float64),
        "tickets_30": lambda: np.asarray(x.tickets_30, dtype=np.float64),
        "onboarding_unfinished": unfinished,
        "first_value_wait": first_value_wait,
    }
    return np.column_stack([columns[name]() for name in names]) if len(tenure) else np.zeros((0, len(names)))


def _linear(params: dict, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = np.asarray(params["mean"], dtype=np.float64)
    scale = np.asarray(params["scale"], dtype=np.float64)
    coef = np.asarray(params["coef"], dtype=np.float64)
    X = np.where(np.isnan(X), mean, X)  # unknown: the average customer's, no contribution
    contributions = (X - mean) / scale * coef
    return contributions, contributions.sum(axis=1) + float(params["intercept"])


def predict(params: dict, X: np.ndarray) -> np.ndarray:
    """Probability of churning in the horizon for each row of ``X`` (columns: ``params["features"]``)."""
    _contrib, z = _linear(params, X)
    return 1.0 / (1.0 + np.exp(-z))


def top_factors(params: dict, X: np.ndarray, limit: int = 3) -> np.ndarray:
    """(n, limit) indices into ``params["features"]`` of the features that raise each customer's risk
    most (their contribution above the average customer's), −1 where fewer raise it."""
    contributions, _z = _linear(params, X)
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :limit]
    chosen = np.take_along_axis(contributions, order, axis=1)
    return np.where(chosen > 0.05, order, -1)


def roc_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    y = np.asarray(y, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    from scipy.stats import rankdata  # here: SciPy's statistics take a third of a second to import

    ranks = rankdata(p)
    return float((ranks[y].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float | None:
    """Churn rate among the riskiest 10 % (at least one customer) ÷ the overall churn rate.
    Ties at the cut are broken by order of appearance (a stable sort)."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) == 0 or y.mean() == 0:
        return None
    k = max(1, int(np.ceil(len(y) * 0.1)))
    riskiest = np.argsort(-np.asarray(p), kind="stable")[:k]
    return float(y[riskiest].mean() / y.mean())


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Mean predicted and observed churn per decile of prediction, and the Brier score."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if len(y) == 0:
        return {"brier": None, "bins": []}
    order = np.argsort(p, kind="stable")
    out = []
    for part in np.array_split(order, min(bins, len(y))):
        if len(part):
            out.append({"n": int(len(part)), "predicted": round(float(p[part].mean()), 4),
                        "observed": round(float(y[part].mean()), 4)})
    ece = sum(b["n"] * abs(b["predicted"] - b["observed"]) for b in out) / len(y)
    return {"brier": round(float(np.mean((p - y) ** 2)), 5), "expected_calibration_error": round(ece, 4), "bins": out}

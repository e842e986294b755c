"""The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007,
"How to project customer retention", Journal of Interactive Marketing 21(1)).

Each customer renews at the end of every period with their own probability 1 − θ, the same
every period; θ varies across customers as Beta(α, β). So the customers who stay are, more and
more, those who were likely to stay: the cohort's retention rate rises with time even though
no one customer changes.

  P(T = t) = B(α + 1, β + t − 1) / B(α, β)   (the customer's last period is t, t = 1, 2, …)
  S(t)     = B(α, β + t) / B(α, β)           (still a customer after t renewal decisions)
  r(t)     = S(t) / S(t − 1) = (β + t − 1) / (α + β + t − 1)

Discounted expected residual lifetime (Fader & Hardie 2010, "Customer-base valuation in a
contractual setting: the perils of ignoring heterogeneity", Marketing Science 29(1)) of a
customer who has renewed n times, just before their next renewal decision, with the
per-period discount rate d (the next payment is not discounted):

  DERL(d | α, β, n) = (β + n) / (α + β + n) · ₂F₁(1, β + n + 1; α + β + n + 1; 1 / (1 + d))

and the discounted expected lifetime of a customer about to pay for the first time:
DEL(d | α, β) = ₂F₁(1, β; α + β; 1 / (1 + d)). CLV = margin per period × DERL (or × DEL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.special import betaln, digamma, hyp2f1  # noqa: F401 (betaln: the tests sum with it)

from ._fit import Fit, maximise
from .errors import ForecastError


@dataclass(frozen=True)
class SbgFit:
    alpha: float
    beta: float
    log_likelihood: float
    standard_errors: tuple[float | None, float | None]
    converged: bool
    customers: int  # how many the fit saw

    def survival(self, t) -> np.ndarray:
        return survival(self.alpha, self.beta, t)

    def retention_rates(self, t) -> np.ndarray:
        return retention_rates(self.alpha, self.beta, t)

    def derl(self, renewals, discount_rate: float) -> np.ndarray:
        return derl(self.alpha, self.beta, renewals, discount_rate)

    def as_dict(self) -> dict:
        return {"alpha": self.alpha, "beta": self.beta, "log_likelihood": self.log_likelihood,
                "standard_errors": {"alpha": self.standard_errors[0], "beta": self.standard_errors[1]},
                "converged": self.converged, "customers": self.customers}


def survival(alpha: float, beta: float, t) -> np.ndarray:
    """S(t): the share of a new cohort still a customer after ``t`` renewal decisions."""
    t = np.asarray(t, dtype=np.float64)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def retention_rates(alpha: float, beta: float, t) -> np.ndarray:
    """r(t) = S(t) / S(t − 1): the share of those still customers after t − 1 periods who renew at t (t ≥ 1)."""
    t = np.asarray(t, dtype=np.float64)
    return (beta + t - 1) / (alpha + beta + t - 1)


def _discount_factor(discount_rate: float) -> float:
    if not (isinstance(discount_rate, (int, float)) and np.isfinite(discount_rate) and 0 <= discount_rate <= 1):
        raise ForecastError("the discount rate must be from 0 to 1")
    return 1.0 / (1.0 + float(discount_rate))


def derl(alpha: float, beta: float, renewals, discount_rate: float) -> np.ndarray:
    """Discounted expected residual lifetime, in periods (the next payment counts 1), of a customer
    who has renewed ``renewals`` times (0: paid the first period only). Vectorised over renewals.

    With a discount rate of 0 it is the expected number of further payments, (β + n) / (α − 1),
    which is infinite when α ≤ 1 (a heavy tail of customers who practically never leave)."""
    x = _discount_factor(discount_rate)
    n = np.asarray(renewals, dtype=np.float64)
    if x == 1.0:
        return expected_residual_lifetime(alpha, beta, n)
    return (beta + n) / (alpha + beta + n) * hyp2f1(1.0, beta + n + 1, alpha + beta + n + 1, x)


def discounted_expected_lifetime(alpha: float, beta: float, discount_rate: float) -> float:
    """DEL: a new customer's expected number of payments, discounted (the first counts 1)."""
    x = _discount_factor(discount_rate)
    if x == 1.0:
        return float("inf") if alpha <= 1 else float((alpha + beta - 1) / (alpha - 1))
    return float(hyp2f1(1.0, beta, alpha + beta, x))


def expected_residual_lifetime(alpha: float, beta: float, renewals) -> np.ndarray:
    """Expected number of further renewals of a customer who has renewed ``renewals`` times:
    (β + n) / (α − 1) when α > 1, infinite otherwise."""
    n = np.asarray(renewals, dtype=np.float64)
    if alpha <= 1:
        return np.full(n.shape, np.inf)
    return (beta + n) / (alpha - 1)


def half_life(alpha: float, beta: float, renewals, limit: int = 1200) -> np.ndarray:
    """Of the customers who have renewed n times, after how many more renewal decisions half of
    them are expected to have left: the smallest k with S(n + k) / S(n) <= 1/2. Finite even when
    the expected residual lifetime is not. NaN when beyond ``limit`` periods."""
    n = np.asarray(renewals, dtype=np.int64)
    out = np.full(n.shape, np.nan)
    distinct, where = np.unique(n, return_inverse=True)
    where = where.reshape(n.shape)
    k = np.arange(1, limit + 1, dtype=np.float64)
    for i, start in enumerate(distinct):  # a handful of distinct ages, never one per customer
        ratio = betaln(alpha, beta + start + k) - betaln(alpha, beta + start)
        below = np.flatnonzero(ratio <= np.log(0.5))
        if len(below):
            out[where == i] = float(k[below[0]])
    return out


# --- fitting ---------------------------------------------------------------------------------
def _counts(values: Sequence) -> np.ndarray:
    try:
        counts = np.asarray([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise ForecastError("the survivor counts must be whole numbers of at least 0") from None
    if not np.all(np.isfinite(counts)) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ForecastError("the survivor counts must be whole numbers of at least 0")
    return counts


def fit(survivors: Sequence) -> SbgFit:
    """α, β by maximum likelihood from one cohort's survivors: ``survivors[0]`` customers at the
    start, ``survivors[t]`` still customers after t periods."""
    n = _counts(survivors)
    if len(n) < 3:
        raise ForecastError("the survivor counts must cover at least two periods (three numbers: the cohort's size and two periods)")
    if n[0] < 1:
        raise ForecastError("the cohort must start with at least one customer")
    grew = np.flatnonzero(np.diff(n) > 0)
    if len(grew):
        raise ForecastError("the survivor counts cannot grow: period %(period)s has more customers than the period before",
                            period=int(grew[0]) + 1)
    lost = np.r_[0.0, -np.diff(n)]
    alive = np.zeros(len(n))
    alive[-1] = n[-1]
    return fit_censored(lost, alive)


def fit_censored(lost, alive) -> SbgFit:
    """α, β from customers observed for different lengths (several cohorts, or one customer each):
    ``lost[t]`` customers whose last period was t (t ≥ 1), ``alive[t]`` still customers when last
    seen, after t renewal decisions. A single cohort is ``lost = churned per period``, ``alive``
    its survivors at the last period (Fader & Hardie 2007, the multi-cohort note of the same year)."""
    lost = np.asarray(lost, dtype=np.float64)
    alive = np.asarray(alive, dtype=np.float64)
    size = max(len(lost), len(alive))
    lost = np.pad(lost, (0, size - len(lost)))
    alive = np.pad(alive, (0, size - len(alive)))
    lost[0] = 0.0  # nobody's last period is the 0th
    if lost.sum() == 0:
        raise ForecastError("nobody left in any period: the model needs some customers who churned")
    if alive[1:].sum() == 0 and lost[2:].sum() == 0:
        raise ForecastError("everybody left in the first period: the model needs some customers who stayed")
    t = np.arange(size, dtype=np.float64)
    lost_t, lost_w = t[lost > 0], lost[lost > 0]
    alive_t, alive_w = t[alive > 0], alive[alive > 0]
    total = lost_w.sum() + alive_w.sum()

    def loglik(params: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = params
        base, psi_ab = betaln(a, b), digamma(a + b)
        # ln P(T = t) = betaln(a + 1, b + t − 1) − betaln(a, b); ln S(t) = betaln(a, b + t) − betaln(a, b)
        value = (lost_w @ betaln(a + 1, b + lost_t - 1) + alive_w @ betaln(a, b + alive_t) - total * base)
        d_base_a, d_base_b = digamma(a) - psi_ab, digamma(b) - psi_ab
        psi_lost = digamma(a + b + lost_t)
        psi_alive = digamma(a + b + alive_t)
        grad_a = lost_w @ (digamma(a + 1) - psi_lost) + alive_w @ (digamma(a) - psi_alive) - total * d_base_a
        grad_b = lost_w @ (digamma(b + lost_t - 1) - psi_lost) + alive_w @ (digamma(b + alive_t) - psi_alive) - total * d_base_b
        return float(value), np.array([grad_a, grad_b])

    result: Fit = maximise(("alpha", "beta"), loglik, np.array([1.0, 1.0]))
    if not np.isfinite(result.log_likelihood):
        raise ForecastError("the retention model could not be fitted to these counts")
    se = tuple(None if np.isnan(s) else float(s) for s in result.standard_errors)
    return SbgFit(float(result.params[0]), float(result.params[1]), result.log_likelihood, se,  # type: ignore[arg-type]
                  result.converged, int(round(total)))


def project(result: SbgFit, size: float, horizon: int) -> dict:
    """Expected survivors of a cohort of ``size`` and the retention rates, periods 0..horizon."""
    t = np.arange(horizon + 1)
    survivors = size * result.survival(t)
    return {"periods": t.tolist(), "survivors": survivors.tolist(),
            "retention_rates": [None] + result.retention_rates(t[1:]).tolist()}

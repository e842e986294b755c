"""The Gamma-Gamma model of the average order value (Fader, Hardie & Lee 2005, "RFM and CLV:
using iso-value curves for customer base analysis", Journal of Marketing Research 42(4);
Fader & Hardie 2013, "The Gamma-Gamma model of monetary value").

A customer's orders are Gamma(p, ν) around their own mean p / ν; ν varies across customers as
Gamma(q, γ) (``v`` here, γ in the papers). It reads each repeat customer's number of repeat
purchases x and the average value m̄ of those purchases, and assumes the value does not depend
on how often they buy.

  E[M | p, q, v, x, m̄] = (q − 1) / (p x + q − 1) · v p / (q − 1) + p x / (p x + q − 1) · m̄
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from ._data import column, same_length
from ._fit import SAMPLE, Fit, dot, newton
from .errors import ForecastError


@dataclass(frozen=True)
class GammaGammaFit:
    p: float
    q: float
    v: float
    log_likelihood: float
    standard_errors: dict
    converged: bool
    customers: int

    def as_dict(self) -> dict:
        return {"p": self.p, "q": self.q, "v": self.v, "log_likelihood": self.log_likelihood,
                "standard_errors": self.standard_errors, "converged": self.converged, "customers": self.customers}

    @property
    def population_mean(self) -> float:
        """E[M] of a customer about whom nothing is known: v p / (q − 1)."""
        return self.v * self.p / (self.q - 1)

    def expected_order_value(self, frequency, monetary_value) -> np.ndarray:
        return expected_order_value(self, frequency, monetary_value)


def check(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
    x = column(frequency, "frequency", whole=True)
    m = column(monetary_value, "monetary_value")
    same_length(x, m)
    if np.any((x > 0) & (m <= 0)):
        raise ForecastError("the monetary value of a customer with repeat purchases must be more than 0")
    return x, m


def fit(frequency, monetary_value) -> GammaGammaFit:
    """p, q, v by maximum likelihood from the repeat customers (x > 0); others are left out."""
    x, m = check(frequency, monetary_value)
    keep = x > 0
    x, m = x[keep], m[keep]
    if len(x) < 2:
        raise ForecastError("the order value model needs at least two customers with repeat purchases")
    start = np.array([1.0, 2.0, float(m.mean())])
    if len(x) > 2 * SAMPLE:
        # As for BG/NBD: the sample's maximum is a start a couple of Newton steps from the full data's.
        pick = np.random.default_rng(0).choice(len(x), SAMPLE, replace=False)
        first = _maximum(x[pick], m[pick], start)
        if np.isfinite(first.log_likelihood) and first.converged:
            start = first.params
    result = _maximum(x, m, start)
    p, q, v = (float(val) for val in result.params)
    if not np.isfinite(result.log_likelihood) or not result.converged or q <= 1:
        raise ForecastError("the order value model could not be fitted: the order values vary too little or too much")
    se = {k: (None if np.isnan(s) else float(s)) for k, s in zip(result.names, result.standard_errors)}
    return GammaGammaFit(p, q, v, result.log_likelihood, se, result.converged, len(x))


def _maximum(x: np.ndarray, m: np.ndarray, start: np.ndarray) -> Fit:
    counts_all = np.bincount(x.astype(np.int64))
    distinct = np.flatnonzero(counts_all).astype(np.float64)
    counts = counts_all[counts_all > 0].astype(np.float64)
    n = float(len(x))
    log_m = np.log(m)
    # Σ p x ln(x m̄) − Σ ln m̄: the terms of the data alone, once.
    x_log_xm = dot(x, log_m) + dot(x, np.log(x))
    sum_log_m = float(log_m.sum())
    xm = x * m

    def loglik(params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Value, gradient and Hessian in (p, q, v): per customer only ln(x m̄ + v) and powers of
        1 / (x m̄ + v) (they depend on v alone); the rest per distinct x."""
        p, q, v = params
        px = p * distinct
        y = xm + v
        log_y = np.log(y)
        inv = 1.0 / y
        inv2 = inv * inv
        l0, l1 = float(log_y.sum()), dot(x, log_y)
        r0, r1 = float(inv.sum()), dot(x, inv)
        s0, s1 = float(inv2.sum()), dot(x, inv2)
        value = counts @ (gammaln(px + q) - gammaln(px)) - n * gammaln(q) + n * q * np.log(v)
        value += p * x_log_xm - sum_log_m - p * l1 - q * l0
        psi_pxq = digamma(px + q)
        tri_pxq = polygamma(1, px + q)
        cx = counts * distinct
        grad = np.array([cx @ (psi_pxq - digamma(px)) + x_log_xm - l1,
                         counts @ psi_pxq - n * digamma(q) + n * np.log(v) - l0,
                         n * q / v - (p * r1 + q * r0)])
        h_pq = cx @ tri_pxq
        h_qv = n / v - r0
        hess = np.array([[(cx * distinct) @ (tri_pxq - polygamma(1, px)), h_pq, -r1],
                         [h_pq, counts @ tri_pxq - n * polygamma(1, q), h_qv],
                         [-r1, h_qv, -n * q / v ** 2 + p * s1 + q * s0]])
        return float(value), grad, hess

    return newton(("p", "q", "v"), loglik, start)


def expected_order_value(model: GammaGammaFit, frequency, monetary_value) -> np.ndarray:
    """E[M | x, m̄]: a weighted mean of the population's and the customer's own average (x = 0: the population's)."""
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    p, q, v = model.p, model.q, model.v
    return (p * (v + x * m)) / (p * x + q - 1)

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
from scipy.special import digamma, gammaln

from ._data import column, same_length
from ._fit import maximise
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
    distinct, where, counts = np.unique(x, return_inverse=True, return_counts=True)
    counts = counts.astype(np.float64)
    n = float(len(x))
    x_log_m = float((x * np.log(m)).sum())
    sum_log_m = float(np.log(m).sum())
    x_log_x = float((x * np.log(x)).sum())
    xm = x * m

    def loglik(params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = params
        px = p * distinct
        log_xm_v = np.log(xm + v)
        value = counts @ (gammaln(px + q) - gammaln(px)) - n * gammaln(q) + n * q * np.log(v)
        value += p * x_log_m - sum_log_m + p * x_log_x - float(((p * x + q) * log_xm_v).sum())
        psi_pxq = digamma(px + q)
        g_p = (counts * distinct) @ (psi_pxq - digamma(px)) + x_log_m + x_log_x - float(x @ log_xm_v)
        g_q = counts @ psi_pxq - n * digamma(q) + n * np.log(v) - float(log_xm_v.sum())
        g_v = n * q / v - float(((p * x + q) / (xm + v)).sum())
        return float(value), np.array([g_p, g_q, g_v])

    result = maximise(("p", "q", "v"), loglik, np.array([1.0, 2.0, float(m.mean())]))
    p, q, v = (float(val) for val in result.params)
    if not np.isfinite(result.log_likelihood) or not result.converged or q <= 1:
        raise ForecastError("the order value model could not be fitted: the order values vary too little or too much")
    se = {k: (None if np.isnan(s) else float(s)) for k, s in zip(result.names, result.standard_errors)}
    return GammaGammaFit(p, q, v, result.log_likelihood, se, result.converged, int(n))


def expected_order_value(model: GammaGammaFit, frequency, monetary_value) -> np.ndarray:
    """E[M | x, m̄]: a weighted mean of the population's and the customer's own average (x = 0: the population's)."""
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    p, q, v = model.p, model.q, model.v
    return (p * (v + x * m)) / (p * x + q - 1)

"""The BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005, '"Counting your customers"
the easy way: an alternative to the Pareto/NBD model', Marketing Science 24(2)).

While alive, a customer buys at their own Poisson rate λ ~ Gamma(r, α); after each purchase
they drop out for good with their own probability p ~ Beta(a, b). Per customer: ``frequency``
x (repeat purchases), ``recency`` t_x (age at the last purchase) and ``T`` (age now), in one
time unit (days, weeks...), counted from the first purchase.

  L(r, α, a, b | x, t_x, T) = Γ(r + x) α^r / Γ(r) · B(a, b + x) / B(a, b)
                              · [(α + T)^−(r+x) + 1{x>0} · a / (b + x − 1) · (α + t_x)^−(r+x)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1, polygamma

from ._data import column, same_length
from ._fit import SAMPLE, dot, newton
from .errors import ForecastError


@dataclass(frozen=True)
class BgNbdFit:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    standard_errors: dict
    converged: bool

    def as_dict(self) -> dict:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b, "log_likelihood": self.log_likelihood,
                "standard_errors": self.standard_errors, "converged": self.converged}

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        return expected_purchases(self, t, frequency, recency, T)

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        return probability_alive(self, frequency, recency, T)


def check(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = column(frequency, "frequency", whole=True)
    t_x = column(recency, "recency")
    age = column(T, "T")
    same_length(x, t_x, age)
    if np.any(age <= 0):
        raise ForecastError("T (the customer's age) must be more than 0")
    if np.any(t_x > age):
        raise ForecastError("recency cannot be greater than T (the customer's age)")
    if np.any((x == 0) & (t_x != 0)):
        raise ForecastError("a customer without repeat purchases must have a recency of 0")
    return x, t_x, age




def fit(frequency, recency, T) -> BgNbdFit:
    """r, α, a, b by maximum likelihood. The terms that depend only on x are summed once per
    distinct frequency (a few hundred at most); the rest once per distinct (x, t_x, T) when
    customers share them, else per customer."""
    x, t_x, age = check(frequency, recency, T)
    if not np.any(x > 0):
        raise ForecastError("no customer made a repeat purchase: the purchase model needs some who did")
    start = None
    weights = None
    if len(x) > 2 * SAMPLE:
        pick = np.random.default_rng(0).choice(len(x), SAMPLE, replace=False)
        # Group the rows only when a glance at the sample says it pays (summaries counted in
        # whole days or weeks repeat themselves; exact ages do not, and sorting them costs a
        # pass or two). A part of the sample has fewer repeats than the whole: a cautious guess.
        glance = pick[:SAMPLE // 5]
        group = len(_grouped(x[glance], t_x[glance], age[glance])[0]) <= len(glance) // 2
        sample = _grouped(x[pick], t_x[pick], age[pick]) if group else (x[pick], t_x[pick], age[pick], None)
        if np.any(sample[0] > 0):
            try:
                first = _fit(*sample, None)
                start = np.array([first.r, first.alpha, first.a, first.b])
            except ForecastError:
                start = None
        if group:
            x, t_x, age, weights = _grouped(x, t_x, age)
    else:
        x, t_x, age, weights = _grouped(x, t_x, age)
    return _fit(x, t_x, age, weights, start)


def _grouped(x: np.ndarray, t_x: np.ndarray, age: np.ndarray):
    """Customers with the same (x, t_x, T) once each, with how many they are: the likelihood is
    the same sum, weighted. Ages in whole days or weeks make one integer key per row, counted
    with ``bincount`` (one pass) when its range is small; anything else is sorted."""
    if np.array_equal(t_x, np.floor(t_x)) and np.array_equal(age, np.floor(age)):
        xi, ti, ai = x.astype(np.int64), t_x.astype(np.int64), age.astype(np.int64)
        nt, na = int(ti.max()) + 1, int(ai.max()) + 1
        size = (int(xi.max()) + 1) * nt * na
        if size < 2 ** 62:
            key = (xi * nt + ti) * na + ai
            if size <= max(8 * len(x), 1 << 20):
                counts = np.bincount(key, minlength=size)
                keys = np.flatnonzero(counts)
                counts = counts[keys]
            else:
                keys, counts = np.unique(key, return_counts=True)
            rest, ai = np.divmod(keys, na)
            xi, ti = np.divmod(rest, nt)
            return xi.astype(np.float64), ti.astype(np.float64), ai.astype(np.float64), counts.astype(np.float64)
    order = np.lexsort((age, t_x, x))
    x, t_x, age = x[order], t_x[order], age[order]
    first = np.ones(len(x), dtype=bool)
    first[1:] = (x[1:] != x[:-1]) | (t_x[1:] != t_x[:-1]) | (age[1:] != age[:-1])
    starts = np.flatnonzero(first)
    weights = np.diff(np.append(starts, len(x))).astype(np.float64)
    return x[starts], t_x[starts], age[starts], weights


def _fit(x: np.ndarray, t_x: np.ndarray, age: np.ndarray, weights: np.ndarray | None,
         start: np.ndarray | None) -> BgNbdFit:
    """``weights``: how many customers each row stands for (None: one each)."""
    w = np.ones(len(x)) if weights is None else weights
    n = float(w.sum())
    counts_all = np.bincount(x.astype(np.int64), weights=w)
    distinct = np.flatnonzero(counts_all).astype(np.float64)
    counts = counts_all[counts_all > 0].astype(np.float64)
    repeat = x > 0
    xr, txr, ager = x[repeat], t_x[repeat], age[repeat]
    age0 = age[~repeat]
    w_r, w_0 = (None, None) if weights is None else (weights[repeat], weights[~repeat])
    # Start from the method-of-moments scale of the purchase rate: α ~ mean age / mean frequency.
    if start is None:
        mean_x, mean_age = dot(w, x) / n, dot(w, age) / n
        start = np.array([1.0, max(mean_age / max(mean_x, 1e-3), 1e-3) * 0.1, 1.0, 1.0])
    result = newton(("r", "alpha", "a", "b"), _loglik(n, distinct, counts, xr, txr, ager, age0, w_r, w_0), start)
    if not np.isfinite(result.log_likelihood) or not result.converged:
        raise ForecastError("the purchase model could not be fitted to this data")
    r, alpha, a, b = (float(v) for v in result.params)
    se = {k: (None if np.isnan(s) else float(s)) for k, s in zip(result.names, result.standard_errors)}
    return BgNbdFit(r, alpha, a, b, result.log_likelihood, se, result.converged)


def _loglik(n: float, distinct: np.ndarray, counts: np.ndarray, xr: np.ndarray, txr: np.ndarray, ager: np.ndarray,
            age0: np.ndarray, w_r: np.ndarray | None = None, w_0: np.ndarray | None = None):
    """The log-likelihood with its gradient and Hessian in (r, α, a, b), in one pass.

    Per repeat customer, with k = r + x, u = ln(α + T), D = u − ln(α + t_x) and
    z = ln a − ln(b + x − 1) + k D (the log-odds of "dropped out after the last purchase"):
    ℓ = −k u + ln(1 + e^z). With σ = 1 / (1 + e^−z), σ' = σ(1 − σ) and dz = (D, k E, 1/a, −1/(b+x−1))
    where E = 1/(α+T) − 1/(α+t_x), the Hessian is σ' dz dzᵀ + σ ∂²z − ∂²(k u)."""
    xm1 = xr - 1.0
    wsum, wdot = _weighted(w_r)
    wsum0, wdot0 = _weighted(w_0)

    def loglik(params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        r, alpha, a, b = params
        h = np.zeros((4, 4))
        # Terms of x alone, per distinct x.
        value = counts @ (gammaln(r + distinct) + gammaln(b + distinct) - gammaln(a + b + distinct))
        value += n * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
        g_r = counts @ digamma(r + distinct) + n * (-digamma(r) + np.log(alpha))
        g_alpha = n * r / alpha
        psi_abx = counts @ digamma(a + b + distinct)
        g_a = n * digamma(a + b) - psi_abx
        g_b = n * digamma(a + b) + counts @ digamma(b + distinct) - n * digamma(b) - psi_abx
        tri_ab = n * polygamma(1, a + b) - counts @ polygamma(1, a + b + distinct)
        h[0, 0] = counts @ polygamma(1, r + distinct) - n * polygamma(1, r)
        h[0, 1] = n / alpha
        h[1, 1] = -n * r / alpha ** 2
        h[2, 2] = h[2, 3] = tri_ab
        h[3, 3] = tri_ab + counts @ polygamma(1, b + distinct) - n * polygamma(1, b)
        # Customers without repeat purchases: −r ln(α + T).
        inv0 = 1.0 / (alpha + age0)
        log0 = wsum0(np.log(alpha + age0))
        s_inv0 = wsum0(inv0)
        value -= r * log0
        g_r -= log0
        g_alpha -= r * s_inv0
        h[0, 1] -= s_inv0
        h[1, 1] += r * wdot0(inv0, inv0)
        # Repeat customers.
        k = r + xr
        u = np.log(alpha + ager)
        d = u - np.log(alpha + txr)
        i_t = 1.0 / (alpha + ager)
        i_tx = 1.0 / (alpha + txr)
        e = i_t - i_tx
        i_b = 1.0 / (b + xm1)
        z = np.log(a) - np.log(b + xm1) + k * d
        ez = np.exp(-np.abs(z))
        value += wsum(np.maximum(z, 0.0)) + wsum(np.log1p(ez)) - wdot(k, u)
        sigma = np.where(z >= 0, 1.0, ez) / (1.0 + ez)
        s2 = sigma * (1.0 - sigma)
        ke = k * e
        g_r += wdot(sigma, d) - wsum(u)
        g_alpha += wdot(sigma, ke) - wdot(k, i_t)
        sum_sigma = wsum(sigma)
        g_a += sum_sigma / a
        sib = sigma * i_b
        g_b -= wsum(sib)
        s2d, s2ke, s2ib = s2 * d, s2 * ke, s2 * i_b
        h[0, 0] += wdot(s2d, d)
        h[0, 1] += wdot(s2d, ke) + wdot(sigma, e) - wsum(i_t)
        h[0, 2] += wsum(s2d) / a
        h[0, 3] -= wdot(s2d, i_b)
        h[1, 1] += wdot(s2ke, ke) + wdot(sigma * k, i_tx * i_tx - i_t * i_t) + wdot(k, i_t * i_t)
        h[1, 2] += wsum(s2ke) / a
        h[1, 3] -= wdot(s2ke, i_b)
        sum_s2 = wsum(s2)
        h[2, 2] += (sum_s2 - sum_sigma) / a ** 2
        h[2, 3] -= wsum(s2ib) / a
        h[3, 3] += wdot(s2ib + sib, i_b)
        h = np.triu(h) + np.triu(h, 1).T
        return float(value), np.array([g_r, g_alpha, g_a, g_b]), h

    return loglik


def _weighted(weights: np.ndarray | None):
    """Σ v and Σ a·b over rows, each row counted ``weights`` times (None: once)."""
    if weights is None:
        return (lambda v: float(v.sum())), dot
    return (lambda v: dot(weights, v)), (lambda a, b: float(np.einsum("i,i,i->", weights, a, b)))


def probability_alive(model: BgNbdFit, frequency, recency, T) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + 1{x>0} · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x))."""
    x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    return np.where(x > 0, 1.0 / (1.0 + np.exp(np.where(x > 0, log_odds, 0.0))), 1.0)


def expected_purchases(model: BgNbdFit, t, frequency, recency, T) -> np.ndarray:
    """E[purchases in the next ``t`` | x, t_x, T] (FHL 2005, eq. 10)."""
    x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    t = np.asarray(t, dtype=np.float64)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    z = t / (alpha + age + t)
    head = (a + b + x - 1) / (a - 1)
    body = 1.0 - np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + age + t))) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return head * body * probability_alive(model, x, t_x, age)


def expected_purchases_new(model: BgNbdFit, t) -> np.ndarray:
    """E[X(t)] of a customer just acquired (FHL 2005, eq. 7)."""
    t = np.asarray(t, dtype=np.float64)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    return (a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))

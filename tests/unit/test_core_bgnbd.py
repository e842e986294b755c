"""The BG/NBD purchase model (assina.core.forecasting.bgnbd) against Fader, Hardie & Lee (2005),
'"Counting your customers" the easy way', Marketing Science 24(2), 275-284: fitted to the CDNOW
sample (2,357 customers, 39 weeks; the summary shipped in the ``lifetimes`` package, see
tests/forecast_support.py), r, α, a, b to within 0.5 % of the published 0.243, 4.414, 0.793,
2.426 and the log-likelihood −9582.4."""

import numpy as np
import pytest
from forecast_support import cdnow_summary, within

from assina.core.forecasting import bgnbd
from assina.core.forecasting.errors import ForecastError


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow):
    return bgnbd.fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_published_parameters(fitted):
    for name, published in (("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)):
        assert within(getattr(fitted, name), published), (name, getattr(fitted, name))
    assert fitted.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert fitted.converged
    assert all(0 < se < getattr(fitted, k) for k, se in fitted.standard_errors.items())


def test_predictions_agree_with_the_peer_implementation(fitted, cdnow):
    # The ``lifetimes`` package's formulas (a separate implementation of FHL 2005's eq. 10 and the
    # probability alive), on every CDNOW customer and on a new one, with the same parameters.
    from lifetimes import BetaGeoFitter

    peer = BetaGeoFitter()
    peer.params_ = __import__("pandas").Series({"r": fitted.r, "alpha": fitted.alpha, "a": fitted.a, "b": fitted.b})
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    np.testing.assert_allclose(fitted.expected_purchases(39, x, t_x, T),
                               peer.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T), rtol=1e-9)
    np.testing.assert_allclose(fitted.probability_alive(x, t_x, T), peer.conditional_probability_alive(x, t_x, T), rtol=1e-9)
    assert bgnbd.expected_purchases_new(fitted, 78) == pytest.approx(float(peer.expected_number_of_purchases_up_to_time(78)), rel=1e-9)
    assert fitted.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.2259, abs=1e-4)  # customer 1
    # No repeat purchase: alive for sure (BG/NBD drops out only right after a purchase).
    assert fitted.probability_alive(0, 0, 38.86) == 1.0
    alive = fitted.probability_alive([2, 2], [30.43, 5.0], [38.86, 38.86])
    assert 0 < alive[1] < alive[0] < 1  # a long silence since the last purchase makes it less likely


def test_expected_purchases_grow_with_the_window(fitted, cdnow):
    windows = [fitted.expected_purchases(t, cdnow["frequency"], cdnow["recency"], cdnow["T"]).sum() for t in (4, 13, 39)]
    assert windows[0] < windows[1] < windows[2]


@pytest.mark.parametrize(("columns", "message"), [
    (([1, "x"], [1, 0], [2, 2]), "frequency must be a number, not 'x'"),
    (([1, 0], [1, 0], [2, float("nan")]), "T must be a number"),
    (([1, -1], [1, 0], [2, 2]), "frequency cannot be negative"),
    (([1.5, 0], [1, 0], [2, 2]), "frequency must be a whole number"),
    (([1, 0], [3, 0], [2, 2]), "recency cannot be greater than T"),
    (([1, 0], [1, 1], [2, 2]), "without repeat purchases must have a recency of 0"),
    (([1, 0], [0, 0], [0, 2]), "must be more than 0"),
    (([0, 0], [0, 0], [2, 2]), "no customer made a repeat purchase"),
    (([1, 0], [1], [2, 2]), "same length"),
    (([], [], []), "no customers"),
])
def test_data_that_cannot_be_fitted(columns, message):
    with pytest.raises(ForecastError, match=message):
        bgnbd.fit(*columns)


def _draw(n: int, seed: int, r=0.5, alpha=6.0, a=0.8, b=3.0, horizon=52.0):
    """Customers drawn from BG/NBD: purchases one after another, each followed by a chance to drop out."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    frequency, recency, now = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        now = now + rng.exponential(1 / rate)
        buys = alive & (now <= horizon)
        frequency[buys] += 1
        recency[buys] = now[buys]
        alive = buys & (rng.random(n) >= drop)
    return frequency, recency


def test_recovers_parameters_drawn_from_the_model():
    r, alpha, a, b = 0.5, 6.0, 0.8, 3.0
    n, horizon = 50_000, 52.0
    frequency, recency = _draw(n, 7)
    fit = bgnbd.fit(frequency, recency, np.full(n, horizon))
    for name, truth in (("r", r), ("alpha", alpha), ("a", a), ("b", b)):
        assert abs(getattr(fit, name) - truth) <= 4 * fit.standard_errors[name], (name, getattr(fit, name))


def test_a_large_fit_starting_from_a_sample_lands_on_the_full_data_maximum():
    # Above 2 × SAMPLE customers the fit starts from a sample's fit; the answer must be the same
    # maximum as a fit of all of them from the usual start.
    n = 2 * bgnbd.SAMPLE + 1
    frequency, recency = _draw(n, 3)
    age = np.full(n, 52.0)
    staged = bgnbd.fit(frequency, recency, age)
    direct = bgnbd._fit(frequency, recency, age, None, None)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(staged, name) == pytest.approx(getattr(direct, name), rel=1e-4), name
    assert staged.log_likelihood == pytest.approx(direct.log_likelihood, abs=1e-3)


def test_the_analytic_gradient_and_hessian_match_finite_differences(cdnow):
    # The fit takes Newton steps with them and reads the standard errors off the Hessian: both
    # must be the derivatives of the log-likelihood, checked by central differences away from
    # the maximum (where the gradient is not zero).
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    counts = np.bincount(x.astype(np.int64))
    distinct = np.flatnonzero(counts).astype(float)
    repeat = x > 0
    loglik = bgnbd._loglik(float(len(x)), distinct, counts[counts > 0].astype(float), x[repeat], t_x[repeat], T[repeat], T[~repeat])
    params = np.array([0.4, 3.0, 1.2, 1.8])
    _, grad, hess = loglik(params)
    assert np.all(np.abs(grad) > 1)
    for i in range(4):
        h = 1e-6 * params[i]
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        (v_up, g_up, _), (v_down, g_down, _) = loglik(up), loglik(down)
        assert grad[i] == pytest.approx((v_up - v_down) / (2 * h), rel=1e-5), i
        np.testing.assert_allclose(hess[i], (g_up - g_down) / (2 * h), rtol=1e-5, atol=1e-6 * np.abs(hess).max())


def test_customers_with_the_same_history_are_fitted_once_with_their_count(cdnow):
    # CDNOW's summary repeats itself (1,411 customers without repeat purchases, ages in weeks):
    # the grouped fit is the same maximum as one row per customer.
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    grouped = bgnbd._grouped(x, t_x, T)
    assert len(grouped[0]) < len(x) and grouped[3].sum() == len(x)
    assert np.all(grouped[3] >= 1)
    one_each = bgnbd._fit(x, t_x, T, None, None)
    weighted = bgnbd._fit(*grouped, None)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(weighted, name) == pytest.approx(getattr(one_each, name), rel=1e-6), name
        assert weighted.standard_errors[name] == pytest.approx(one_each.standard_errors[name], rel=1e-4), name
    assert weighted.log_likelihood == pytest.approx(one_each.log_likelihood, abs=1e-6)


def test_whole_ages_are_grouped_by_one_integer_key_to_the_same_rows():
    # Summaries in whole days take the counting shortcut; it must give the rows and counts sorting does.
    rng = np.random.default_rng(5)
    T = rng.integers(1, 60, 5000).astype(float)
    t_x = np.floor(T * rng.random(5000))
    x = np.where(t_x > 0, rng.integers(1, 6, 5000), 0).astype(float)
    fast = bgnbd._grouped(x, t_x, T)
    assert len(fast[0]) < len(x)
    sorted_rows = bgnbd._grouped(x, t_x + 0.5, T + 0.5)  # not whole: sorted instead
    assert len(fast[0]) == len(sorted_rows[0]) and fast[3].sum() == len(x)
    rows = {(a, b, c): w for a, b, c, w in zip(*fast)}
    assert rows == {(a, b - 0.5, c - 0.5): w for a, b, c, w in zip(*sorted_rows)}

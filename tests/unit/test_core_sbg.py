"""The shifted-beta-geometric retention model (assina.core.forecasting.sbg) against Fader &
Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1), 76-90:
Table 1's two segments, fitted on years 0-7 as the paper does (α, β to within 0.5 % of the
published 0.704, 1.182 and 0.668, 3.806; log-likelihoods −1680.3 and −1611.2), and the
forecast of the held-out years 8-12."""

import numpy as np
import pytest
from forecast_support import HIGH_END, REGULAR, within
from hypothesis import example, given, settings
from hypothesis import strategies as st

from assina.core.forecasting import sbg
from assina.core.forecasting.errors import ForecastError


@pytest.mark.parametrize(("counts", "alpha", "beta", "loglik"), [
    (REGULAR, 0.704, 1.182, -1680.3),
    (HIGH_END, 0.668, 3.806, -1611.2),
])
def test_published_fit_of_years_zero_to_seven(counts, alpha, beta, loglik):
    fit = sbg.fit(counts[:8])
    assert within(fit.alpha, alpha) and within(fit.beta, beta), (fit.alpha, fit.beta)
    assert fit.log_likelihood == pytest.approx(loglik, abs=0.05)
    assert fit.converged and fit.customers == 1000
    assert all(se is not None and 0 < se < value for se, value in zip(fit.standard_errors, (fit.alpha, fit.beta)))


@pytest.mark.parametrize(("counts", "alpha", "beta", "worst"), [
    # The bound on how far the projection of years 8-12 from years 0-7 lands from what happened,
    # in customers of the 1,000, as measured here: 3.1 (regular) and 16.0 (high end) at year 12.
    (REGULAR, 0.704, 1.182, 3.5),
    (HIGH_END, 0.668, 3.806, 16.5),
])
def test_held_out_years_are_forecast_as_the_paper_does(counts, alpha, beta, worst):
    fit = sbg.fit(counts[:8])
    projected = np.array(sbg.project(fit, 1000, 12)["survivors"])
    # The same curve as the published parameters draw ...
    published = 1000 * sbg.survival(alpha, beta, np.arange(13))
    np.testing.assert_allclose(projected, published, rtol=0.005)
    # ... so the paper's own forecast, with its accuracy on the held-out actuals (slightly under both).
    error = projected[8:] - np.array(counts[8:])
    assert np.all(error < 0) and np.max(np.abs(error)) <= worst, error


def test_survival_and_retention_rates_agree_with_the_recursion():
    alpha, beta = 0.704, 1.182
    t = np.arange(1, 30)
    rates = sbg.retention_rates(alpha, beta, t)
    np.testing.assert_allclose(np.cumprod(rates), sbg.survival(alpha, beta, t), rtol=1e-12)
    assert sbg.retention_rates(alpha, beta, 1) == pytest.approx(beta / (alpha + beta))
    assert np.all(np.diff(rates) > 0)  # the cohort's retention rises as the likely leavers go


def _derl_by_summation(alpha, beta, n, d, terms=200_000):
    k = np.arange(terms)
    ratio = np.exp(sbg.betaln(alpha, beta + n + 1 + k) - sbg.betaln(alpha, beta + n))
    return float(np.sum(ratio * np.exp(-k * np.log1p(d))))


@pytest.mark.parametrize("n", [0, 1, 4, 11])
@pytest.mark.parametrize("d", [0.1, 0.01])
def test_derl_is_the_discounted_sum_of_survival(n, d):
    alpha, beta = 0.668, 3.806
    assert sbg.derl(alpha, beta, n, d) == pytest.approx(_derl_by_summation(alpha, beta, n, d), rel=1e-9)
    # A customer who has stayed longer is worth more (they are more likely the loyal kind).
    assert sbg.derl(alpha, beta, n + 1, d) > sbg.derl(alpha, beta, n, d)


def test_del_of_a_new_customer_and_the_undiscounted_lifetime():
    alpha, beta = 1.5, 2.0
    k = np.arange(100_000)
    assert sbg.discounted_expected_lifetime(alpha, beta, 0.1) == pytest.approx(
        float(np.sum(sbg.survival(alpha, beta, k) * np.exp(-k * np.log(1.1)))), rel=1e-9)
    # Undiscounted: (β + n) / (α − 1) further renewals; infinite when α <= 1.
    assert sbg.derl(alpha, beta, 3, 0.0) == pytest.approx(5.0 / 0.5)
    assert sbg.discounted_expected_lifetime(alpha, beta, 0.0) == pytest.approx((alpha + beta - 1) / (alpha - 1))
    assert np.isinf(sbg.expected_residual_lifetime(0.704, 1.182, 0))


def test_half_life():
    alpha, beta = 0.704, 1.182
    half = sbg.half_life(alpha, beta, [0, 5])
    for n, k in zip((0, 5), half):
        ratio = sbg.survival(alpha, beta, n + np.array([k - 1, k])) / sbg.survival(alpha, beta, n)
        assert ratio[0] > 0.5 >= ratio[1]


@pytest.mark.parametrize(("counts", "message"), [
    ([1000, 800], "at least two periods"),
    ([1000, 800, "many"], "whole numbers"),
    ([1000, -5, 3], "whole numbers"),
    ([1000, 800.5, 700], "whole numbers"),
    ([1000, 800, 900], "cannot grow: period 2"),
    ([0, 0, 0], "at least one customer"),
    ([500, 500, 500, 500], "nobody left"),
    ([500, 0, 0], "everybody left in the first period"),
])
def test_data_that_cannot_be_fitted(counts, message):
    with pytest.raises(ForecastError, match=message):
        sbg.fit(counts)


def test_discount_rate_is_checked():
    with pytest.raises(ForecastError, match="discount rate"):
        sbg.derl(1.0, 1.0, 0, -0.1)


def test_censored_customers_give_the_same_fit_as_the_cohort_counts():
    counts = np.array(REGULAR[:8])
    lost = np.r_[0, -np.diff(counts)]
    alive = np.zeros(8)
    alive[-1] = counts[-1]
    a, b = sbg.fit(counts), sbg.fit_censored(lost, alive)
    assert (a.alpha, a.beta) == pytest.approx((b.alpha, b.beta), rel=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.3, 5), st.floats(0.3, 8), st.integers(0, 2**31))
@example(4.25390625, 6.3046875, 6390024)  # BFGS's first line search failed here ("precision loss")
def test_recovers_drawn_parameters(alpha, beta, seed):
    # 20,000 customers drawn from the model, observed for 8 periods: the fit lands near the truth.
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, 20_000)
    lifetime = rng.geometric(theta)
    counts = [int((lifetime > t).sum()) for t in range(9)]
    fit = sbg.fit(counts)
    truth = sbg.survival(alpha, beta, np.arange(9))
    np.testing.assert_allclose(fit.survival(np.arange(9)), truth, atol=0.02)

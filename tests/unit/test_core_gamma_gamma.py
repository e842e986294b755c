"""The Gamma-Gamma order value model and the CLV built on it, against Fader & Hardie (2013),
"The Gamma-Gamma model of monetary value" (and Fader, Hardie & Lee 2005, JMR 42(4)): the 946
repeat customers of the CDNOW sample (the summary shipped in ``lifetimes``), p, q, v to within
0.5 % of the published 6.25, 3.74, 15.44."""

import numpy as np
import pytest
from forecast_support import cdnow_summary, within

from assina.core.forecasting import bgnbd, clv, gamma_gamma
from assina.core.forecasting.errors import ForecastError


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow):
    return gamma_gamma.fit(cdnow["frequency"], cdnow["monetary_value"])


def test_published_parameters(fitted):
    assert within(fitted.p, 6.25) and within(fitted.q, 3.74) and within(fitted.v, 15.44), fitted.as_dict()
    assert fitted.customers == 946 and fitted.converged
    assert all(0 < se < getattr(fitted, k) for k, se in fitted.standard_errors.items())


def test_expected_order_value(fitted, cdnow):
    # The population's mean order, v p / (q − 1): 15.44 × 6.25 / 2.74 = 35.2 US$ with the published parameters.
    assert fitted.population_mean == pytest.approx(35.2, abs=0.1)
    # A customer with one repeat order of $10 is pulled towards it, one with ten orders stays near their own.
    one, ten = fitted.expected_order_value([1, 10], [10.0, 10.0])
    assert 10 < ten < one < fitted.population_mean
    assert fitted.expected_order_value(0, 0) == pytest.approx(fitted.population_mean)


def test_clv_is_the_discounted_purchases_times_the_order_value(fitted, cdnow):
    purchases = bgnbd.fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    args = (cdnow["frequency"], cdnow["recency"], cdnow["T"], cdnow["monetary_value"])
    value = clv.customer_lifetime_value(purchases, fitted, *args, horizon=12, discount_rate=0.01, period=4.345)
    # By hand for customer 1 (x = 2, t_x = 30.43, T = 38.86): month by month.
    x, t_x, T, m = 2, 30.43, 38.86, cdnow["monetary_value"][0]
    upto = [purchases.expected_purchases(i * 4.345, x, t_x, T) for i in range(13)]
    by_hand = sum((upto[i] - upto[i - 1]) / 1.01 ** i for i in range(1, 13)) * fitted.expected_order_value(x, m)
    assert value[0] == pytest.approx(by_hand, rel=1e-12)
    no_discount = clv.customer_lifetime_value(purchases, fitted, *args, horizon=12, discount_rate=0.0, period=4.345)
    assert np.all(no_discount >= value) and np.all(value > 0)


@pytest.mark.parametrize(("columns", "message"), [
    (([1, 2], [10.0, 0.0]), "monetary value of a customer with repeat purchases must be more than 0"),
    (([1, 2], [10.0, "?"]), "monetary_value must be a number, not '\\?'"),
    (([1, 0], [10.0, 0.0]), "at least two customers with repeat purchases"),
    (([1, 2, 3], [10.0, 10.0, 10.0]), "vary too little"),
])
def test_data_that_cannot_be_fitted(columns, message):
    with pytest.raises(ForecastError, match=message):
        gamma_gamma.fit(*columns)


@pytest.mark.parametrize(("horizon", "rate", "message"), [(0, 0.01, "horizon"), (12, 1.5, "discount rate")])
def test_clv_arguments(fitted, cdnow, horizon, rate, message):
    purchases = bgnbd.BgNbdFit(0.243, 4.414, 0.793, 2.426, 0.0, {}, True)
    with pytest.raises(ForecastError, match=message):
        clv.customer_lifetime_value(purchases, fitted, [1], [1], [2], [10], horizon=horizon, discount_rate=rate)


def test_the_analytic_gradient_and_hessian_match_finite_differences(cdnow, monkeypatch):
    # The Newton steps and the standard errors read them: central differences of the
    # log-likelihood the fit maximises, away from its maximum.
    seen = {}
    newton = gamma_gamma.newton

    def keep(names, loglik, start):
        seen["loglik"] = loglik
        return newton(names, loglik, start)

    monkeypatch.setattr(gamma_gamma, "newton", keep)
    gamma_gamma.fit(cdnow["frequency"], cdnow["monetary_value"])
    params = np.array([3.0, 2.5, 10.0])
    _, grad, hess = seen["loglik"](params)
    assert np.all(np.abs(grad) > 1)
    for i in range(3):
        h = 1e-6 * params[i]
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        (v_up, g_up, _), (v_down, g_down, _) = seen["loglik"](up), seen["loglik"](down)
        assert grad[i] == pytest.approx((v_up - v_down) / (2 * h), rel=1e-5), i
        np.testing.assert_allclose(hess[i], (g_up - g_down) / (2 * h), rtol=1e-5, atol=1e-6 * np.abs(hess).max())

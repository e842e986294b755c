"""Customer lifetime value from the purchase and order value models: the expected purchases in
each of the next ``horizon`` periods × the expected order value, discounted per period.

  CLV = Σ_{i=1..horizon} (E[X(i·L)] − E[X((i−1)·L)]) · E[M] / (1 + d)^i

where L is the length of one period in the data's time unit (L = 4.345 makes monthly periods of
data counted in weeks) and d the discount rate per period: the sum ``lifetimes`` computes, in
one pass over all customers per period.
"""

from __future__ import annotations

import numpy as np

from . import bgnbd
from .errors import ForecastError
from .gamma_gamma import GammaGammaFit

MAX_HORIZON = 1200


def check_horizon(horizon: int, discount_rate: float) -> None:
    if not (isinstance(horizon, (int, np.integer)) and 1 <= horizon <= MAX_HORIZON):
        raise ForecastError("the horizon must be from 1 to %(maximum)s periods", maximum=MAX_HORIZON)
    if not (isinstance(discount_rate, (int, float)) and np.isfinite(discount_rate) and 0 <= discount_rate <= 1):
        raise ForecastError("the discount rate must be from 0 to 1")


def customer_lifetime_value(purchases: bgnbd.BgNbdFit, values: GammaGammaFit, frequency, recency, T, monetary_value,
                            *, horizon: int = 12, discount_rate: float = 0.01, period: float = 1.0) -> np.ndarray:
    check_horizon(horizon, discount_rate)
    order_value = values.expected_order_value(frequency, monetary_value)
    total = np.zeros(len(np.asarray(frequency)))
    before = np.zeros_like(total)
    for i in range(1, horizon + 1):
        upto = bgnbd.expected_purchases(purchases, i * period, frequency, recency, T)
        total += (upto - before) / (1.0 + discount_rate) ** i
        before = upto
    return total * order_value

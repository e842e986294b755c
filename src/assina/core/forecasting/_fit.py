"""What the three fits share: minimise a negative log-likelihood over log-parameters with its
analytic gradient, then the standard errors from the Hessian of the log-likelihood."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import minimize

# Parameters are searched in log space within these bounds (e^-12 .. e^12): far outside any
# real business's values, and finite, so a fit that wanders off is caught instead of overflowing.
LOG_BOUND = 12.0


@dataclass(frozen=True)
class Fit:
    names: tuple[str, ...]
    params: np.ndarray
    log_likelihood: float
    standard_errors: np.ndarray  # NaN where the Hessian is not negative definite
    converged: bool

    def as_dict(self) -> dict:
        out = {name: float(value) for name, value in zip(self.names, self.params)}
        out["log_likelihood"] = float(self.log_likelihood)
        out["standard_errors"] = {name: (None if np.isnan(se) else float(se)) for name, se in zip(self.names, self.standard_errors)}
        return out


def maximise(names: tuple[str, ...], loglik_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
             start: np.ndarray) -> Fit:
    """Maximum likelihood: ``loglik_and_grad(params)`` -> (log-likelihood, its gradient)."""

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value, grad = loglik_and_grad(params)
        if not np.isfinite(value):
            return 1e300, np.zeros_like(log_params)
        return -value, -grad * params  # chain rule: d/dlog p = p · d/dp

    def bounded(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        # Outside the bounds: a wall the line search backs away from.
        if np.any(np.abs(log_params) > LOG_BOUND):
            return 1e300, np.zeros_like(log_params)
        return objective(log_params)

    # BFGS (SciPy's, in Python): a few dozen steps of cheap bookkeeping; L-BFGS-B's compiled
    # step costs more than a whole small fit (sBG on 60 periods).
    result = minimize(bounded, np.log(start), jac=True, method="BFGS", options={"maxiter": 1000, "gtol": 1e-7})
    params = np.exp(result.x)
    at_bound = bool(np.any(np.abs(result.x) > LOG_BOUND - 1e-3))
    value, grad = loglik_and_grad(params)
    # L-BFGS-B may stop on a line search at the optimum already: judge by the gradient itself.
    flat = bool(np.all(np.abs(grad * params) <= 1e-4 * max(1.0, abs(value))))
    return Fit(names, params, float(value), standard_errors(loglik_and_grad, params), (bool(result.success) or flat) and not at_bound)


def standard_errors(loglik_and_grad, params: np.ndarray) -> np.ndarray:
    """sqrt(diag(inverse of the observed information)), the Hessian by central differences of
    the analytic gradient (symmetrised)."""
    k = len(params)
    hessian = np.empty((k, k))
    for i in range(k):
        h = 1e-5 * max(abs(params[i]), 1e-8)
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        hessian[i] = (loglik_and_grad(up)[1] - loglik_and_grad(down)[1]) / (2 * h)
    hessian = (hessian + hessian.T) / 2
    try:
        covariance = np.linalg.inv(-hessian)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    variances = np.diag(covariance)
    return np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)

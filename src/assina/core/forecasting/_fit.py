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


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a·b over customers without BLAS: NumPy's ``@`` hands long vectors to OpenBLAS, whose
    threads spin against other work on a shared machine (6 ms instead of 0.6 ms for 500,000
    customers on 2 busy cores); einsum's own loop takes one core."""
    return float(np.einsum("i,i->", a, b))


# Above twice this many customers a fit starts from the fit of a sample of this size: the full
# data then needs a couple of Newton steps (the answer is still the full data's maximum).
SAMPLE = 100_000
# Newton stops once its next step is below this in every log-parameter (see ``newton``).
FINAL_STEP = 1e-4


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
    # BFGS can stop on a failed line search far from the maximum (its first step from a poor start
    # overshoots, "precision loss"): started again from where it stopped, with a fresh curvature
    # estimate, it goes on. At most a few times, and only while it still gains.
    for _ in range(5):
        if result.success:
            break
        again = minimize(bounded, result.x, jac=True, method="BFGS", options={"maxiter": 1000, "gtol": 1e-7})
        if not again.fun < result.fun:
            break
        result = again
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


def newton(names: tuple[str, ...], loglik_grad_hess: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]],
           start: np.ndarray, *, max_steps: int = 100) -> Fit:
    """Maximum likelihood by Newton's method on the log of the parameters, damped (Levenberg-
    Marquardt) while the log-likelihood is not concave there: ``loglik_grad_hess(params)`` ->
    (log-likelihood, gradient, Hessian) in one pass over the data, so each step costs one pass
    (BFGS needs a few dozen, each with its line search). Near the maximum the steps converge
    quadratically: two or three passes from a good start. The standard errors come from the
    analytic Hessian at the maximum, with no further pass. Falls back to BFGS (``maximise``)
    if Newton gets nowhere."""

    def in_logs(theta: np.ndarray):
        params = np.exp(theta)
        value, grad, hess = loglik_grad_hess(params)
        if not (np.isfinite(value) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
            return params, -np.inf, grad, hess, None, None
        # Chain rule for θ = log p: g_θ = p g, H_θ = diag(p) H diag(p) + diag(p g).
        g_theta = params * grad
        h_theta = params[:, None] * hess * params[None, :] + np.diag(g_theta)
        return params, value, grad, hess, g_theta, h_theta

    theta = np.log(np.asarray(start, dtype=np.float64))
    current = in_logs(theta)
    damping = 0.0
    converged = False
    for _ in range(max_steps):
        params, value, grad, hess, g_theta, h_theta = current
        if not np.isfinite(value):
            break
        curvature = -h_theta
        scale = float(np.max(np.abs(np.diag(curvature)))) or 1.0
        try:
            chol = np.linalg.cholesky(curvature + damping * scale * np.eye(len(theta)))
        except np.linalg.LinAlgError:
            damping = max(10.0 * damping, 1e-4)
            continue
        step = np.linalg.solve(chol.T, np.linalg.solve(chol, g_theta))
        decrement = float(g_theta @ step)  # twice the gain still to come (quadratic model)
        if damping == 0.0 and float(np.max(np.abs(step))) <= FINAL_STEP:
            # The last step is taken without another pass over the data: from here Newton's
            # error is of the order of the step squared (≤ 1e-8 relative in every parameter);
            # the log-likelihood there is the quadratic model's, the Hessian (for the standard
            # errors) the one just computed, 1e-4 away.
            theta = theta + step
            current = (np.exp(theta), value + decrement / 2, grad, hess, g_theta, h_theta)
            converged = True
            break
        # At most a factor e^3 per parameter and step: a far start cannot jump out of range.
        step *= min(1.0, 3.0 / max(float(np.max(np.abs(step))), 1e-300))
        trial_theta = theta + step
        if np.any(np.abs(trial_theta) > LOG_BOUND):
            damping = max(10.0 * damping, 1e-4)
            continue
        trial = in_logs(trial_theta)
        if np.isfinite(trial[1]) and trial[1] >= value - 1e-12 * max(1.0, abs(value)):
            theta, current = trial_theta, trial
            damping = 0.0 if damping <= 1e-4 else damping / 10.0
        else:
            damping = max(10.0 * damping, 1e-4)
            if damping > 1e8:
                break
    if not converged:
        return maximise(names, lambda p: loglik_grad_hess(p)[:2], np.exp(theta) if np.isfinite(current[1]) else start)
    params, value, grad, hess = current[:4]
    at_bound = bool(np.any(np.abs(theta) > LOG_BOUND - 1e-3))
    return Fit(names, params, float(value), _errors_from(hess), not at_bound)


def _errors_from(hessian: np.ndarray) -> np.ndarray:
    hessian = (hessian + hessian.T) / 2
    try:
        covariance = np.linalg.inv(-hessian)
    except np.linalg.LinAlgError:
        return np.full(len(hessian), np.nan)
    variances = np.diag(covariance)
    return np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)

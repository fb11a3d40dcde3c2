"""A small Gaussian-process regressor for the surrogate proposals (``surrogate_share``), pure numpy.

Exact GP regression (Rasmussen and Williams, *Gaussian Processes for Machine Learning*, MIT Press
2006): a squared-exponential kernel with one length scale per input (automatic relevance
determination, eq. 5.2), a signal variance and a noise variance, on targets standardised to mean 0
and variance 1. The hyperparameters maximise the log marginal likelihood (eq. 5.8) with its
analytic gradient (eq. 5.9) by L-BFGS-B (scipy), inside bounds that keep the fit well conditioned.
Inputs are grid-level positions scaled to [0, 1] per axis (:mod:`archsweep.search.surrogate`).

Cost: a fit is O(n^3) per likelihood evaluation (n <= a few thousand trials); a prediction of m
points O(m n). Optuna's own ``GPSampler`` does the same with PyTorch, which archsweep does not depend on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

__all__ = ["GaussianProcess", "fit_gp", "grid_mean"]

#: Bounds of log length scale (inputs in [0, 1]), log signal variance and log noise variance
#: (targets standardised): a length scale below 0.05 would fit every level on its own, above 20 is flat.
_LOG_LENGTH = (np.log(0.05), np.log(20.0))
_LOG_SIGNAL = (np.log(0.05), np.log(20.0))
_LOG_NOISE = (np.log(1e-6), np.log(0.1))


def _sq_dist(a: np.ndarray, b: np.ndarray, inv_length: np.ndarray) -> np.ndarray:
    a, b = a * inv_length, b * inv_length
    d = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


@dataclass(frozen=True)
class GaussianProcess:
    """A fitted GP: training inputs, the Cholesky factor's solve of the targets, hyperparameters."""

    x: np.ndarray
    alpha: np.ndarray
    chol: tuple[np.ndarray, bool]
    theta: np.ndarray  # log length scales (d), log signal variance, log noise variance
    mean: float
    scale: float

    def predict(self, xq: np.ndarray, std: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (of the latent function) at ``xq`` (m, d), in target
        units. ``std`` False skips the O(m n^2) variance (returns zeros): the mean alone is O(m n)."""
        d = self.x.shape[1]
        inv_length, signal = np.exp(-self.theta[:d]), np.exp(self.theta[d])
        k = signal * np.exp(-0.5 * _sq_dist(np.asarray(xq, dtype=np.float64), self.x, inv_length))
        mu = k @ self.alpha
        if not std:
            return self.mean + self.scale * mu, np.zeros(len(mu))
        v = cho_solve(self.chol, k.T)
        var = np.maximum(signal - (k * v.T).sum(axis=1), 1e-12)
        return self.mean + self.scale * mu, self.scale * np.sqrt(var)


def _neg_log_likelihood(theta: np.ndarray, y: np.ndarray, diffs: np.ndarray) -> tuple[float, np.ndarray]:
    """(negative log marginal likelihood, its gradient in ``theta``) of targets ``y`` (n,) for the squared
    differences ``diffs`` (d, n, n) of the inputs; ``theta`` = (log length scales (d), log signal, log noise)."""
    d = diffs.shape[0]
    inv_length, signal, noise = np.exp(-theta[:d]), np.exp(theta[d]), np.exp(theta[d + 1])
    scaled = diffs * (inv_length ** 2)[:, None, None]  # (d, n, n) squared differences / l^2
    kernel = signal * np.exp(-0.5 * scaled.sum(axis=0))
    matrix = kernel + noise * np.eye(len(y))
    try:
        chol = cho_factor(matrix, lower=True)
    except np.linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    alpha = cho_solve(chol, y)
    nll = 0.5 * y @ alpha + np.log(np.diag(chol[0])).sum() + 0.5 * len(y) * np.log(2 * np.pi)
    inner = np.outer(alpha, alpha) - cho_solve(chol, np.eye(len(y)))
    grad = np.empty_like(theta)
    weighted = inner * kernel
    for j in range(d):  # dK/dlog(l_j) = K * (x_i - x_j)^2 / l_j^2
        grad[j] = -0.5 * (weighted * scaled[j]).sum()
    grad[d] = -0.5 * weighted.sum()  # dK/dlog(s^2) = K
    grad[d + 1] = -0.5 * noise * np.trace(inner)  # dK/dlog(noise) = noise I
    return float(nll), grad


def fit_gp(x: np.ndarray, y: np.ndarray, theta: np.ndarray | None = None, optimise: bool = True) -> GaussianProcess:
    """GP on inputs ``x`` (n, d) in [0, 1] and finite targets ``y`` (n,). ``theta``: starting (or,
    with ``optimise`` False, fixed) hyperparameters; default length scales 0.5, signal 1, noise 1e-4."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(y) or len(y) < 2:
        raise ValueError(f"x, y: got shapes {x.shape}, {y.shape}; allowed: (n, d) and (n,) with n >= 2")
    mean, scale = float(y.mean()), float(y.std()) or 1.0
    target = (y - mean) / scale
    d = x.shape[1]
    start = np.concatenate([np.full(d, np.log(0.5)), [0.0, np.log(1e-4)]]) if theta is None else np.asarray(theta)
    bounds = [_LOG_LENGTH] * d + [_LOG_SIGNAL, _LOG_NOISE]
    start = np.clip(start, [b[0] for b in bounds], [b[1] for b in bounds])
    if optimise:
        diffs = (x.T[:, :, None] - x.T[:, None, :]) ** 2
        result = minimize(_neg_log_likelihood, start, args=(target, diffs), jac=True, method="L-BFGS-B",
                          bounds=bounds, options={"maxiter": 40})
        start = result.x if np.all(np.isfinite(result.x)) else start
    inv_length, signal, noise = np.exp(-start[:d]), np.exp(start[d]), np.exp(start[d + 1])
    matrix = signal * np.exp(-0.5 * _sq_dist(x, x, inv_length)) + noise * np.eye(len(y))
    jitter = 0.0
    while True:
        try:
            chol = cho_factor(matrix + jitter * np.eye(len(y)), lower=True)
            break
        except np.linalg.LinAlgError:
            jitter = max(1e-8, 10 * jitter)
    return GaussianProcess(x, cho_solve(chol, target), chol, start, mean, scale)


def grid_mean(gp: GaussianProcess, sizes: tuple[int, ...]) -> np.ndarray:
    """Posterior mean at every point of the grid of ``sizes`` levels per input (level k of an axis of m
    at k / (m - 1), as :class:`~archsweep.search.surrogate.SurrogateSampler` scales them), flat in C
    order. The squared-exponential ARD kernel is a product over inputs, so the kernel row of a grid
    point is the product of one per-axis table (levels x trials) per input: the contraction over the
    trials costs O(grid x n) multiplications instead of O(grid x n x d) plus as many exponentials."""
    d = len(sizes)
    if d != gp.x.shape[1]:
        raise ValueError(f"sizes: got {len(sizes)} axes for a GP of {gp.x.shape[1]} inputs; allowed: one per input")
    inv_length, signal = np.exp(-gp.theta[:d]), np.exp(gp.theta[d])
    tables = [np.exp(-0.5 * (((np.arange(m) / max(m - 1, 1))[:, None] - gp.x[:, a][None, :]) * inv_length[a]) ** 2)
              for a, m in enumerate(sizes)]
    order = sorted(range(d), key=lambda a: sizes[a])  # the largest axis last: the smallest intermediate
    acc = tables[order[0]] * (signal * gp.alpha)[None, :]
    for a in order[1:-1]:
        acc = (acc[:, None, :] * tables[a][None, :, :]).reshape(-1, acc.shape[1])
    out = (acc @ tables[order[-1]].T) if d > 1 else acc.sum(axis=1)
    out = out.reshape([sizes[a] for a in order]).transpose(np.argsort(order)).ravel()
    return gp.mean + gp.scale * out

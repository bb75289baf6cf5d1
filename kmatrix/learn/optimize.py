"""The two optimizers behind :func:`~kmatrix.learn.fit`: L-BFGS (SciPy) and Adam.

Both minimize ``L(theta) = ||K(theta) X - Y||_F^2 / (2 ||Y||_F^2)`` for one
parametrization, with the gradient from one fused forward/backward kernel pass.
"""

from __future__ import annotations

__all__ = ["Objective", "run_lbfgs", "run_adam"]

from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from ..backends.cpu.vjp import twiddle_vjp


class Objective:
    """Loss and gradient of one parametrization on data ``(X, Y)`` of dtype ``compute``."""

    def __init__(self, param: Any, X: npt.NDArray, Y: npt.NDArray) -> None:
        self.param = param
        self.compute = X.dtype
        self.X = X
        self.Y = Y
        self.y2 = float(np.vdot(Y, Y).real)

    def __call__(
        self,
        theta: npt.NDArray[np.float64],
        X: npt.NDArray | None = None,
        Y: npt.NDArray | None = None,
        y2: float | None = None,
    ) -> tuple[float, npt.NDArray[np.float64]]:
        X = self.X if X is None else X
        Y = self.Y if Y is None else Y
        y2 = self.y2 if y2 is None else y2
        # A diverging iterate gives inf/NaN here; the fit stops on it and keeps its best.
        with np.errstate(over="ignore", invalid="ignore"):
            tw = np.asarray(self.param.twiddle(theta), dtype=self.compute)
            _, dtw, sq = twiddle_vjp(tw, X, Y, residual=True, scale=1.0 / y2)
            return 0.5 * sq / y2, self.param.pullback(theta, dtw)

    def rel_error(self, theta: npt.NDArray[np.float64]) -> float:
        return float(np.sqrt(2 * self(theta)[0]))


def run_lbfgs(
    obj: Callable[[npt.NDArray[np.float64]], tuple[float, npt.NDArray[np.float64]]],
    theta: npt.NDArray[np.float64],
    max_iter: int,
    after_iteration: Callable[[int, npt.NDArray[np.float64], float], bool],
    memory: int = 20,
) -> tuple[npt.NDArray[np.float64], int, str]:
    """L-BFGS-B via ``scipy.optimize.minimize(jac=True)``, keeping ``memory``
    correction pairs.

    ``after_iteration(k, theta, rel_error)`` is called after iteration ``k`` and stops
    the run by returning True. Returns ``(theta, iterations, message)``.
    """
    count = [0]
    stopped = [False]

    def cb(intermediate_result):
        count[0] += 1
        rel = float(np.sqrt(2 * max(intermediate_result.fun, 0.0)))
        if after_iteration(count[0], intermediate_result.x, rel):
            stopped[0] = True
            raise StopIteration

    # ftol/gtol at zero: SciPy's tests are absolute for losses below 1 and would end a
    # fit long before tol; the stopping rules are tol, max_iter and a failed line search.
    from scipy.optimize import minimize  # lazy: costs ~0.3 s at import

    res = minimize(
        obj,
        theta,
        jac=True,
        method="L-BFGS-B",
        callback=cb,
        options=dict(
            maxiter=max_iter, maxfun=max(15000, 20 * max_iter), ftol=0.0, gtol=0.0, maxcor=memory
        ),
    )
    return res.x, count[0], ("stopped" if stopped[0] else f"L-BFGS-B: {res.message}")


def run_adam(
    obj: Objective,
    theta: npt.NDArray[np.float64],
    max_iter: int,
    after_iteration: Callable[[int, npt.NDArray[np.float64], float], bool],
    *,
    lr: float,
    batch_size: int | None,
    rng: np.random.Generator,
    tol: float,
) -> tuple[npt.NDArray[np.float64], int, str]:
    """Adam (Kingma & Ba) with bias correction; optional column mini-batches.

    With mini-batches the rel_error passed on is the batch's; the full-data error is
    checked before declaring convergence. Returns ``(theta, iterations, message)``.
    """
    b1, b2, eps = 0.9, 0.999, 1e-8
    mom = np.zeros_like(theta)
    vel = np.zeros_like(theta)
    theta = np.array(theta, dtype=np.float64)
    k = obj.X.shape[1]
    minibatch = batch_size is not None and batch_size < k

    def evaluate(th):
        if not minibatch:
            loss, g = obj(th)
            return float(np.sqrt(2 * loss)), g
        idx = rng.choice(k, batch_size, replace=False)
        xb, yb = obj.X[:, idx], obj.Y[:, idx]
        loss, g = obj(th, xb, yb, float(np.vdot(yb, yb).real) or obj.y2)
        rel = float(np.sqrt(2 * loss))
        return (obj.rel_error(th) if rel <= tol else rel), g

    _, g = evaluate(theta)
    for it in range(1, max_iter + 1):
        mom = b1 * mom + (1 - b1) * g
        vel = b2 * vel + (1 - b2) * g * g
        theta -= lr * (mom / (1 - b1**it)) / (np.sqrt(vel / (1 - b2**it)) + eps)
        rel, g = evaluate(theta)
        if after_iteration(it, theta, rel):
            return theta, it, "stopped"
    return theta, max_iter, "Adam: max_iter reached"

"""The optimizer runs ("stages") of one fit, with their shared bookkeeping.

A fit is a sequence of stages (a unitary stage, a real polish, a free polish...),
each one optimizer run of one parametrization to a goal error. :class:`StageRunner`
runs them and keeps what they share: the relative-error history, the iteration
count, the progress line, the user's callback and the reason the last run stopped.
"""

from __future__ import annotations

__all__ = ["StageRunner", "frobenius_norm", "relative_error", "cast_twiddle"]

from typing import Any, Callable, Sequence

import numpy as np
import numpy.typing as npt

from .._checks import cast_finite
from .._operator import KMatrix
from .._scaling import exponent, ldexp
from ._problem import Progress
from .optimize import Objective, run_adam, run_lbfgs


class StageRunner:
    """Runs the stages of one fit (see the module docstring).

    ``operator(p, theta, scale=...)`` builds the K-matrix the user's ``callback``
    sees; ``why`` is the reason the last stage stopped early (None if it ran out of
    iterations or was not stopped), ``done`` the iterations so far.

    Examples
    --------
    >>> import numpy as np
    >>> from kmatrix.learn.optimize import Objective
    >>> from kmatrix.learn.parametrizations import make_parametrization
    >>> from kmatrix.learn._problem import Progress
    >>> p = make_parametrization("free", 2, 2, False)
    >>> run = StageRunner(method="lbfgs", max_iter=50, tol=1e-8, lr=0.01, batch_size=None,
    ...                   rng=np.random.default_rng(0), callback=None,
    ...                   bar=Progress(False, 50, ""), operator=None)
    >>> obj = Objective(p, np.eye(4), np.eye(4)[::-1].copy())
    >>> theta, msg = run(p, obj, p.initial("randn", np.random.default_rng(0)))
    >>> msg.startswith("relative error"), obj.rel_error(theta) <= 1e-8
    (True, True)
    """

    def __init__(
        self,
        *,
        method: str,
        max_iter: int,
        tol: float,
        lr: float,
        batch_size: int | None,
        rng: np.random.Generator,
        callback: Callable[[int, KMatrix, float], Any] | None,
        bar: Progress,
        operator: Callable[..., KMatrix] | None,
    ) -> None:
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.lr = lr
        self.batch_size = batch_size
        self.rng = rng
        self.callback = callback
        self.bar = bar
        self.operator = operator
        self.history: list[float] = []
        self.done = 0
        self.why: str | None = None

    def __call__(
        self,
        p: Any,
        obj: Objective,
        theta: npt.NDArray[np.float64],
        goal: float | None = None,
        scale: float = 1.0,
        stall: Sequence[tuple[int, float]] | None = None,
        memory: int = 20,
    ) -> tuple[npt.NDArray[np.float64], str]:
        """One optimizer run to relative error ``goal`` (default ``tol``); returns the
        final parameters and why the run stopped.

        ``stall=[(k, level), ...]`` abandons the run if it is above ``level`` at
        iteration ``k`` (``why`` then starts with "stalled").
        """
        goal = self.tol if goal is None else goal
        history, callback = self.history, self.callback

        def after_iteration(it, th, rel):
            history.append(rel)
            self.bar.update(self.done + it, rel)
            if not np.isfinite(rel):
                self.why = "stopped: the loss is not finite (the optimizer diverged)"
                return True
            if rel < best[0]:
                best[:] = [rel, np.array(th, copy=True)]
            if callback is not None and callback(
                self.done + it, self.operator(p, th, scale=scale), rel
            ):
                self.why = "stopped by callback"
            elif rel <= goal:
                self.why = f"relative error {rel:.3g} <= tol"
            elif stall is not None and any(it == k and rel > lvl for k, lvl in stall):
                self.why = f"stalled at relative error {rel:.3g} after {it} iterations"
            return self.why is not None

        rel0 = obj.rel_error(theta)
        best = [rel0 if np.isfinite(rel0) else np.inf, np.array(theta, copy=True)]
        history.append(rel0)
        if rel0 <= goal:
            self.why = f"relative error {rel0:.3g} <= tol"
        if self.why is not None or self.max_iter == 0:
            return theta, "max_iter = 0" if self.max_iter == 0 else self.why
        if self.method == "lbfgs":
            theta, its, msg = run_lbfgs(obj, theta, self.max_iter, after_iteration, memory)
        else:
            theta, its, msg = run_adam(
                obj, theta, self.max_iter, after_iteration,
                lr=self.lr, batch_size=self.batch_size, rng=self.rng, tol=self.tol,
            )
        self.done += its
        msg = self.why or msg
        rel = obj.rel_error(theta) if np.all(np.isfinite(theta)) else np.nan
        if not np.isfinite(rel) or (self.batch_size is None and rel > best[0]):
            # A diverged (NaN) or worse final iterate: hand back the best one seen.
            theta = best[1]
            msg += f"; returned the best iterate (relative error {best[0]:.3g})"
        return theta, msg


def frobenius_norm(a: npt.ArrayLike) -> float:
    """Frobenius norm without overflow or underflow of the squares.

    Examples
    --------
    >>> frobenius_norm(np.array([3e200, 4e200]))
    5e+200
    """
    e = exponent(a)
    return float(np.ldexp(np.linalg.norm(ldexp(a, -e)), e))


def relative_error(K: KMatrix, X: npt.NDArray, Y: npt.NDArray) -> float:
    """``||K X - Y|| / ||Y||``, finite whenever the residual is (the squared loss of a
    fit whose operator cannot absorb the data's scale may overflow, this does not).

    Examples
    --------
    >>> import kmatrix as km
    >>> relative_error(km.identity(4), np.eye(4), 2 * np.eye(4))
    0.5
    """
    with np.errstate(over="ignore", invalid="ignore"):
        r = K @ X - Y
    if not np.all(np.isfinite(r)):
        return float("inf")
    return frobenius_norm(r) / frobenius_norm(Y)


def cast_twiddle(tw: npt.NDArray, dtype: npt.DTypeLike) -> npt.NDArray:
    """``tw`` in ``dtype``; ``OverflowError`` if the fitted factors do not fit in it."""
    return cast_finite(tw, dtype, OverflowError,
                       "fit with a wider dtype: the fitted factors")

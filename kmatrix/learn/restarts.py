"""Restarts of :func:`~kmatrix.learn.fit`: several seeds on threads, best kept.

Every restart is an ordinary single fit with its own seed (drawn from the caller's
``rng``); they run on a thread pool (the gradient kernels release the GIL) and a
restart that converges stops the others. With ``permutation="learn"`` each restart
learns a recursive permutation first (:mod:`kmatrix.learn.structure`), rounds it,
and fits ``K`` to the permuted data; the result is ``K @ km.permutation(p)``.
"""

from __future__ import annotations

__all__ = ["run_restarts", "fit_with_learned_permutation", "restarted"]

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from .._layout import internal_size_for, log2_exact
from .._scaling import exponent, ldexp
from .._threads import threads_for
from ._problem import pair_data, target_data
from .checks import positive_float
from .result import FitResult
from .structure import learn_permutation

# A learned-permutation restart whose polishing fit is still above this error after
# this many iterations has a wrong permutation (measured: the DFT of size 64 then
# stalls near 1/sqrt(2) while right ones converge within ~100 iterations) and is
# abandoned, so that the time goes to the other restarts.
ABANDON_ERROR = 1e-2
ABANDON_AFTER = 300
PERMUTATION_ITER = 100


def run_restarts(
    fit_one: Callable[[int, threading.Event], FitResult], restarts: int, rng: Any, tol: float
) -> tuple[FitResult, list[FitResult]]:
    """Run ``fit_one(seed, stop)`` for ``restarts`` seeds; return ``(best, all results)``.

    ``stop`` is a :class:`threading.Event` set as soon as one restart reaches ``tol``;
    ``fit_one`` passes it to its fit through the callback. Results are ordered by
    seed; the best is the one of smallest ``rel_error``.
    """
    seeds = np.random.default_rng(rng).integers(0, 2**63 - 1, size=restarts)
    stop = threading.Event()

    def one(seed):
        res = fit_one(int(seed), stop)
        if res.rel_error <= tol:
            stop.set()
        return res

    workers = max(1, min(restarts, threads_for()))
    if workers == 1:
        results = [one(s) for s in seeds]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, seeds))
    best = min(results, key=lambda r: r.rel_error)
    return best, results


def _stopper(stop, user_callback, abandon):
    def callback(it, K, rel):
        if user_callback is not None and user_callback(it, K, rel):
            return True
        if abandon and it >= ABANDON_AFTER and rel > ABANDON_ERROR:
            return True
        return stop.is_set()

    return callback


def fit_with_learned_permutation(
    fit: Callable[..., FitResult],
    target: Any,
    X: Any,
    Y: Any,
    seed: int,
    stop: threading.Event,
    kwargs: dict[str, Any],
) -> FitResult:
    """One restart of ``fit(..., permutation="learn")`` (see the module docstring).

    ``fit`` is :func:`kmatrix.fit` itself (passed in: this module is imported by it).
    """
    from ..constructors.permutation import permutation

    rng = np.random.default_rng(seed)
    if target is not None:
        Xd, Yd, data_dtype = target_data(target, kwargs.get("probes"), rng)
    else:
        Xd, Yd, data_dtype = pair_data(X, Y)
    rows, cols = Yd.shape[0], Xd.shape[0]
    n = internal_size_for(rows, cols, kwargs.get("expansion", 1))
    if n != cols:
        raise ValueError(
            "permutation='learn' needs cols to be a power of two (the permutation acts "
            f"on the input coordinates); got cols = {cols}"
        )
    Xc = np.asarray(Xd, dtype=np.complex128)
    Yc = np.asarray(Yd, dtype=np.complex128)
    if not np.any(Yc):
        raise ValueError("the target data Y is zero: the relative error is undefined")
    # The permutation stage only chooses p: run it on data brought to unit magnitude by
    # powers of two (exact), so that tiny or huge data neither underflow nor overflow.
    Xc, Yc = ldexp(Xc, -exponent(Xc)), ldexp(Yc, -exponent(Yc))
    hist = []

    def after(it, theta, rel):
        hist.append(rel)
        return stop.is_set()

    p, _, its, msg = learn_permutation(
        Xc, Yc, width=1, m=log2_exact(n), init="ortho", rng=rng,
        max_iter=PERMUTATION_ITER, after_iteration=after,
    )
    inner = dict(kwargs)
    inner.pop("probes", None)
    inner["callback"] = _stopper(stop, kwargs.get("callback"), abandon=True)
    inner.setdefault("init", "ortho")
    if inner.get("dtype") is None:  # the target's dtype, not that of the permuted copy
        inner["dtype"] = data_dtype
    res = fit(X=np.asarray(Xd)[p], Y=Yd, rng=rng, restarts=1, permutation=None, model="plain",
              **inner)
    P = permutation(p, dtype=res.kmatrix.dtype)
    K = res.kmatrix @ P
    return replace(
        res,
        kmatrix=K,
        history=np.concatenate([hist, res.history]),
        n_iter=its + res.n_iter,
        message=f"permutation stage: {msg}; " + res.message,
        permutation=p,
    )


def restarted(
    fit: Callable[..., FitResult],
    learn: bool,
    restarts: int,
    target: Any,
    X: Any,
    Y: Any,
    rng: Any,
    t_start: float,
    kwargs: dict[str, Any],
) -> FitResult:
    """``restarts`` single fits on threads (with the learned permutation if ``learn``),
    the best kept; ``fit`` is :func:`kmatrix.fit` and ``kwargs`` its options.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> res = km.fit(np.eye(8)[::-1], restarts=2, rng=0, permutation=None)
    >>> len(res.restarts), res.converged
    (2, True)
    """
    tol = positive_float(kwargs["tol"], "tol", allow_zero=True)
    if learn and kwargs["parametrization"] != "free":
        raise ValueError("permutation='learn' needs parametrization='free'")

    def fit_one(seed, stop):
        if learn:
            return fit_with_learned_permutation(fit, target, X, Y, seed, stop, kwargs)
        inner = dict(kwargs)
        user = inner["callback"]
        inner["callback"] = lambda it, K, rel: bool(
            (user is not None and user(it, K, rel)) or stop.is_set()
        )
        return fit(target, X=X, Y=Y, rng=seed, restarts=1, permutation=None, model="plain",
                   **inner)

    best, results = run_restarts(fit_one, restarts, rng, tol)
    return replace(best, restarts=results, seconds=time.perf_counter() - t_start)

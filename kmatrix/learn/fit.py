"""Fit a K-matrix to a target operator or to data pairs by gradient descent.

:func:`fit` only dispatches: ``model="auto"`` and ``permutation="auto"`` (a plain
fit, then further attempts if it stalls: :mod:`kmatrix.learn.fallbacks`), the
real-part model (:mod:`kmatrix.learn.realpart`), restarts and learned permutations
(:mod:`kmatrix.learn.restarts`), or one fit (:mod:`kmatrix.learn.single`).
"""

from __future__ import annotations

__all__ = ["fit", "FitResult", "LEARN_ABOVE", "RETRY_ABOVE"]

import time
from dataclasses import replace
from typing import Any, Callable

import numpy as np
import numpy.typing as npt
from scipy.sparse.linalg import LinearOperator

from .._checks import is_dask_array
from .._layout import internal_size_for
from .._operator import KMatrix
from .checks import (
    check_data_source, check_fit_options, check_model_option, check_permutation_option,
    positive_int,
)
from .fallbacks import LEARN_MAX_SIZE, fourier_attempt, real_part_attempt
from .restarts import restarted
from .result import FitResult
from .single import fit_once

# permutation="auto" learns a permutation only after a plain fit that stopped above
# this error: a missing structure leaves a large error (0.2-0.7 for the DCT-II and
# the Hartley transform of size 64), a slow final convergence a small one.
LEARN_ABOVE = 1e-3
# model="auto" tries its further models after a plain fit that stopped above this
# error: they are cheap where they fit, and a plain fit can stall short of a structure
# they find (the DST-II of size 16 with width 2: 1.1e-5, then 9.2e-7 by the real part).
RETRY_ABOVE = 1e-6


def fit(
    target: npt.ArrayLike | LinearOperator | None = None,
    *,
    X: npt.ArrayLike | None = None,
    Y: npt.ArrayLike | None = None,
    width: int = 1,
    expansion: float = 1,
    dtype: npt.DTypeLike | None = None,
    init: str | KMatrix | npt.ArrayLike | None = None,
    method: str = "lbfgs",
    max_iter: int = 1000,
    tol: float = 1e-6,
    rng: Any = None,
    callback: Callable[[int, KMatrix, float], Any] | None = None,
    progress: bool = False,
    parametrization: str = "free",
    probes: str | int | None = None,
    lr: float = 1e-2,
    batch_size: int | None = None,
    relax: str | bool = "auto",
    permutation: str | None = "auto",
    restarts: int | None = None,
    model: str = "auto",
) -> FitResult:
    r"""Fit a K-matrix in ``(BB*)^width_expansion`` to a target or to data pairs.

    Parameters
    ----------
    target : array_like, sparse matrix or LinearOperator, shape (rows, cols), optional
        Operator to approximate. Exclusive with ``X``/``Y``.
    X, Y : array_like, shapes (cols, k) and (rows, k) (or both 1-D), optional
        Data pairs: fit ``K @ X ~ Y``.
    width : int, default 1
        Number of BB* products.
    expansion : float, default 1
        Internal size ``N`` is the smallest power of two ``>= expansion * max(rows, cols)``.
    dtype : dtype, optional
        Dtype of the returned K-matrix; default the operator dtype of the target's
        (or the data's) values by the one dtype rule (:doc:`/guide/dtypes`: booleans and
        integers give float64, float16 gives float32, extended precision is refused).
        The optimization itself runs in float64 / complex128.
    init : {"auto", "randn", "ortho", "identity", "match"}, KMatrix or ndarray, optional
        Starting point: a named random/identity init (as in :func:`kmatrix.random`,
        rescaled so that ``||K X|| = ||Y||``), a KMatrix with the right twiddle shape
        (``parametrization="free"`` only), or a parameter array of the
        parametrization's shape. ``"ortho"`` starts from a well-conditioned operator
        and recovers structured targets far more often than ``"randn"`` (the DFT of
        size 256 with the bit reversal given: 2 of 2 seeds in under 200 iterations,
        against 0 of 2 in 5000). ``"match"`` (``parametrization="permutation"``, square
        power-of-two data) pairs the rows of ``Y`` with the rows of ``X`` of largest
        cosine similarity and starts from the soft swaps that route that pairing
        (:mod:`kmatrix.learn.routing`); the fit learns from there. Default
        ``"auto"``: for a free fit of square power-of-two data that are orthogonal or
        unitary up to scale (``Y^H Y = c^2 X^H X``), an *orthogonal start*: a unitary
        fit (restarted from a new random point when it stalls in a local minimum),
        brought to real rotations and reflections for real data and polished there,
        then in the free parametrization if still above ``tol``; otherwise
        ``"randn"``; ``"match"`` for a permutation fit of square power-of-two data;
        ``"ortho"`` with ``permutation="learn"``.
    method : {"lbfgs", "adam"}, default "lbfgs"
        L-BFGS (``scipy.optimize.minimize(method="L-BFGS-B", jac=True)``) or Adam.
    max_iter : int, default 1000
        Iterations per optimizer run (a relaxed fit has two runs).
    tol : float, default 1e-6
        Stop as soon as the relative error is ``<= tol``.
    rng : None, int or numpy.random.Generator
        Seeds the init, the probes and Adam's mini-batches.
    callback : callable, optional
        ``callback(iteration, kmatrix, rel_error)`` after every iteration; returning
        ``True`` stops the fit. During the complex stage of a relaxed fit, the Fourier
        start and the real-part model it sees the complex iterate ``K`` (for the
        real-part model: without the permutation, its real part is fitted).
    progress : bool, default False
        Show a live line (tqdm bar if installed) on stderr.
    parametrization : {"free", "orthogonal", "permutation"}, default "free"
        See :mod:`kmatrix.learn.parametrizations`.
    probes : "identity", int or None
        How a target is compared: on the identity (exact Frobenius error; default for
        ``cols <= 1024``) or on this many Gaussian probe vectors (default 256 otherwise).
    lr : float, default 1e-2
        Adam step size.
    batch_size : int, optional
        Adam only: columns per mini-batch (default: all).
    relax : {"auto", True, False}, default "auto"
        Complex relaxation of a real, free fit: optimize complex twiddles first, map
        them to real ones by a phase gauge (:func:`kmatrix.learn.relax.realify`), then
        polish in real arithmetic. Real 2x2 blocks cannot change the sign of their
        determinant without becoming singular, which traps real fits in local minima;
        complex ones can. ``"auto"`` relaxes real free fits that start from a named
        init (not from a warm start).
    permutation : {"auto", "learn", None}, default "auto"
        ``"learn"``: fit ``K @ P`` with ``P`` a learned permutation of the input
        coordinates (:mod:`kmatrix.learn.structure`; ``cols`` a power of two), with
        ``restarts`` (default 8). ``"auto"``: the plain fit first; if it stops above
        ``max(tol, 1e-3)`` and the target is a square power-of-two matrix or operator
        of size at most 128 fitted with ``parametrization="free"``, also the learned
        permutation (after the attempts of ``model="auto"``), and the best is
        returned. This attempt costs seconds to a minute at sizes up to 64; ``None``
        never learns a permutation.
    restarts : int, optional
        Independent fits from seeds drawn from ``rng``, on threads; the best is
        returned, all are kept in ``FitResult.restarts``. Default 1 (8 with a learned
        permutation).
    model : {"auto", "plain", "real part"}, default "auto"
        What is fitted. ``"plain"``: ``K`` itself (with the ``permutation`` option).
        ``"real part"`` (real square power-of-two data): ``Re(K P)`` for a complex
        ``K`` of width 1 and ``P`` from the first level of the recursive permutation
        family, the real transforms' form (DCT, DST, Hartley: a scaled DFT, real part
        taken); the result is the real K-matrix ``(K + conj K) / 2 @ P`` (width 2,
        expansion 2), see :mod:`kmatrix.learn.realpart`. ``"auto"``: the plain fit;
        if it stops above ``max(tol, 1e-6)`` on a square power-of-two problem with
        ``parametrization="free"`` and ``method="lbfgs"``, also a fit from the
        *Fourier start* (the identity as ``F^-1 F``: it finds circulants, i.e. circular
        convolutions, in a few iterations, and is abandoned after 30 iterations
        otherwise), then for real data the real-part model (at most 4 attempts: two
        from the *DFT start*, ``K`` the DFT, exactly and with random row phases, of at
        most ``8 * 20 + 400 + max_iter`` iterations each, two from random unitary
        starts, of at most ``8 * 60 + 400 + max_iter``), then the learned permutation
        of ``permutation="auto"`` (after a
        plain fit above ``max(tol, 1e-3)``); the best result is returned,
        ``FitResult.model`` says which. With real data (and no ``restarts``), where
        the real-part model follows, the plain fit's orthogonal start gives up early:
        every unitary start above relative error 0.2 after 100 iterations (or above
        the usual 0.1 after 200, 0.02 after 400) is abandoned, the last one too, and
        a real or free polish above ``1e-2`` after 100 iterations ends the plain fit
        (the DCT-II of size 128 with width 2: 1100 iterations instead of 5800).

    Returns
    -------
    FitResult
        ``kmatrix``, ``rel_error``, ``history``, ``n_iter``, ``converged``, ``message``.

    Notes
    -----
    The loss is

    .. math:: L(\theta) = \frac{\|K(\theta) X - Y\|_F^2}{2\,\|Y\|_F^2},
              \qquad \text{rel\_error} = \sqrt{2L},

    and its gradient comes from one fused forward/backward kernel pass
    (:func:`~kmatrix.learn.vjp` with the residual as incoming gradient), pulled back
    through the parametrization.

    Examples
    --------
    A width-1 K-matrix learns the Hadamard transform from a random start:

    >>> import numpy as np, scipy.linalg, kmatrix as km
    >>> res = km.fit(scipy.linalg.hadamard(16), rng=0, tol=1e-8)
    >>> res.converged, res.rel_error < 1e-8, res.kmatrix.dtype
    (True, True, dtype('float64'))
    """
    t_start = time.perf_counter()
    check_model_option(model)
    # Dask data pairs: streamed mini-batch Adam, never holding the whole data set.
    if is_dask_array(X) or is_dask_array(Y):
        if model == "real part":
            raise ValueError("model='real part' needs data in memory; got Dask arrays")
        from .streaming import fit_streaming

        return fit_streaming(
            target, X=X, Y=Y, width=width, expansion=expansion, dtype=dtype, init=init,
            method=method, max_iter=max_iter, tol=tol, rng=rng, callback=callback,
            progress=progress, parametrization=parametrization, probes=probes, lr=lr,
            batch_size=batch_size, relax=relax, permutation=permutation, restarts=restarts,
        )
    check_permutation_option(permutation)
    opts = dict(
        width=width, expansion=expansion, dtype=dtype, init=init, method=method,
        max_iter=max_iter, tol=tol, callback=callback, progress=progress,
        parametrization=parametrization, probes=probes, lr=lr, batch_size=batch_size,
        relax=relax,
    )
    if model == "real part":
        return _real_part(target, X, Y, rng, t_start, opts)
    if permutation == "auto" or (model == "auto" and permutation is None):
        return _auto(target, X, Y, rng, restarts, t_start, opts, permutation, model)
    learn = permutation == "learn"
    restarts = (8 if learn else 1) if restarts is None else positive_int(restarts, "restarts")
    if init is None or (isinstance(init, str) and init == "auto"):
        opts["init"] = "ortho" if learn else "auto"
    if learn or restarts > 1:
        return restarted(fit, learn, restarts, target, X, Y, rng, t_start, opts)
    return fit_once(target, X, Y, rng=rng, t_start=t_start, **opts)


def _square_pow2(target, X, Y, opts):
    """``n`` when the problem is ``n x n`` with ``n`` a power of two (no padding), else 0."""
    if target is not None:
        shape = target.shape if hasattr(target, "shape") else np.shape(target)
    else:
        shape = (len(Y), len(X))
    if len(shape) != 2:  # the fit itself says what it needs
        return 0
    rows, cols = shape
    if rows != cols or cols & (cols - 1) or cols < 2:
        return 0
    return cols if internal_size_for(rows, cols, opts["expansion"]) == cols else 0


def _real_part(target, X, Y, rng, t_start, opts):
    """``model="real part"``: the real-part model alone."""
    if opts["parametrization"] != "free" or not _square_pow2(target, X, Y, opts):
        raise ValueError(
            "model='real part' needs parametrization='free' and a square power-of-two "
            "problem (rows == cols == 2**k, expansion 1)"
        )
    res = real_part_attempt(target, X, Y, rng, opts)
    if res is None:
        raise ValueError("model='real part' needs real data (a real target or real X and Y)")
    return replace(res, seconds=time.perf_counter() - t_start)


def _auto(target, X, Y, rng, restarts, t_start, opts, permutation, model):
    """The plain fit, then (if it stopped above ``max(tol, RETRY_ABOVE)`` on a square
    power-of-two problem) the attempts of ``model="auto"`` and (above ``max(tol,
    LEARN_ABOVE)``) ``permutation="auto"``; the best result is returned."""
    # Bad arguments fail here as in a single fit, before the problem's shape is read.
    check_data_source(target, X, Y)
    check_fit_options(**{k: opts[k] for k in (
        "width", "max_iter", "tol", "lr", "expansion", "method", "batch_size", "callback",
        "relax")})
    n = _square_pow2(target, X, Y, opts)
    if (restarts is None or restarts == 1) and model == "auto" and n and (
        opts["method"] == "lbfgs" and opts["parametrization"] == "free"
    ):
        # Further models follow a plain fit that stalls: for real data (the real-part
        # model's) its orthogonal start gives up early rather than run every stage to
        # max_iter.
        init = opts["init"]
        auto = init is None or (isinstance(init, str) and init == "auto")
        res = fit_once(target, X, Y, rng=rng, t_start=t_start, give_up=True,
                       **dict(opts, init="auto" if auto else init))
    else:
        res = fit(target, X=X, Y=Y, rng=rng, permutation=None, restarts=restarts,
                  model="plain", **opts)
    if (
        res.rel_error <= max(opts["tol"], RETRY_ABOVE)
        or not n
        or opts["max_iter"] == 0
        or opts["parametrization"] != "free"
        or "stopped by callback" in res.message
        # The same optimizer settings would diverge again.
        or "diverged" in res.message
    ):
        return res
    tries = [("plain fit: ", res)]

    def done():
        return tries[-1][1].rel_error <= opts["tol"] or "stopped by callback" in tries[-1][1].message

    if model == "auto" and opts["method"] == "lbfgs":
        tries.append(("", fourier_attempt(target, X, Y, rng, opts)))
        if not done():
            alt = real_part_attempt(target, X, Y, rng, opts)
            if alt is not None:
                tries.append(("", alt))
    if (permutation == "auto" and target is not None and n <= LEARN_MAX_SIZE and not done()
            and res.rel_error > max(opts["tol"], LEARN_ABOVE)):
        # The plain fit did not reach tol: learn the input permutation too.
        tries.append(("learned permutation: ",
                      fit(target, rng=rng, permutation="learn", restarts=restarts, **opts)))
    if len(tries) == 1:
        return res
    prefix, best = min(tries, key=lambda t: t[1].rel_error)
    return replace(best, message=prefix + best.message, seconds=time.perf_counter() - t_start)

"""Fit a K-matrix to a target operator or to data pairs by gradient descent."""

__all__ = ["fit", "FitResult"]

import time
from dataclasses import dataclass, field, replace

import numpy as np

from .._checks import cast_finite, check_dtype, check_memory, check_real, is_dask_array, twiddle_nbytes
from .._layout import internal_size_for, log2_exact
from .._scaling import exponent, ldexp, spread_exponent
from .._operator import KMatrix
from ._problem import (
    Progress,
    determinant_sign,
    orthogonal_scale,
    pair_data,
    positive_float,
    positive_int,
    target_data,
)
from .optimize import Objective, run_adam, run_lbfgs
from .parametrizations import make_parametrization
from .relax import realify
from .restarts import fit_with_learned_permutation, run_restarts
from ..backends.cpu.vjp import twiddle_vjp
from .routing import matched_permutation, route_logits

_METHODS = ("lbfgs", "adam")
# Relative error at which the unitary stage of an orthogonal start hands over to real
# factors: the phase gauge then finds real factors close enough for the real
# orthogonal polish to converge (measured at sizes 32-256).
REALIFY_AT = 1e-3
# A unitary stage above relative error 0.1 at iteration 200, or 0.02 at iteration
# 400, sits in a local minimum (measured at sizes 32-256: converging runs are at
# 0.014-0.035 at 200 and below 0.01 at 400, stuck ones stay at 0.1-0.3; at size 256
# about half of the starts are stuck) and starts again from a new random point, at
# most UNITARY_TRIES times in all.
STALL = ((200, 0.1), (400, 0.02))
UNITARY_TRIES = 10
# L-BFGS correction pairs of the real orthogonal polish (one angle per block: cheap);
# its convergence is linear and slow near 1e-6 at size 256 with the default 20.
ORTHOGONAL_MEMORY = 50
# permutation="auto" learns a permutation only after a plain fit that stopped above
# this error: a missing structure leaves a large error (0.2-0.7 for the DCT-II and
# the Hartley transform of size 64), a slow final convergence a small one.
LEARN_ABOVE = 1e-3


@dataclass
class FitResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    kmatrix : KMatrix
        The fitted operator, of the requested dtype.
    rel_error : float
        ``||K X - Y||_F / ||Y||_F`` of the returned ``kmatrix`` on the fitting data
        (``||K - T||_F / ||T||_F`` for a target compared on the identity).
    history : ndarray
        Relative error at the start and after every iteration of each optimizer run
        (a relaxed fit appends its real run to its complex run; for Adam with
        ``batch_size``, on that iteration's mini-batch).
    n_iter : int
        Iterations performed.
    converged : bool
        ``rel_error <= tol``. A failed fit is reported here, never by an exception:
        an optimizer that diverges (a non-finite loss, e.g. Adam with a too large
        ``lr``) stops, and the best iterate seen is returned with its honest error.
    message : str
        Why the optimizer stopped.
    parametrization : str
    params : ndarray
        Final real parameter vector of the parametrization, for the data brought to
        unit magnitude by powers of two (the fit is scale-invariant: ``kmatrix``
        carries the scale, spread evenly over its factors for ``"free"``).
    seconds : float
        Wall time of the fit.
    permutation : ndarray of int or None
        With ``permutation="learn"``: the learned index array ``p``; ``kmatrix`` is
        ``K @ km.permutation(p)``.
    restarts : list of FitResult
        With ``restarts > 1``: every restart's result (histories included), in seed
        order; the returned fields are those of the best one.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> res = km.fit(np.eye(4)[::-1], init="ortho", rng=0)
    >>> type(res).__name__, res.converged, res.kmatrix.shape
    ('FitResult', True, (4, 4))
    """

    kmatrix: KMatrix
    rel_error: float
    history: np.ndarray = field(repr=False)
    n_iter: int
    converged: bool
    message: str
    parametrization: str = "free"
    params: np.ndarray = field(default=None, repr=False)
    seconds: float = 0.0
    permutation: np.ndarray = field(default=None, repr=False)
    restarts: list = field(default_factory=list, repr=False)


def fit(
    target=None,
    *,
    X=None,
    Y=None,
    width=1,
    expansion=1,
    dtype=None,
    init=None,
    method="lbfgs",
    max_iter=1000,
    tol=1e-6,
    rng=None,
    callback=None,
    progress=False,
    parametrization="free",
    probes=None,
    lr=1e-2,
    batch_size=None,
    relax="auto",
    permutation="auto",
    restarts=None,
):
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
        ``True`` stops the fit. During the complex stage of a relaxed fit it sees the
        complex iterate.
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
        ``max(tol, 1e-3)`` and the target is a square power-of-two matrix or operator fitted with
        ``parametrization="free"``, also the learned permutation, and the better of the
        two is returned. The second attempt costs seconds to a minute at sizes up to 64
        (more for larger sizes); ``None`` never learns a permutation.
    restarts : int, optional
        Independent fits from seeds drawn from ``rng``, on threads; the best is
        returned, all are kept in ``FitResult.restarts``. Default 1 (8 with a learned
        permutation).

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
    # ---- Dask data pairs: streamed mini-batch Adam (kmatrix.learn.streaming)
    if is_dask_array(X) or is_dask_array(Y):
        from .streaming import fit_streaming

        return fit_streaming(
            target, X=X, Y=Y, width=width, expansion=expansion, dtype=dtype, init=init,
            method=method, max_iter=max_iter, tol=tol, rng=rng, callback=callback,
            progress=progress, parametrization=parametrization, probes=probes, lr=lr,
            batch_size=batch_size, relax=relax, permutation=permutation, restarts=restarts,
        )
    # ----
    if permutation is not None and permutation not in ("auto", "learn"):
        raise ValueError(f"permutation must be 'auto', 'learn' or None; got {permutation!r}")
    if permutation == "auto":
        common = dict(
            width=width, expansion=expansion, dtype=dtype, init=init, method=method,
            max_iter=max_iter, tol=tol, callback=callback, progress=progress,
            parametrization=parametrization, probes=probes, lr=lr, batch_size=batch_size,
            relax=relax, restarts=restarts,
        )
        res = fit(target, X=X, Y=Y, rng=rng, permutation=None, **common)
        rows, cols = res.kmatrix.shape
        if (
            res.rel_error <= max(tol, LEARN_ABOVE)
            or target is None
            or max_iter == 0
            or parametrization != "free"
            or rows != cols
            or cols & (cols - 1)
            or "stopped by callback" in res.message
            # The same optimizer settings would diverge again.
            or "diverged" in res.message
        ):
            return res
        # The plain fit did not reach tol: learn the input permutation too.
        alt = fit(target, rng=rng, permutation="learn", **common)
        best = alt if alt.rel_error < res.rel_error else res
        return replace(
            best,
            message=("plain fit: " if best is res else "learned permutation: ") + best.message,
            seconds=time.perf_counter() - t_start,
        )
    learn = permutation == "learn"
    restarts = (8 if learn else 1) if restarts is None else positive_int(restarts, "restarts")
    if init is None or (isinstance(init, str) and init == "auto"):
        init = "ortho" if learn else "auto"
    if learn or restarts > 1:
        return _restarted(
            learn, restarts, target, X, Y, rng, tol, t_start,
            dict(width=width, expansion=expansion, dtype=dtype, init=init, method=method,
                 max_iter=max_iter, tol=tol, callback=callback, progress=progress,
                 parametrization=parametrization, probes=probes, lr=lr,
                 batch_size=batch_size, relax=relax),
        )
    rng = np.random.default_rng(rng)
    if target is not None and (X is not None or Y is not None):
        raise ValueError("pass either target or the data pairs X, Y, not both")
    if target is None and (X is None or Y is None):
        raise ValueError("fit needs a target, or both X and Y")
    width = positive_int(width, "width")
    max_iter = positive_int(max_iter, "max_iter", minimum=0)
    tol = positive_float(tol, "tol", allow_zero=True)
    lr = positive_float(lr, "lr")
    expansion = check_real(expansion, "expansion", low=1)
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got {method!r}")
    if batch_size is not None:
        if method != "adam":
            raise ValueError("batch_size is an Adam option; use method='adam'")
        batch_size = positive_int(batch_size, "batch_size")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {type(callback).__name__}")
    if not (relax == "auto" if isinstance(relax, str) else isinstance(relax, bool)):
        raise ValueError(f"relax must be 'auto', True or False; got {relax!r}")

    if is_dask_array(target):
        raise TypeError(
            "fit needs a target in memory; got a Dask array (pass Dask data as X and Y, "
            "e.g. X=da.eye(n) and Y=target, to stream it)"
        )
    if target is not None:
        Xd, Yd, data_dtype = target_data(target, probes, rng)
    else:
        if probes is not None:
            raise ValueError("probes applies to a target, not to data pairs")
        Xd, Yd, data_dtype = pair_data(X, Y)
    out_dtype = data_dtype if dtype is None else check_dtype(dtype)
    rows, cols = Yd.shape[0], Xd.shape[0]
    data_complex = Xd.dtype.kind == "c" or Yd.dtype.kind == "c"
    compute = np.dtype(np.complex128 if data_complex or out_dtype.kind == "c" else np.float64)
    Xd = np.ascontiguousarray(Xd, dtype=compute)
    Yd = np.ascontiguousarray(Yd, dtype=compute)
    if not np.any(Yd):
        raise ValueError("the target data Y is zero: the relative error is undefined")

    nblocks = 2 * width
    big = internal_size_for(rows, cols, expansion)
    # Parameters, gradient and L-BFGS's 2 * 20 correction pairs, each of the size of a
    # twiddle in the compute dtype; the data padded to N rows on both sides.
    check_memory(
        48 * twiddle_nbytes(nblocks, big, compute) + 4 * big * Xd.shape[1] * compute.itemsize,
        f"fitting a K-matrix of width {width} at internal size N = 2**{big.bit_length() - 1}",
    )
    m = log2_exact(big)
    param = make_parametrization(parametrization, nblocks, m, out_dtype.kind == "c")
    if param.name == "permutation" and rows != cols:
        raise ValueError(
            f"parametrization='permutation' needs a square shape; got ({rows}, {cols})"
        )
    shape = (rows, cols)
    # Scale invariance: fit data brought to unit magnitude by powers of two (exact).
    # A free K-matrix absorbs any scale, so X and Y are normalized separately and the
    # result is 2**shift times the normalized one; the other parametrizations fix the
    # operator's norm, so X and Y share one factor and the problem is unchanged.
    ex, ey = exponent(Xd), exponent(Yd)
    shift = ey - ex if param.name == "free" else 0
    with np.errstate(over="ignore", under="ignore"):
        Xd, Yd = ldexp(Xd, -(ey - shift)), ldexp(Yd, -ey)
    if not (np.all(np.isfinite(Xd)) and np.any(Xd)):
        raise ValueError(
            f"X and Y differ in scale by more than {compute} can hold (max|X| ~ 2**{ex}, "
            f"max|Y| ~ 2**{ey}); parametrization={param.name!r} cannot absorb the scale"
        )

    def operator(p, th, dtype=None, scale=1.0):
        """The K-matrix of parameters ``th`` (fitted to ``Y / scale``) at the data's
        original scale."""
        tw = spread_exponent(_scaled(p.twiddle(th), scale), shift)
        return KMatrix._from_owned(tw if dtype is None else _cast(tw, dtype), shape)

    orth_scale = None
    if isinstance(init, str) and init == "auto":
        init = "randn"
        if param.name == "free" and rows == cols == big and relax is not False:
            orth_scale = orthogonal_scale(Xd, Yd)
        elif param.name == "permutation" and rows == cols == big:
            init = "match"
    if isinstance(init, str) and init == "match" and not (
        param.name == "permutation" and rows == cols == big
    ):
        raise ValueError(
            "init='match' needs parametrization='permutation' and a square power-of-two "
            f"shape; got {param.name!r} and shape {shape}"
        )
    relaxed = (
        (relax is True or (relax == "auto" and isinstance(init, str)))
        and param.name == "free"
        and compute.kind == "f"
        and orth_scale is None
    )
    if relax is True and not relaxed and orth_scale is None:
        raise ValueError("relax=True needs parametrization='free' and real data and dtype")

    history = []
    runs = 2 if relaxed else (3 if orth_scale is not None else 1)
    bar = Progress(progress, max_iter * runs, f"kmatrix.fit[{method}]")
    state = {"done": 0, "why": None}

    def stage(p, obj, theta, goal=tol, scale=1.0, stall=None, memory=20):
        """One optimizer run to relative error ``goal``; returns the final parameters.

        ``stall=[(k, level), ...]`` abandons the run if it is above ``level`` at
        iteration ``k`` (``state["why"]`` then starts with "stalled")."""
        def after_iteration(it, th, rel):
            history.append(rel)
            bar.update(state["done"] + it, rel)
            if not np.isfinite(rel):
                state["why"] = "stopped: the loss is not finite (the optimizer diverged)"
                return True
            if rel < best[0]:
                best[:] = [rel, np.array(th, copy=True)]
            if callback is not None and callback(
                state["done"] + it, operator(p, th, scale=scale), rel
            ):
                state["why"] = "stopped by callback"
            elif rel <= goal:
                state["why"] = f"relative error {rel:.3g} <= tol"
            elif stall is not None and any(it == k and rel > lvl for k, lvl in stall):
                state["why"] = f"stalled at relative error {rel:.3g} after {it} iterations"
            return state["why"] is not None

        rel0 = obj.rel_error(theta)
        best = [rel0 if np.isfinite(rel0) else np.inf, np.array(theta, copy=True)]
        history.append(rel0)
        if rel0 <= goal:
            state["why"] = f"relative error {rel0:.3g} <= tol"
        if state["why"] is not None or max_iter == 0:
            return theta, "max_iter = 0" if max_iter == 0 else state["why"]
        if method == "lbfgs":
            theta, its, msg = run_lbfgs(obj, theta, max_iter, after_iteration, memory)
        else:
            theta, its, msg = run_adam(
                obj, theta, max_iter, after_iteration,
                lr=lr, batch_size=batch_size, rng=rng, tol=tol,
            )
        state["done"] += its
        msg = state["why"] or msg
        rel = obj.rel_error(theta) if np.all(np.isfinite(theta)) else np.nan
        if not np.isfinite(rel) or (batch_size is None and rel > best[0]):
            # A diverged (NaN) or worse final iterate: hand back the best one seen.
            theta = best[1]
            msg += f"; returned the best iterate (relative error {best[0]:.3g})"
        return theta, msg

    try:
        if orth_scale is not None:
            stages, theta = _orthogonal_start(
                stage, state, param, Xd, Yd, orth_scale, compute, tol, rng
            )
            msg = ""
        elif relaxed:
            cparam = make_parametrization("free", nblocks, m, True)
            cobj = Objective(cparam, Xd.astype(np.complex128), Yd.astype(np.complex128))
            ctheta, msg = stage(cparam, cobj, _balanced(cparam, cobj, cparam.initial(init, rng)))
            theta = param.to_params(realify(cparam.twiddle(ctheta)))
            stages = f"complex stage: {msg}; "
            if state["why"] != "stopped by callback":
                state["why"] = None
                theta, msg = stage(param, Objective(param, Xd, Yd), theta)
                stages += "real stage: "
        else:
            stages = ""
            obj = Objective(param, Xd, Yd)
            if isinstance(init, str) and init == "match":
                theta0 = route_logits(matched_permutation(Xd, Yd), m, width).ravel()
            else:
                theta0 = param.initial(init, rng)
            if param.name == "free" and isinstance(init, str):
                theta0 = _balanced(param, obj, theta0)
            elif param.name == "free":  # a warm start, at the original scale
                theta0 = param.to_params(spread_exponent(param.twiddle(theta0), -shift))
            elif param.name == "orthogonal" and isinstance(init, str):
                # Rotations and reflections are two components of O(2): start in the
                # one whose determinant the data have.
                theta0 = param.with_determinant(theta0, determinant_sign(Xd, Yd, 1 << m))
            theta, msg = stage(param, obj, theta0)
    finally:
        bar.close()
    K = operator(param, theta, out_dtype)
    # Error of the returned (possibly lower-precision) operator, as ``K @ Xd`` computes
    # it; on the normalized data (the power-of-two scale changes no digit).
    tw = _cast(np.asarray(param.twiddle(theta)), out_dtype).astype(compute)
    rel = _relative_error(KMatrix._from_owned(tw, shape), Xd, Yd)
    return FitResult(
        kmatrix=K,
        rel_error=rel,
        history=np.asarray(history),
        n_iter=int(state["done"]),
        converged=bool(rel <= tol),
        message=stages + msg,
        parametrization=param.name,
        params=theta,
        seconds=time.perf_counter() - t_start,
    )


def _norm(a):
    """Frobenius norm without overflow or underflow of the squares."""
    e = exponent(a)
    return float(np.ldexp(np.linalg.norm(ldexp(a, -e)), e))


def _relative_error(K, X, Y):
    """``||K X - Y|| / ||Y||``, finite whenever the residual is (the squared loss of a
    fit whose operator cannot absorb the data's scale may overflow, this does not)."""
    with np.errstate(over="ignore", invalid="ignore"):
        r = K @ X - Y
    if not np.all(np.isfinite(r)):
        return float("inf")
    return _norm(r) / _norm(Y)


def _cast(tw, dtype):
    """``tw`` in ``dtype``; ``OverflowError`` if the fitted factors do not fit in it."""
    return cast_finite(tw, dtype, OverflowError,
                       "fit with a wider dtype: the fitted factors")


def _restarted(learn, restarts, target, X, Y, rng, tol, t_start, kwargs):
    """``restarts`` single fits on threads (and the learned permutation), best kept."""
    tol = positive_float(tol, "tol", allow_zero=True)
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
        return fit(target, X=X, Y=Y, rng=seed, restarts=1, permutation=None, **inner)

    best, results = run_restarts(fit_one, restarts, rng, tol)
    return replace(best, restarts=results, seconds=time.perf_counter() - t_start)


def _scaled(tw, c):
    """Twiddle ``tw`` with every factor multiplied by ``c ** (1 / factors)``."""
    tw = np.asarray(tw)
    return tw if c == 1.0 else tw * c ** (1.0 / (tw.shape[0] * tw.shape[1]))


def _orthogonal_start(stage, state, param, X, Y, c, compute, tol, rng):
    """The stages of a free fit to data ``Y = c Q X`` with ``Q`` orthogonal/unitary.

    1. *unitary*: ``Q`` in the unitary parametrization from a random start. ``U(2)`` is
       connected; real rotations and reflections are not, and real orthogonal fits
       from random starts stop in local minima (width-1 teachers of size 128: 2 of 10
       recovered, against 10 of 10 this way).
    2. *orthogonal* (real data): the unitary twiddle brought to real factors by a phase
       gauge (:func:`~kmatrix.learn.relax.realify`) once it is within
       :data:`REALIFY_AT`, projected onto rotations/reflections and polished there.
    3. *free*: the factors times ``c ** (1 / factors)``, polished in the free
       parametrization only if the earlier stages stopped above ``tol``.

    Returns ``(message, free parameters)``.
    """
    nblocks, m = param.tw_shape[:2]
    Yo = Y / c
    uparam = make_parametrization("orthogonal", nblocks, m, True)
    uobj = Objective(uparam, X.astype(np.complex128), Yo.astype(np.complex128))
    goal = tol if compute.kind == "c" else max(tol, REALIFY_AT)
    best = None
    for attempt in range(UNITARY_TRIES):
        state["why"] = None
        theta, msg = stage(
            uparam, uobj, uparam.initial("ortho", rng), goal=goal, scale=c,
            stall=STALL if attempt < UNITARY_TRIES - 1 else None,
        )
        rel = uobj.rel_error(theta)
        if best is None or rel < best[0]:
            best = (rel, theta)
        if not (state["why"] or "").startswith("stalled"):
            break
    theta = best[1]
    stages = f"unitary stage ({attempt + 1} start{'s' if attempt else ''}): {msg}"
    tw = uparam.twiddle(theta)
    stopped = state["why"] is not None and not state["why"].startswith(("relative", "stalled"))
    if state["why"] is not None and state["why"].startswith("stalled"):
        state["why"] = None
    if compute.kind == "f" and not stopped:
        oparam = make_parametrization("orthogonal", nblocks, m, False)
        state["why"] = None
        theta, msg = stage(
            oparam, Objective(oparam, X, Yo), oparam.from_twiddle(realify(tw)), scale=c,
            memory=ORTHOGONAL_MEMORY,
        )
        stages += f"; orthogonal stage: {msg}"
        tw = oparam.twiddle(theta)
    theta = param.to_params(_scaled(tw, c))
    if state["why"] is None:
        theta, msg = stage(param, Objective(param, X, Y), theta)
        stages += f"; free stage: {msg}"
    return stages, theta


def _balanced(param, obj, theta):
    """Scale every factor of a free init by one factor ``c`` so that ``||K X|| = ||Y||``.

    A product of ``L`` factors scales as ``c^L``; matching the data's norm up front
    keeps all factors at the scale the solution needs (an unnormalized Hadamard of
    size 64 has entries 1, a ``"randn"`` init entries of size 0.7).
    """
    tw = np.asarray(param.twiddle(theta), dtype=obj.compute)
    nfactors = tw.shape[0] * tw.shape[1]
    _, _, sq = twiddle_vjp(tw, obj.X, obj.Y * 0, residual=True)
    if not sq > 0:
        return theta
    return theta * (obj.y2 / sq) ** (0.5 / nfactors)

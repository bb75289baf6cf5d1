"""One fit of :func:`~kmatrix.learn.fit` (no restarts, no learned permutation): the
fitting data, the starting point, the sequence of stages and the result."""

from __future__ import annotations

__all__ = ["fit_once"]

import time
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from .._checks import check_dtype
from .._layout import internal_size_for
from .._operator import KMatrix
from .._scaling import exponent, ldexp, spread_exponent
from ._problem import (
    Progress, determinant_sign, fit_geometry, orthogonal_scale, pair_data, target_data,
)
from .checks import check_data_source, check_fit_options, check_in_memory
from .optimize import Objective
from .parametrizations import make_parametrization
from .relax import realify
from .result import FitResult
from .routing import matched_permutation, route_logits
from .stages import StageRunner, cast_twiddle, relative_error
from .starts import balanced, orthogonal_start, scaled


def fit_once(
    target: Any,
    X: Any,
    Y: Any,
    *,
    rng: Any,
    t_start: float,
    width: int,
    expansion: float,
    dtype: npt.DTypeLike | None,
    init: Any,
    method: str,
    max_iter: int,
    tol: float,
    callback: Callable[[int, KMatrix, float], Any] | None,
    progress: bool,
    parametrization: str,
    probes: Any,
    lr: float,
    batch_size: int | None,
    relax: Any,
    give_up: bool = False,
) -> FitResult:
    """A single fit with :func:`~kmatrix.learn.fit`'s arguments (``init`` already
    resolved from None to ``"auto"``); ``give_up`` abandons an orthogonal start that
    stalls early (see :func:`~kmatrix.learn.starts.orthogonal_start`), for a caller
    with further models to try.

    Examples
    --------
    >>> import numpy as np, time
    >>> res = fit_once(np.eye(4)[::-1], None, None, rng=0, t_start=time.perf_counter(),
    ...                width=1, expansion=1, dtype=None, init="auto", method="lbfgs",
    ...                max_iter=100, tol=1e-8, callback=None, progress=False,
    ...                parametrization="free", probes=None, lr=0.01, batch_size=None,
    ...                relax="auto")
    >>> res.converged
    True
    """
    rng = np.random.default_rng(rng)
    check_data_source(target, X, Y)
    opts = check_fit_options(
        width=width, max_iter=max_iter, tol=tol, lr=lr, expansion=expansion,
        method=method, batch_size=batch_size, callback=callback, relax=relax,
    )
    width, max_iter, tol = opts["width"], opts["max_iter"], opts["tol"]
    lr, expansion, batch_size = opts["lr"], opts["expansion"], opts["batch_size"]
    check_in_memory(target, X, Y)
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

    # the data padded to N rows on both sides
    big = internal_size_for(rows, cols, expansion)
    nblocks, big, m, param = fit_geometry(
        rows, cols, width, expansion, parametrization, compute, out_dtype.kind == "c",
        4 * big * Xd.shape[1] * compute.itemsize,
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
        tw = spread_exponent(scaled(p.twiddle(th), scale), shift)
        return KMatrix._from_owned(tw if dtype is None else cast_twiddle(tw, dtype), shape)

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

    runs = 2 if relaxed else (3 if orth_scale is not None else 1)
    bar = Progress(progress, max_iter * runs, f"kmatrix.fit[{method}]")
    run = StageRunner(
        method=method, max_iter=max_iter, tol=tol, lr=lr, batch_size=batch_size, rng=rng,
        callback=callback, bar=bar, operator=operator,
    )
    try:
        if orth_scale is not None:
            stages, theta = orthogonal_start(
                run, param, Xd, Yd, orth_scale, compute, tol, rng, give_up=give_up
            )
            msg = ""
        elif relaxed:
            stages, theta, msg = _relaxed(run, param, Xd, Yd, init, rng)
        else:
            stages = ""
            theta, msg = _direct(run, param, Xd, Yd, init, rng, shift, width)
    finally:
        bar.close()
    K = operator(param, theta, out_dtype)
    # Error of the returned (possibly lower-precision) operator, as ``K @ Xd`` computes
    # it; on the normalized data (the power-of-two scale changes no digit).
    tw = cast_twiddle(np.asarray(param.twiddle(theta)), out_dtype).astype(compute)
    rel = relative_error(KMatrix._from_owned(tw, shape), Xd, Yd)
    return FitResult(
        kmatrix=K,
        rel_error=rel,
        history=np.asarray(run.history),
        n_iter=int(run.done),
        converged=bool(rel <= tol),
        message=stages + msg,
        parametrization=param.name,
        params=theta,
        seconds=time.perf_counter() - t_start,
    )


def _relaxed(run, param, Xd, Yd, init, rng):
    """Complex stage, phase gauge to real factors, real stage (see ``relax``)."""
    nblocks, m = param.tw_shape[:2]
    cparam = make_parametrization("free", nblocks, m, True)
    cobj = Objective(cparam, Xd.astype(np.complex128), Yd.astype(np.complex128))
    ctheta, msg = run(cparam, cobj, balanced(cparam, cobj, cparam.initial(init, rng)))
    theta = param.to_params(realify(cparam.twiddle(ctheta)))
    stages = f"complex stage: {msg}; "
    if run.why != "stopped by callback":
        run.why = None
        theta, msg = run(param, Objective(param, Xd, Yd), theta)
        stages += "real stage: "
    return stages, theta, msg


def _direct(run, param, Xd, Yd, init, rng, shift, width):
    """One stage in the requested parametrization from the requested start."""
    m = param.tw_shape[1]
    obj = Objective(param, Xd, Yd)
    if isinstance(init, str) and init == "match":
        theta0 = route_logits(matched_permutation(Xd, Yd), m, width).ravel()
    else:
        theta0 = param.initial(init, rng)
    if param.name == "free" and isinstance(init, str):
        theta0 = balanced(param, obj, theta0)
    elif param.name == "free":  # a warm start, at the original scale
        theta0 = param.to_params(spread_exponent(param.twiddle(theta0), -shift))
    elif param.name == "orthogonal" and isinstance(init, str):
        # Rotations and reflections are two components of O(2): start in the
        # one whose determinant the data have.
        theta0 = param.with_determinant(theta0, determinant_sign(Xd, Yd, 1 << m))
    return run(param, obj, theta0)

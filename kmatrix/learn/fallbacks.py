"""The further attempts of :func:`~kmatrix.learn.fit` after a plain fit stalls.

``model="auto"`` (the default) follows a plain fit that stops above
``max(tol, RETRY_ABOVE)`` on a square power-of-two problem with:

1. the *Fourier start* (:func:`fourier_attempt`): ``K`` starts at the identity written
   as ``F^-1 F`` (the inverse DFT times the DFT, complex factors), so that the fit
   learns a spectrum: circulant targets (circular convolutions) converge in a few
   iterations; an attempt above :data:`FOURIER_STALL` is abandoned at once;
2. for real data, the *real-part model* (:func:`real_part_attempt`,
   :mod:`kmatrix.learn.realpart`): the DCT, DST and Hartley transforms; its unitary
   fits start at the DFT first (the *DFT start*, then the DFT with random row phases),
   then at random unitary points;
3. with ``permutation="auto"``, the learned input permutation (sizes up to
   :data:`LEARN_MAX_SIZE`, after a plain fit above ``max(tol, LEARN_ABOVE)``).

Each attempt returns a :class:`~kmatrix.learn.FitResult`; the best is kept.
"""

from __future__ import annotations

__all__ = ["FOURIER_ITER", "FOURIER_STALL", "LEARN_MAX_SIZE", "fourier_attempt", "real_part_attempt"]

import time

import numpy as np

from .._checks import check_dtype
from .._operator import KMatrix
from .._realmatrix import complex_dtype
from .._scaling import exponent, ldexp, spread_exponent
from ._problem import pair_data, target_data
from .optimize import Objective, run_lbfgs
from .parametrizations import make_parametrization
from .realpart import fit_real_part, real_kmatrix
from .result import FitResult
from .stages import cast_twiddle, relative_error

# Iterations of the Fourier start; it is abandoned above relative error 1e-2 after 30
# iterations (circulants of size 16-256 converge to 1e-7 within 10 iterations).
FOURIER_ITER = 200
FOURIER_STALL = (30, 1e-2)
# The learned-permutation attempt of permutation="auto" runs up to this size: its
# eight restarts cost about 10 s at size 64 and grow faster than the size.
LEARN_MAX_SIZE = 128


def _data(target, X, Y, opts, rng):
    """Normalized data ``(X, Y)``, the result dtype and the power-of-two shift of ``K``."""
    if target is not None:
        Xd, Yd, data_dtype = target_data(target, opts["probes"], rng)
    else:
        Xd, Yd, data_dtype = pair_data(X, Y)
    out = data_dtype if opts["dtype"] is None else check_dtype(opts["dtype"])
    compute = np.complex128 if Xd.dtype.kind == "c" or Yd.dtype.kind == "c" else np.float64
    Xd, Yd = np.asarray(Xd, dtype=compute), np.asarray(Yd, dtype=compute)
    ex, ey = exponent(Xd), exponent(Yd)
    return ldexp(Xd, -ex), ldexp(Yd, -ey), np.dtype(out), ey - ex


def _operator(tw, shape, out, real):
    """The K-matrix of complex factors ``tw`` in dtype ``out`` (a real matrix when the
    data and ``out`` are real)."""
    if real and out.kind == "f":
        return KMatrix._from_owned(cast_twiddle(tw, complex_dtype(out)), shape, real_matrix=True)
    return KMatrix._from_owned(cast_twiddle(tw, out), shape)


def _callback(user, make):
    if user is None:
        return None
    return lambda it, tw, rel: bool(user(it, make(tw), rel))


def fourier_attempt(target, X, Y, rng, opts) -> FitResult:
    """A free complex fit of width 1 from the identity written as ``F^-1 F``.

    The start is the twiddle of ``km.circulant(e0)``: the decimation-in-frequency DFT,
    then the inverse DFT, whose bit reversals cancel (see :func:`kmatrix.circulant`).
    For real data the result is a real matrix with complex factors.
    """
    from ..constructors.circulant import circulant

    t0 = time.perf_counter()
    rng = np.random.default_rng(rng)
    Xd, Yd, out, shift = _data(target, X, Y, opts, rng)
    n = Xd.shape[0]
    shape = (Yd.shape[0], n)
    real = Xd.dtype.kind == "f" and Yd.dtype.kind == "f"
    e0 = np.zeros(n)
    e0[0] = 1.0
    param = make_parametrization("free", 2, n.bit_length() - 1, True)
    obj = Objective(param, Xd.astype(np.complex128), Yd.astype(np.complex128))
    history = []
    why = ["L-BFGS-B: max_iter reached"]
    user = _callback(opts["callback"], lambda tw: KMatrix(spread_exponent(tw, shift), shape))

    def after(it, th, rel):
        history.append(rel)
        if user is not None and user(it, param.twiddle(th), rel):
            why[0] = "stopped by callback"
        elif rel <= opts["tol"]:
            why[0] = f"relative error {rel:.3g} <= tol"
        elif it == FOURIER_STALL[0] and rel > FOURIER_STALL[1]:
            why[0] = f"stalled at relative error {rel:.3g} after {it} iterations"
        else:
            return False
        return True

    theta0 = param.to_params(circulant(e0).twiddle)
    history.append(obj.rel_error(theta0))
    theta, its, _ = run_lbfgs(obj, theta0, min(FOURIER_ITER, opts["max_iter"]), after)
    K = _operator(spread_exponent(param.twiddle(theta), shift), shape, out, real)
    rel = relative_error(_operator(param.twiddle(theta), shape, out, real), Xd, Yd)
    return FitResult(
        kmatrix=K, rel_error=rel, history=np.asarray(history), n_iter=its,
        converged=bool(rel <= opts["tol"]), message=f"Fourier start: {why[0]}",
        parametrization="free", params=theta, seconds=time.perf_counter() - t0,
    )


def real_part_attempt(target, X, Y, rng, opts) -> FitResult:
    """The real-part model (:func:`kmatrix.learn.realpart.fit_real_part`) as a fit result:
    ``kmatrix`` is ``Re(K) @ km.permutation(p)``, ``permutation`` is ``p``; None for
    complex data or a complex ``dtype``."""
    from ..constructors.permutation import permutation

    t0 = time.perf_counter()
    rng = np.random.default_rng(rng)
    Xd, Yd, out, shift = _data(target, X, Y, opts, rng)
    if Xd.dtype.kind == "c" or out.kind == "c":
        return None
    n = Xd.shape[0]
    shape = (Yd.shape[0], n)
    user = _callback(opts["callback"], lambda tw: KMatrix(spread_exponent(tw, shift)))
    tw, p, history, msg = fit_real_part(
        Xd, Yd, tol=opts["tol"], max_iter=opts["max_iter"], rng=rng, after_iteration=user
    )

    def result(tw):
        R = real_kmatrix(tw, shape)
        R = R if out == np.float64 else R.astype(out)
        return R @ permutation(p, dtype=out)

    K = result(spread_exponent(tw, shift))
    rel = relative_error(result(tw), Xd, Yd)
    return FitResult(
        kmatrix=K, rel_error=rel, history=np.asarray(history), n_iter=len(history),
        converged=bool(rel <= opts["tol"]), message=msg, parametrization="free",
        params=np.ascontiguousarray(tw).view(np.float64).ravel(), seconds=time.perf_counter() - t0,
        permutation=p, model="real part",
    )

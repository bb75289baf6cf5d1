"""The real-part model: a real target as the real part of a complex K-matrix.

The DCT, the DST and the Hartley transform are real, but their fast algorithms are
complex: each is ``Re(A P)`` for a complex butterfly ``A`` (a scaled DFT) and an input
permutation ``P`` (Makhoul's ordering for the DCT-II: evens first, odds reversed).
A real ``K`` cannot hold ``A``, and a complex ``K`` fitted to ``T`` itself must match
``Im(A P)`` too. This model fits a complex ``K`` to

.. math:: L(\\theta) = \\frac{\\|\\operatorname{Re}(K(\\theta) X) - Y\\|_F^2}{2\\,\\|Y\\|_F^2}

(the gradient is the vector-Jacobian product of ``K`` with the real residual as
incoming gradient). Its exact real result is ``(K + conj K) / 2``: the sum of ``K``
and its entrywise conjugate, a K-matrix of the same width and twice the internal
size, flagged :attr:`~kmatrix.KMatrix.real_matrix` (real dtype, complex factors).

The input permutation is searched over the first level of the recursive family
(:mod:`kmatrix.learn.permutations`; its deeper levels the identity): each of the 8
hard choices gets a short unitary fit (the target scaled so that a unitary ``K``
can match it), the best is continued, then polished in the free parametrization.

The unitary fits start from a fixed menu of generic starts, the same for every
target, tried in order until one reaches the tolerance (:data:`STARTS`, then random):

1. the *DFT start*: ``K`` is the unitary DFT ``km.dft(n, norm="ortho")``
   (:func:`dft_start`). The DCT-II, the DST-II and the Hartley transform are
   ``Re(D F E P)`` with ``F`` the DFT, ``D`` and ``E`` diagonal and ``P`` a
   first-level permutation (Makhoul's for the DCT-II; ``D = (1 + i) I``, ``E = I``,
   ``P = I`` for the Hartley transform), so from here the fit only has to learn the
   diagonals and pick the permutation; from random unitary starts the same fits stall
   in local minima at sizes 256 and above;
2. the DFT with its rows times random unit phases;
3. random unitary points (:data:`ATTEMPTS` attempts in all).
"""

from __future__ import annotations

__all__ = [
    "RealPartObjective",
    "first_level_permutations",
    "fit_real_part",
    "real_kmatrix",
    "SEARCH_ITER",
    "UNITARY_ITER",
    "STALL",
    "ATTEMPTS",
    "STARTS",
    "WIDTH",
    "dft_start",
]

import itertools
import warnings
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from .._operator import KMatrix
from ..backends.cpu.vjp import twiddle_vjp
from .checks import check_dft_phases
from .optimize import run_lbfgs
from .parametrizations import make_parametrization
from .permutations import RecursivePermutation
from .starts import scaled

# L-BFGS iterations of each of the 8 short unitary fits of the permutation search (from
# a DFT start, from a random start), and of the unitary fit continued from the best one
# before the free polish. From the DFT, the right permutation of the DCT-II and DST-II
# of sizes 32 and 128 is at relative error 3e-3 to 7e-2 after 20 iterations, the
# wrong ones above 0.17.
SEARCH_ITER = (20, 60)
UNITARY_ITER = 400
# A free polish above relative error 1e-2 at iteration 100 (or 1e-3 at 300) is stuck
# and the attempt is abandoned (measured at size 64: converging polishes are below
# 2e-5 at iteration 100; stuck ones stay at 0.1-0.2 for 2000 iterations).
STALL = ((100, 1e-2), (300, 1e-3))
# Attempts: the starts in STARTS, in order, then random unitary points.
ATTEMPTS = 4
# The DFT starts of the first attempts (dft_start's phases: "none" for the DFT itself,
# "out" for its rows times random unit phases). From the DFT itself the real-part
# model recovered the DCT-II, DST-II and Hartley transform of sizes 32 to 1024 in its
# first attempt; from the DFT with random row phases, the DCT-II and DST-II of size
# 64 in 3 of 4 seeds, with random row and column phases in 3 of 6; from random
# unitary starts, the DST-II of size 256 in 0 of 2 seeds (10 attempts each).
STARTS = ("none", "out")
WIDTH = 1


class RealPartObjective:
    """Loss ``||Re(K X) - Y||^2 / (2 ||Y||^2)`` of a complex parametrization on real data.

    Examples
    --------
    >>> import numpy as np
    >>> from kmatrix.learn.parametrizations import make_parametrization
    >>> p = make_parametrization("free", 2, 3, True)
    >>> obj = RealPartObjective(p, np.eye(8), np.eye(8))
    >>> theta = p.to_params(np.broadcast_to(np.eye(2), p.tw_shape))   # K = identity
    >>> obj.rel_error(theta)
    0.0
    """

    def __init__(self, param: Any, X: npt.NDArray, Y: npt.NDArray) -> None:
        if not param.complex:
            raise ValueError("the real-part model needs a complex parametrization")
        self.param = param
        self.X = np.ascontiguousarray(X, dtype=np.complex128)
        self.Y = np.ascontiguousarray(Y, dtype=np.float64)
        self.y2 = float(np.vdot(self.Y, self.Y))
        self.shape = (self.Y.shape[0], self.X.shape[0])

    def __call__(self, theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        with np.errstate(over="ignore", invalid="ignore"):
            tw = np.asarray(self.param.twiddle(theta), dtype=np.complex128)
            R = (KMatrix._from_owned(tw, self.shape) @ self.X).real - self.Y
            # dL/dRe(KX) is the real residual, dL/dIm(KX) is zero.
            G = np.ascontiguousarray(R * (1.0 / self.y2), dtype=np.complex128)
            _, dtw, _ = twiddle_vjp(tw, self.X, G)
            return 0.5 * float(np.vdot(R, R)) / self.y2, self.param.pullback(theta, dtw)

    def rel_error(self, theta: npt.NDArray[np.float64]) -> float:
        return float(np.sqrt(2 * self(theta)[0]))


def first_level_permutations(n: int) -> list[npt.NDArray[np.intp]]:
    """The 8 index arrays of the recursive family whose first level makes one of its
    hard choices and whose deeper levels are the identity (the first is the identity).

    Examples
    --------
    >>> [p.tolist() for p in first_level_permutations(4)][:3]
    [[0, 1, 2, 3], [0, 1, 3, 2], [1, 0, 2, 3]]
    >>> first_level_permutations(8)[4].tolist()      # even entries first, odd ones after
    [0, 2, 4, 6, 1, 3, 5, 7]
    """
    rp = RecursivePermutation(n)
    out = []
    for choice in itertools.product((-50.0, 50.0), repeat=3):
        logits = np.full(rp.size, -50.0)
        logits[:3] = choice
        out.append(rp.indices(logits))
    return out


def dft_start(
    n: int, rng: np.random.Generator | None, phases: str = "out"
) -> npt.NDArray[np.complex128]:
    """Twiddle of the unitary DFT of size ``n`` (``km.dft(n, norm="ortho")``, width 1),
    as it is (``phases="none"``; ``rng`` unused) or with its rows (``"out"``) or rows and
    columns (``"both"``) times random unit phases drawn from ``rng``.

    A generic start for the real-part model: the real transforms of this model are
    ``Re(D F E P)`` with ``F`` the DFT and ``D``, ``E`` diagonal, so from here the fit
    only has to learn diagonals.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> tw = dft_start(8, np.random.default_rng(0))
    >>> A = km.KMatrix(tw).toarray(); F = np.fft.fft(np.eye(8), norm="ortho", axis=0)
    >>> bool(np.allclose(np.abs(A), np.abs(F))), bool(np.allclose(A.conj().T @ A, np.eye(8)))
    (True, True)
    """
    from ..constructors.fourier import dft

    check_dft_phases(phases)
    tw = np.array(dft(n, norm="ortho").twiddle, dtype=np.complex128)
    # Each row of each 2x2 of the last factor is one output row, each column of the
    # first factor's 2x2s one input column: unit phases there are diagonal unitaries.
    if phases in ("out", "both"):
        tw[-1, -1] *= np.exp(2j * np.pi * rng.random(tw.shape[2:4]))[..., None]
    if phases == "both":
        tw[0, 0] *= np.exp(2j * np.pi * rng.random((tw.shape[2], 2)))[..., None, :]
    return tw


def real_kmatrix(twiddle: npt.NDArray, shape: tuple[int, int]) -> KMatrix:
    """``Re K`` as a real K-matrix: ``(K + conj K) / 2`` for the complex twiddle of ``K``.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> K = km.random(8, dtype=np.complex128, rng=0)
    >>> R = real_kmatrix(K.twiddle, K.shape)
    >>> R.dtype, R.real_matrix, bool(np.allclose(R.toarray(), K.toarray().real))
    (dtype('float64'), True, True)
    """
    from .. import CostWarning

    K = KMatrix(np.asarray(twiddle, dtype=np.complex128), shape)
    with warnings.catch_warnings():
        # The sum doubles the internal size; that is the price of the real part.
        warnings.simplefilter("ignore", CostWarning)
        S = 0.5 * (K + K.conj())
    return KMatrix(S.twiddle, S.shape, real_matrix=True)


def fit_real_part(
    X: npt.NDArray,
    Y: npt.NDArray,
    *,
    tol: float,
    max_iter: int,
    rng: np.random.Generator,
    after_iteration: Callable[[int, npt.NDArray, float], bool] | None = None,
    attempts: int = ATTEMPTS,
) -> tuple[npt.NDArray[np.complex128], npt.NDArray[np.intp], list[float], str]:
    """Fit ``Re(K X[p]) ~ Y`` over ``K`` (complex, width 1) and the first-level ``p``.

    ``X`` is real ``(n, k)`` with ``n`` a power of two, ``Y`` real ``(rows, k)``.
    Every attempt searches ``p`` (8 short unitary fits), continues the best unitary
    fit, and polishes it in the free parametrization (up to ``max_iter`` iterations,
    abandoned as stalled by :data:`STALL`); up to ``attempts`` attempts, until one
    reaches ``tol``: the first ones from the DFT starts of :data:`STARTS`
    (:func:`dft_start`), the others from random unitary starts. ``after_iteration(iteration,
    twiddle, rel_error)`` runs after every L-BFGS iteration (all stages counted) and stops the
    fit by returning True.

    ``K`` has width :data:`WIDTH`: wider starts land in local minima far more often
    (the DCT-II and DST-II of size 64 with width 2: 0 of 8 seeds in 10 attempts each).

    Returns ``(twiddle, p, history, message)``: the complex twiddle of ``K`` at the
    data's scale (``Re(K @ X[p])`` is the fit) of the best attempt, its index array
    ``p`` and the relative errors seen.
    """
    n = X.shape[0]
    m = int(n).bit_length() - 1
    rows = Y.shape[0]
    if rows != n:
        raise ValueError(f"the real-part model needs rows == cols; got ({rows}, {n})")
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    # A unitary K's real part holds, on average, half its energy: Y / scale can be
    # Re(K X) for a unitary K when Y is orthogonal up to scale (Hartley: 1/sqrt(2)).
    scale = float(np.sqrt(2.0 * np.vdot(Y, Y) / np.vdot(X, X)))
    uparam = make_parametrization("orthogonal", 2 * WIDTH, m, True)
    fparam = make_parametrization("free", 2 * WIDTH, m, True)
    history: list[float] = []
    state = {"stop": False}

    def stage(obj, theta, iters, stall=()):
        state["why"] = None
        c = scale if obj.param is uparam else 1.0

        def after(it, th, rel):
            history.append(rel)
            if after_iteration is not None and after_iteration(
                len(history), scaled(obj.param.twiddle(th), c), rel
            ):
                state["stop"] = True
                state["why"] = "stopped by callback"
            elif rel <= tol:
                state["why"] = f"relative error {rel:.3g} <= tol"
            elif any(it == k and rel > lvl for k, lvl in stall):
                state["why"] = f"stalled at relative error {rel:.3g} after {it} iterations"
            return state["why"] is not None

        theta, _, _ = run_lbfgs(obj, theta, iters, after)
        return theta, obj.rel_error(theta)

    best = None
    Ys = Y / scale
    for attempt in range(attempts):
        tries = []
        # a DFT start is one point for all 8 permutations (L-BFGS copies it); random
        # starts are drawn per permutation
        dft = attempt < len(STARTS)
        start = uparam.from_twiddle(dft_start(n, rng, STARTS[attempt])) if dft else None
        iters = min(SEARCH_ITER[not dft], max_iter)
        for p in first_level_permutations(n):
            obj = RealPartObjective(uparam, X[p], Ys)
            theta0 = start if dft else uparam.initial("ortho", rng)
            theta, rel = stage(obj, theta0, iters)
            tries.append((rel, p, theta, obj))
            if rel <= tol or state["stop"]:
                break
        rel, p, theta, obj = min(tries, key=lambda t: t[0])
        if rel > tol and not state["stop"]:
            theta, rel = stage(obj, theta, min(UNITARY_ITER, max_iter))
        tw = scaled(uparam.twiddle(theta), scale)
        msg = f"unitary stage: {rel:.3g}"
        if rel > tol and not state["stop"]:
            fobj = RealPartObjective(fparam, X[p], Y)
            ftheta, rel = stage(fobj, fparam.to_params(tw), max_iter, STALL)
            tw = fparam.twiddle(ftheta)
            msg += f"; free stage: {state['why'] or 'max_iter reached'}"
        if best is None or rel < best[0]:
            best = (rel, np.array(tw, dtype=np.complex128), p, msg)
        if rel <= tol or state["stop"]:
            break
    rel, tw, p, msg = best
    msg = f"real part ({attempt + 1} attempt{'s' if attempt else ''}; best {msg})"
    return tw, p, history, msg

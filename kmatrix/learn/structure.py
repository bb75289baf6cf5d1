"""Fit ``K @ P`` with ``P`` a learned recursive permutation (Dao et al., ICML 2019).

Stage 1 optimizes the twiddles of ``K`` together with the ``3 log2 n`` logits of a
relaxed :class:`~kmatrix.learn.permutations.RecursivePermutation` (in complex
arithmetic: the relaxation of real fits of :mod:`kmatrix.learn.relax`). Stage 2
rounds every choice, which gives an exact permutation ``p``; stage 3 fits ``K`` to
the permuted data ``(X[p], Y)`` with the permutation fixed. The result is the
ordinary K-matrix ``K @ km.permutation(p)``.
"""

from __future__ import annotations

__all__ = ["PermutedObjective", "learn_permutation"]

from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from .optimize import run_lbfgs
from .parametrizations import make_parametrization
from .permutations import RecursivePermutation
from ..backends.cpu.vjp import twiddle_vjp


class PermutedObjective:
    """Loss ``||K P X - Y||^2 / (2 ||Y||^2)`` in ``theta = [twiddle params, logits]``."""

    def __init__(
        self, param: Any, perm: RecursivePermutation, X: npt.NDArray, Y: npt.NDArray,
        mask: npt.NDArray | None = None,
    ) -> None:
        self.param = param
        self.mask = mask
        self.perm = perm
        self.compute = np.dtype(np.complex128 if param.complex else np.float64)
        self.X = np.ascontiguousarray(X, dtype=self.compute)
        self.Y = np.ascontiguousarray(Y, dtype=self.compute)
        self.y2 = float(np.vdot(self.Y, self.Y).real)
        self.split = param.size

    def parts(self, theta: npt.NDArray[np.float64]) -> tuple[npt.NDArray, npt.NDArray]:
        return theta[: self.split], theta[self.split :]

    def __call__(self, theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        tp, logits = self.parts(theta)
        px, tape = self.perm.apply(logits, self.X, tape=True)
        tw = np.asarray(self.param.twiddle(tp), dtype=self.compute)
        dx, dtw, sq = twiddle_vjp(
            tw, np.ascontiguousarray(px), self.Y, residual=True, scale=1.0 / self.y2
        )
        _, dlogits = self.perm.backward(tape, dx)
        gt = self.param.pullback(tp, dtw)
        if self.mask is not None:
            gt = gt * self.mask
        grad = np.concatenate([gt, dlogits])
        return 0.5 * sq / self.y2, grad

    def rel_error(self, theta: npt.NDArray[np.float64]) -> float:
        return float(np.sqrt(2 * self(theta)[0]))


def learn_permutation(
    X: npt.NDArray,
    Y: npt.NDArray,
    *,
    width: int,
    m: int,
    init: Any,
    rng: np.random.Generator,
    max_iter: int,
    after_iteration: Callable[[int, npt.NDArray[np.float64], float], bool],
    single: bool = True,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], int, str]:
    """Stage 1 and 2: relaxed joint fit, then the rounded permutation.

    ``X`` is ``(n, k)`` with ``n = 2**m`` (the permutation acts on its rows).
    Returns ``(p, theta, iterations, message)`` with ``p`` the index array
    (``P x == x[p]``).
    """
    n = 1 << m
    if X.shape[0] != n:
        raise ValueError(
            f"a learned permutation needs cols to be a power of two; got cols = {X.shape[0]}"
        )
    param = make_parametrization("free", 2 * width, m, True)
    perm = RecursivePermutation(n)
    mask = None
    tp = param.initial(init, rng)
    if single:
        # Only the last block (an increasing-stride butterfly B, as in B P = DFT)
        # learns in stage 1; the others stay the identity.
        mask = np.zeros(param.param_shape)
        mask[-1] = 1
        tw0 = np.zeros(param.tw_shape, dtype=param.dtype)
        tw0[..., 0, 0] = tw0[..., 1, 1] = 1
        tw0[-1] = param.twiddle(tp)[-1]
        tp = param.to_params(tw0)
        mask = mask.ravel()
    obj = PermutedObjective(param, perm, X, Y, mask)
    # Balance the scale of the factors to the data, as fit does for a free init.
    tw = np.asarray(param.twiddle(tp), dtype=obj.compute)
    px = perm.apply(np.zeros(perm.size), obj.X)
    _, _, sq = twiddle_vjp(tw, np.ascontiguousarray(px), obj.Y * 0, residual=True)
    if sq > 0:
        scale = (obj.y2 / sq) ** (0.5 / (tw.shape[1] if single else tw.shape[0] * tw.shape[1]))
        tp = tp * (scale if mask is None else np.where(mask > 0, scale, 1.0))
    theta = np.concatenate([tp, perm.initial(rng)])
    theta, its, msg = run_lbfgs(obj, theta, max_iter, after_iteration)
    return perm.indices(obj.parts(theta)[1]), theta, its, msg

"""The relaxed recursive permutation of Dao et al. (ICML 2019) and its hard rounding.

A permutation of size ``n = 2**m`` is built in ``m`` levels. Level ``l`` splits the
vector into ``2**l`` consecutive blocks of size ``s = n / 2**l`` and applies, to
every block alike, three binary choices in turn:

1. *separate*: ``[x0, x1, ..., x_{s-1}] -> [x0, x2, ..., x1, x3, ...]`` (evens first);
2. *reverse the first half* of the block;
3. *reverse the second half* of the block.

Choosing "separate" at every level and nothing else gives the bit reversal of the
Cooley-Tukey FFT; the family also holds the orderings behind the DCT, DST and
Hartley transforms. Each choice is relaxed to a mixture ``y = a C x + (1 - a) x``
with ``a = sigmoid(logit)``, so the level, and the product of the levels, is a
doubly stochastic matrix differentiable in the ``3 m`` logits; rounding every ``a``
to 0 or 1 gives an exact permutation (:meth:`RecursivePermutation.indices`).
"""

from __future__ import annotations

__all__ = ["RecursivePermutation"]

from typing import Any

import numpy as np
import numpy.typing as npt

from .._layout import log2_exact


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def _separate(b):
    """Evens then odds inside every block; ``b`` has shape ``(blocks, s, k)``."""
    return np.concatenate([b[:, 0::2], b[:, 1::2]], axis=1)


def _interleave(b):
    """Inverse (= adjoint) of :func:`_separate`."""
    s = b.shape[1]
    out = np.empty_like(b)
    out[:, 0::2] = b[:, : s // 2]
    out[:, 1::2] = b[:, s // 2 :]
    return out


class RecursivePermutation:
    """Relaxed recursive permutation of size ``n``: ``3 log2(n)`` logits.

    Parameters
    ----------
    n : int
        A power of two ``>= 2``.

    Examples
    --------
    >>> import numpy as np
    >>> from kmatrix.learn.permutations import RecursivePermutation
    >>> rp = RecursivePermutation(8)
    >>> logits = np.tile([20.0, -20.0, -20.0], 3)      # "separate" at every level
    >>> rp.indices(logits)                               # the bit reversal
    array([0, 4, 2, 6, 1, 5, 3, 7])
    >>> np.allclose(rp.apply(logits, np.eye(8)), np.eye(8)[[0, 4, 2, 6, 1, 5, 3, 7]])
    True
    """

    def __init__(self, n):
        self.n = int(n)
        self.m = log2_exact(self.n)
        if self.m < 1:
            raise ValueError(f"a recursive permutation needs n >= 2; got {n}")
        self.size = 3 * self.m

    def initial(self, rng: np.random.Generator, scale: float = 0.1) -> npt.NDArray[np.float64]:
        """Logits near 0 (every choice half made), slightly randomized."""
        return scale * rng.standard_normal(self.size)

    def apply(self, logits: npt.NDArray[np.float64], x: npt.NDArray, *, tape: bool = False) -> Any:
        """``P(logits) @ x`` for ``x`` of shape ``(n,)`` or ``(n, k)``."""
        a = _sigmoid(np.asarray(logits, dtype=np.float64).reshape(self.m, 3))
        x = np.asarray(x)
        y = x.reshape(self.n, -1)
        saved = []
        for lev in range(self.m):
            s = self.n >> lev
            h = s // 2
            b = y.reshape(-1, s, y.shape[1])
            z0 = b
            z1 = a[lev, 0] * _separate(z0) + (1 - a[lev, 0]) * z0
            z2 = z1.copy()
            z2[:, :h] = a[lev, 1] * z1[:, h - 1 :: -1] + (1 - a[lev, 1]) * z1[:, :h]
            z3 = z2.copy()
            z3[:, h:] = a[lev, 2] * z2[:, : h - 1 : -1] + (1 - a[lev, 2]) * z2[:, h:]
            if tape:
                saved.append((z0, z1, z2))
            y = z3.reshape(self.n, -1)
        y = y.reshape(x.shape)
        return (y, (a, saved)) if tape else y

    def backward(self, tape: Any, g: npt.NDArray) -> tuple[npt.NDArray, npt.NDArray[np.float64]]:
        """Pull ``g = dL/d(P x)`` back: returns ``(dL/dx, dL/dlogits)``.

        ``g`` follows the complex convention ``dL/dRe + 1j dL/dIm``; the logits are
        real, so their gradient is ``Re(sum(conj(g) * dy/dlogit))``.
        """
        a, saved = tape
        g = np.asarray(g)
        shape = g.shape
        gy = g.reshape(self.n, -1)
        da = np.zeros((self.m, 3))
        for lev in range(self.m - 1, -1, -1):
            s = self.n >> lev
            h = s // 2
            z0, z1, z2 = saved[lev]
            g3 = gy.reshape(-1, s, gy.shape[1])
            # step 3 changes only the second half
            r2 = z2[:, : h - 1 : -1] - z2[:, h:]
            da[lev, 2] = np.real(np.vdot(r2, g3[:, h:]))
            g2 = g3.copy()
            g2[:, h:] = a[lev, 2] * g3[:, : h - 1 : -1] + (1 - a[lev, 2]) * g3[:, h:]
            r1 = z1[:, h - 1 :: -1] - z1[:, :h]
            da[lev, 1] = np.real(np.vdot(r1, g2[:, :h]))
            g1 = g2.copy()
            g1[:, :h] = a[lev, 1] * g2[:, h - 1 :: -1] + (1 - a[lev, 1]) * g2[:, :h]
            da[lev, 0] = np.real(np.vdot(_separate(z0) - z0, g1))
            g0 = a[lev, 0] * _interleave(g1) + (1 - a[lev, 0]) * g1
            gy = g0.reshape(self.n, -1)
        return gy.reshape(shape), (da * a * (1 - a)).ravel()

    def choices(self, logits: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Hard choices ``(m, 3)`` of booleans: ``sigmoid(logit) >= 1/2``."""
        return np.asarray(logits, dtype=np.float64).reshape(self.m, 3) >= 0

    def indices(self, logits: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        """Index array ``p`` of the rounded permutation: ``P_hard @ x == x[p]``."""
        hard = np.where(self.choices(logits), 50.0, -50.0).ravel()
        # With saturated weights every mixture is exactly one of its two terms, and
        # integers below 2**53 are carried exactly.
        image = self.apply(hard, np.arange(self.n, dtype=np.float64))
        return np.rint(image).astype(np.intp)

"""A data-driven start for ``parametrization="permutation"``: match, then route.

Gradient descent on the soft swaps of a Beneš network from a random start rarely
finds a hidden permutation (size 64, ``4n`` random pairs: 0 of 4 seeds in 1000
L-BFGS iterations; the relaxed landscape is full of mixtures that average rows).
When the data are (close to) ``Y = P X``, the rows of ``Y`` are (close to) rows of
``X``: :func:`matched_permutation` pairs them by the largest total cosine
similarity (an assignment problem), and :func:`route_logits` sets the switches of
the network to route that permutation (the looping algorithm of Beneš / Waksman),
as logits of a moderate strength. The fit then *learns* from there: it keeps the
routing only if it explains the data, and moves away from it otherwise.
"""

from __future__ import annotations

__all__ = ["matched_permutation", "route_logits"]

import numpy as np
import numpy.typing as npt

# Logit of a switch in the start: sigmoid(4) ~ 0.982, decided but with a usable gradient.
START_LOGIT = 4.0


def matched_permutation(X: npt.NDArray, Y: npt.NDArray) -> npt.NDArray[np.intp]:
    """Index array ``p`` maximizing ``sum_j cos(Y[j], X[p[j]])`` (so ``Y ~ X[p]``).

    ``X`` and ``Y`` are ``(n, k)``; rows of zero norm count as orthogonal to all.
    """
    from scipy.optimize import linear_sum_assignment  # lazy: SciPy's optimize is slow to import

    def unit(a):
        nrm = np.linalg.norm(a, axis=1, keepdims=True)
        return a / np.where(nrm > 0, nrm, 1)

    sim = np.real(unit(Y) @ unit(X).conj().T)
    rows, cols = linear_sum_assignment(sim, maximize=True)
    p = np.empty(len(rows), dtype=np.intp)
    p[rows] = cols
    return p


def route_logits(
    p: npt.ArrayLike, m: int, width: int = 1, strength: float = START_LOGIT
) -> npt.NDArray[np.float64]:
    """Soft-swap logits, shape ``(2 * width, m, 2**(m-1))``, that route ``x -> x[p]``.

    Block 0 (strides ``n/2, ..., 1``) and block 1 (strides ``1, ..., n/2``) form a Beneš
    network: the outer stages at stride ``s/2`` of a segment of size ``s`` send the
    two entries of every pair into different halves, the halves are routed
    recursively, and the innermost stage of block 1 is the identity. Further blocks
    (``width > 1``) are set to the identity. ``+strength`` keeps a pair, ``-strength``
    swaps it.
    """
    n = 1 << m
    p = np.asarray(p, dtype=np.intp)
    if p.shape != (n,) or not np.array_equal(np.sort(p), np.arange(n)):
        raise ValueError(f"p must be a permutation of range({n}); got {p!r}")
    swap = np.zeros((2 * width, m, n // 2), dtype=bool)
    _route(p, 0, 0, m, swap)
    return np.where(swap, -strength, strength)


def _route(p, offset, level, m, swap):
    """Route ``y = x[p]`` on the segment ``[offset, offset + len(p))`` from ``level``."""
    s = len(p)
    h = s // 2
    first = offset // 2  # pair index of (offset, offset + h) at stride h
    if s == 2:
        swap[0, m - 1, first] = p[0] == 1
        return
    pos = np.empty(s, dtype=np.intp)  # pos[x] = j with p[j] = x
    pos[p] = np.arange(s)
    def partner(i):
        return i + h if i < h else i - h

    upper = np.full(s, -1)  # 1: element (input index) goes through the upper half
    for start in range(s):
        # Follow the cycle of constraints: the two inputs of an input switch, and the
        # two elements wanted by an output switch, take different halves.
        x = start
        while upper[x] < 0:
            upper[x] = 1
            y = p[partner(pos[x])]
            upper[y] = 0
            x = partner(y)
    # Input stage (block 0, factor level): pair k holds (k, k + h); swap if k goes lower.
    k = np.arange(h)
    swap[0, level, first + k] = upper[k] == 0
    # Output stage (block 1, factor m - 1 - level): y[j] from upper unless p[j] is lower.
    swap[1, m - 1 - level, first + k] = upper[p[k]] == 0
    # Sub-permutations: the upper half carries, at position k, the upper one of
    # inputs (k, k + h); it must deliver at position j the upper one of p[j], p[j + h].
    up_in = np.where(upper[k] == 1, k, k + h)
    lo_in = np.where(upper[k] == 1, k + h, k)
    up_out = np.where(upper[p[k]] == 1, p[k], p[k + h])
    lo_out = np.where(upper[p[k]] == 1, p[k + h], p[k])
    where_up = np.empty(s, dtype=np.intp)
    where_up[up_in] = k
    where_lo = np.empty(s, dtype=np.intp)
    where_lo[lo_in] = k
    _route(where_up[up_out], offset, level + 1, m, swap)
    _route(where_lo[lo_out], offset + h, level + 1, m, swap)

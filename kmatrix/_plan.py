"""Execution plan of a twiddle: what the kernel must really compute.

Many exact constructions are mostly bookkeeping: a permutation is a BB* of 0/1 swaps,
the DFT's second BB* has an idle block. The plan, computed once per operator and
dtype, turns a leading run of swap-only factors into one gather of the input rows and
a trailing run into one gather of the output rows, drops identity factors, and pairs
adjacent factors of one block for the fused (radix-4) kernel step.
"""

__all__ = ["Plan", "make_plan"]

from dataclasses import dataclass

import numpy as np

from ._layout import pair_indices, stride


@dataclass(frozen=True)
class Plan:
    """``y = (E_steps (x_padded[gather_in]))[gather_out]``; ``None`` gathers are identities."""

    steps: np.ndarray  # int64 (S, 3): block, first factor, number of factors (1 or 2)
    gather_in: np.ndarray | None
    gather_out: np.ndarray | None


def _classify(tw):
    """Per factor: 0 = identity, 1 = every 2x2 is I or the swap [[0,1],[1,0]], 2 = general."""
    t00, t01, t10, t11 = tw[..., 0, 0], tw[..., 0, 1], tw[..., 1, 0], tw[..., 1, 1]
    ident = (t00 == 1) & (t11 == 1) & (t01 == 0) & (t10 == 0)
    swap = (t00 == 0) & (t11 == 0) & (t01 == 1) & (t10 == 1)
    kind = np.full(tw.shape[:2], 2, dtype=np.int8)
    kind[np.all(ident | swap, axis=2)] = 1
    kind[np.all(ident, axis=2)] = 0
    swaps = swap  # (blocks, m, N/2)
    return kind, swaps


def _compose_swaps(factors, swaps, n, m):
    g = np.arange(n)
    for blk, j in factors:
        p, q = pair_indices(n, stride(blk, j, m))
        s = swaps[blk, j]
        p, q = p[s], q[s]
        g[p], g[q] = g[q].copy(), g[p].copy()
    return g


def make_plan(tw):
    """Build the :class:`Plan` of a canonical twiddle (any dtype)."""
    nb, m = tw.shape[:2]
    n = 1 << m
    kind, swaps = _classify(tw)
    order = [(b, j) for b in range(nb) for j in range(m)]
    lead = 0
    while lead < len(order) and kind[order[lead]] < 2:
        lead += 1
    trail = len(order)
    while trail > lead and kind[order[trail - 1]] < 2:
        trail -= 1
    gather_in = _compose_swaps(order[:lead], swaps, n, m) if lead else None
    gather_out = _compose_swaps(order[trail:], swaps, n, m) if trail < len(order) else None
    if gather_in is not None and np.array_equal(gather_in, np.arange(n)):
        gather_in = None
    if gather_out is not None and np.array_equal(gather_out, np.arange(n)):
        gather_out = None
    active = [(b, j) for (b, j) in order[lead:trail] if kind[b, j] != 0]
    steps = []
    i = 0
    while i < len(active):
        b, j = active[i]
        if i + 1 < len(active) and active[i + 1] == (b, j + 1):
            steps.append((b, j, 2))
            i += 2
        else:
            steps.append((b, j, 1))
            i += 1
    steps = np.array(steps, dtype=np.int64).reshape(-1, 3)
    return Plan(steps, gather_in, gather_out)

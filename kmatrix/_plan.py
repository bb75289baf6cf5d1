"""Execution plan of a twiddle: what the kernel must really compute, and in what order.

Many exact constructions are mostly bookkeeping: a permutation is a BB* of 0/1 swaps,
the DFT's second BB* has an idle block. The plan, computed once per operator, turns a
leading run of swap-only factors into one gather of the input rows and a trailing run
into one gather of the output rows, drops identity factors, pairs adjacent factors of
one block into fused (radix-4) steps, and groups steps into cache-blocking phases
(see :mod:`kmatrix.kernels.cpu`). :func:`pack` lays the 2x2 maps out in the order the
kernels read them.
"""

__all__ = ["Plan", "make_plan", "pack", "CHUNK_ROWS"]

from dataclasses import dataclass

import numpy as np

from ._layout import pair_indices, stride

# Rows per chunk in chunk phases (strides below this act inside a chunk).
CHUNK_ROWS = 256


@dataclass(frozen=True)
class Plan:
    """``y = (E_steps (x_padded[gather_in]))[gather_out]``; ``None`` gathers are identities."""

    size: int  # internal size N
    factors: tuple  # ((block, first factor, number of factors), ...) per step
    steps: np.ndarray  # int64 (S, 4): stride a, stride b (fused) or 0, packed offset, nfactors
    phases: np.ndarray  # int64 (P, 3): kind (0 chunk, 1 slab), first step, end step
    chunk: int
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
    return kind, swap


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
    chunk = min(n, CHUNK_ROWS)
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

    factors, rows, phases = [], [], []
    offset = 0
    i = 0
    while i < len(active):
        b, j = active[i]
        a = stride(b, j, m)
        big = a >= chunk
        if (
            i + 1 < len(active)
            and active[i + 1] == (b, j + 1)
            and (stride(b, j + 1, m) >= chunk) == big
        ):
            factors.append((b, j, 2))
            rows.append((a, stride(b, j + 1, m), offset, 2))
            offset += 4 * n
            i += 2
        else:
            factors.append((b, j, 1))
            rows.append((a, 0, offset, 1))
            offset += 2 * n
            i += 1
        k = 1 if big else 0
        if phases and phases[-1][0] == k:
            phases[-1][2] += 1
        else:
            phases.append([k, len(rows) - 1, len(rows)])
    return Plan(
        n,
        tuple(factors),
        np.array(rows, dtype=np.int64).reshape(-1, 4),
        np.array(phases, dtype=np.int64).reshape(-1, 3),
        chunk,
        gather_in,
        gather_out,
    )


def _insert_zero_bits(g, lo, nbits):
    return (g // lo) * (lo << nbits) + (g & (lo - 1))


def pack(plan, tw):
    """The 2x2 maps of ``plan``'s steps, flattened in kernel read order (1-D, tw's dtype)."""
    nb, m = tw.shape[:2]
    n = 1 << m
    parts = []
    for (b, j, nf), (sa, sb, _, _) in zip(plan.factors, plan.steps):
        if nf == 1:
            parts.append(tw[b, j].reshape(-1))
            continue
        g = np.arange(n // 4)
        x0 = _insert_zero_bits(g, min(sa, sb), 2)
        x1, x2 = x0 + sa, x0 + sb

        def pair(p, st):
            return (p // (2 * st)) * st + (p & (st - 1))

        blocks = [
            tw[b, j, pair(x0, sa)], tw[b, j, pair(x2, sa)],
            tw[b, j + 1, pair(x0, sb)], tw[b, j + 1, pair(x1, sb)],
        ]
        parts.append(np.stack([blk.reshape(-1, 4) for blk in blocks], axis=1).reshape(-1))
    if not parts:
        return np.zeros(0, dtype=tw.dtype)
    return np.ascontiguousarray(np.concatenate(parts))

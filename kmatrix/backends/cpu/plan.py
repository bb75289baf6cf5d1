"""Execution plan of a twiddle: what the kernel must really compute, and in what order.

Many exact constructions are mostly bookkeeping: a permutation is a BB* of 0/1 swaps,
the DFT's second BB* has an idle block. The plan, computed once per operator, turns a
leading run of swap-only factors into one gather of the input rows and a trailing run
into one gather of the output rows, drops identity factors, pairs adjacent factors of
one block into fused (radix-4) steps, and groups steps into cache-blocking phases
(see :mod:`kmatrix.kernels.cpu`). :func:`pack` lays the 2x2 maps out in the order the
kernels read them.
"""

__all__ = ["Plan", "make_plan", "pack", "chunk_rows", "CHUNK_ROWS"]

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..._layout import pair_indices, stride

# Rows per chunk in chunk phases (strides below this act inside a chunk); None: chosen
# per size by chunk_rows(). Tests set it to force phases at small sizes.
CHUNK_ROWS = None


def chunk_rows(n):
    """Chunk size ``C`` for internal size ``n``.

    Up to 512 rows one chunk holds everything (a tile stays in L2). Beyond, ``C ~ sqrt(N)`` with an
    even ``log2 C``, so that a BB* of even ``m`` splits into an even number of factors on
    each side of ``C`` and every factor pairs into a fused step (measured: 64 at N = 4096
    and 256 at N = 16384 beat 128 by 10-30 %; 64 at N = 1024, batch 64, beat one chunk by 15-30 %).
    """
    if CHUNK_ROWS is not None:
        return min(n, CHUNK_ROWS)
    if n <= 512:
        return n
    m = n.bit_length() - 1
    c = m // 2
    if c % 2:
        c += 1
    return 1 << c


@dataclass(frozen=True)
class Plan:
    """``y = (segments applied to x_padded[gather_in])[gather_out]``.

    ``segments`` is a tuple whose items are either a gather (1-D index array: the data
    becomes ``data[idx]``, a run of swap-only factors) or a pair ``(steps, phases)``
    for one kernel call: ``steps`` int64 (S, 4) = stride a, stride b (fused) or 0,
    offset into the packed maps, number of factors; ``phases`` int64 (P, 3) = kind
    (0 chunk, 1 slab), first step, end step (indices into ``steps``). ``None``
    gathers are identities.
    """

    size: int  # internal size N
    factors: tuple  # ((block, first factor, number of factors), ...) for every step, in order
    segments: tuple
    chunk: int
    gather_in: np.ndarray | None
    gather_out: np.ndarray | None

    @property
    def has_gathers(self):
        """Whether a swap-only run sits between kernel segments (a row gather)."""
        return any(not isinstance(s, tuple) for s in self.segments)

    @property
    def steps(self):
        """All kernel steps of all segments, in order (int64, (S, 4))."""
        parts = [s[0] for s in self.segments if isinstance(s, tuple)]
        return np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64)

    @cached_property
    def program(self):
        """The plan flattened for :mod:`kmatrix.kernels.cpu_vector`.

        ``(steps, segs, gathers, gin, gout)``: all steps; per segment ``(0, first step,
        end step)`` or ``(1, gather number, 0)``; the gathers (int64, (G, N)); the
        input and output gathers (empty arrays for none).
        """
        segs, gathers, s0 = [], [], 0
        for seg in self.segments:
            if isinstance(seg, tuple):
                segs.append((0, s0, s0 + len(seg[0])))
                s0 += len(seg[0])
            else:
                segs.append((1, len(gathers), 0))
                gathers.append(seg)
        none = np.zeros(0, dtype=np.int64)
        return (
            self.steps,
            np.array(segs, dtype=np.int64).reshape(-1, 3),
            np.array(gathers, dtype=np.int64).reshape(-1, self.size),
            none if self.gather_in is None else self.gather_in.astype(np.int64),
            none if self.gather_out is None else self.gather_out.astype(np.int64),
        )

    @property
    def phases(self):
        """Phases of the kernel segments, concatenated (indices local to each segment)."""
        parts = [s[1] for s in self.segments if isinstance(s, tuple)]
        return np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)


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
    chunk = chunk_rows(n)
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
    factors, segments = [], []
    offset = 0
    middle = order[lead:trail]
    i = 0
    while i < len(middle):
        # a run of identity/swap factors with at least one swap becomes one gather
        e = i
        while e < len(middle) and kind[middle[e]] < 2:
            e += 1
        run = middle[i:e]
        if any(kind[f] == 1 for f in run):
            segments.append(_compose_swaps(run, swaps, n, m))
        i = e
        e = i
        while e < len(middle) and not (kind[middle[e]] == 1):
            e += 1
        active = [f for f in middle[i:e] if kind[f] == 2]
        if active:
            steps, phases, offset = _steps_for(active, n, m, chunk, offset, factors)
            segments.append((steps, phases))
        i = e
    return Plan(n, tuple(factors), tuple(segments), chunk, gather_in, gather_out)


def _steps_for(active, n, m, chunk, offset, factors):
    """Fused/single steps and cache phases for general factors ``active`` (in order)."""
    rows, phases = [], []
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
    steps = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return steps, np.array(phases, dtype=np.int64).reshape(-1, 3), offset


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

"""Benes networks: the switch settings that realize a permutation in ``BB*``.

Theorem 2 of Dao et al. (2020): every permutation matrix is in ``BB*`` (width 1,
expansion 1).  A decreasing-stride butterfly followed by an increasing-stride one is a
Benes network (strides ``N/2, ..., 2, 1, 1, 2, ..., N/2``; the repeated stride-1 stage
is the identity here), and a Benes network is rearrangeable: every permutation is
realized by setting each 2x2 switch to ``[[1, 0], [0, 1]]`` or ``[[0, 1], [1, 0]]``.
This module works on twiddles only; :func:`kmatrix.permutation` wraps it.
"""

__all__ = [
    "route",
    "swap_twiddle",
    "bit_reverse_indices",
    "pair_of",
    "pair_lows",
    "permutation_swaps",
    "permutation_twiddle",
]

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from ._layout import internal_size_for, log2_exact


def route(p):
    """Switch settings of the Benes network that maps ``x`` to ``x[p]``.

    ``p`` is a permutation of ``range(N)``, ``N = 2**m >= 2``.  Returns a boolean array
    ``swap`` of shape ``(2, m, N//2)`` in the canonical order: ``swap[0, j]`` are the
    switches of factor ``j`` of the decreasing-stride block, ``swap[1, j]`` those of
    factor ``j`` of the increasing-stride block.

    Looping algorithm, all sub-networks of one recursion level at once.  Position ``a``
    holds a token that must reach output ``dst[a]`` (``dst = p^-1``).  At level ``k``
    (sub-networks of size ``2h``, ``h = N >> (k+1)``) each token gets a colour ``c``:
    the half-network it goes through.  Tokens ``a`` and ``a ^ h`` share an input switch,
    the tokens for outputs ``o`` and ``o ^ h`` share an output switch; both pairs must
    get different colours.  With ``sigma(a) = output partner of (input partner of a)``
    colours are constant on the cycles of ``sigma`` and opposite on ``a``, ``a ^ h``,
    which lie on different cycles, so colouring a token 1 exactly when its cycle's
    label exceeds its input partner's is a valid 2-colouring.  The cycles are found by
    ``scipy.sparse.csgraph.connected_components`` in O(N) per level: O(N log N) work
    and O(log N) NumPy passes in total.
    """
    n = p.size
    m = log2_exact(n)
    swap = np.zeros((2, m, n // 2), dtype=bool)
    pos = np.arange(n, dtype=np.intp)
    dst = np.empty(n, dtype=np.intp)
    dst[p] = pos
    posof = np.empty(n, dtype=np.intp)
    ones = np.ones(n, dtype=np.int8)
    indptr = np.arange(n + 1, dtype=np.intp)
    for k in range(m):
        h = n >> (k + 1)
        posof[dst] = pos
        if h == 1:
            # Last level: send every token straight to its output, so the
            # increasing block's stride-1 factor is the identity.
            colour = dst & 1
        else:
            sigma = posof[dst[pos ^ h] ^ h]
            # sigma is a permutation: its strong components are its cycles, and
            # the CSR arrays can be given directly (row a has one entry, sigma[a]).
            graph = csr_array((ones, sigma, indptr), shape=(n, n))
            labels = connected_components(graph, directed=True, connection="strong")[1]
            colour = (labels > labels[pos ^ h]).astype(np.intp)
        top = pos[(pos & h) == 0]  # lower ends of the pairs at stride h, in pair order
        swap[0, k] = colour[top] == 1
        swap[1, m - 1 - k] = colour[posof[top]] == 1
        new_pos = (pos & ~h) | (colour * h)
        new_dst = (dst & ~h) | (colour * h)
        dst = np.empty_like(dst)
        dst[new_pos] = new_dst
    return swap


def swap_twiddle(swap, dtype, out=None):
    """0/1 twiddle from switch settings of any leading shape ``(..., N//2)``.

    Written into ``out`` (C-contiguous, of that shape + ``(2, 2)``) when given.
    """
    table = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]]], dtype=dtype)
    return np.take(table, swap.view(np.uint8), axis=0, out=out)


def bit_reverse_indices(m):
    """``r[i]`` = ``i`` with its ``m`` bits reversed."""
    i = np.arange(1 << m, dtype=np.intp)
    r = np.zeros_like(i)
    for b in range(m):
        r |= ((i >> b) & 1) << (m - 1 - b)
    return r


def pair_of(pos, st):
    """Pair index of the pair whose lower end is ``pos`` at stride ``st``."""
    return (pos // (2 * st)) * st + (pos & (st - 1))


def pair_lows(n, st):
    """Lower ends ``p`` of the ``n//2`` pairs at stride ``st``, in pair order."""
    i = np.arange(n // 2, dtype=np.intp)
    lo = i & (st - 1)
    return 2 * (i - lo) + lo


def permutation_swaps(p, increasing_first=False):
    """Switch settings realizing ``x -> x[p]`` (``p`` a permutation of ``range(2**m)``).

    ``increasing_first=False`` returns the canonical ``B*`` then ``B`` network
    (:func:`route`).  ``increasing_first=True`` returns a ``B`` then ``B*`` network,
    shape ``(2, m, N//2)`` with ``[0]`` the increasing-stride block: it is the routing of
    the bit-reversal conjugate ``r p r``, because bit reversal maps stride ``st`` to
    ``N / (2 st)`` and keeps the lower end of every pair the lower end.
    """
    if not increasing_first:
        return route(p)
    n = p.size
    m = log2_exact(n)
    r = bit_reverse_indices(m)
    swap_rev = route(r[p[r]])
    out = np.empty_like(swap_rev)
    for b in range(2):
        for j in range(m):
            st_rev = 1 << (m - 1 - j) if b == 0 else 1 << j
            st_nat = n // (2 * st_rev)
            out[b, j, pair_of(r[pair_lows(n, st_rev)], st_nat)] = swap_rev[b, j]
    return out


def permutation_twiddle(p, dtype):
    """0/1 twiddle ``(2, m, N//2, 2, 2)`` of ``x -> x[p]``, ``p`` extended by the identity
    to the internal size ``N`` (the smallest power of two ``>= max(2, len(p))``)."""
    n = p.size
    big = internal_size_for(n, n)
    full = np.arange(big, dtype=np.intp)
    full[:n] = p
    return swap_twiddle(route(full), dtype)

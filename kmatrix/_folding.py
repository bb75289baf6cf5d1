"""Folding in products: diagonal and monomial (permutation times diagonal) factors.

A block list whose every 2x2 map is diagonal is a diagonal matrix, and one whose every
2x2 is diagonal or anti-diagonal is a permutation times a diagonal.  Such operands cost
no width in a product: a diagonal scales a neighbouring factor, and two adjacent
monomial ``BB*`` pairs are one monomial, routed again through one Beneš network.  The
theory page states the rule; :mod:`kmatrix._algebra` applies it in products.
"""

__all__ = ["monomial", "diagonal", "simplify", "scale_last_rows", "scale_first_cols"]

import numpy as np

from ._benes import permutation_twiddle
from ._layout import pair_indices, stride


def monomial(pair):
    """``(src, coef)`` with ``E x = coef * x[src]`` if the blocks ``pair`` are monomial, else None.

    A block list is *monomial* when every 2x2 is diagonal ``[[a, 0], [0, b]]`` or
    anti-diagonal ``[[0, a], [b, 0]]``: each factor then moves every entry to one place
    and scales it, so the product is ``diag(coef) P`` with ``P`` a permutation (``src``
    a permutation of ``range(N)``).  Diagonal operators have ``src = arange(N)``.
    """
    off = (pair[..., 0, 1] == 0) & (pair[..., 1, 0] == 0)
    if not np.all(off | ((pair[..., 0, 0] == 0) & (pair[..., 1, 1] == 0))):
        return None
    nb, m = pair.shape[:2]
    n = 1 << m
    src = np.arange(n, dtype=np.intp)
    coef = np.ones(n, dtype=pair.dtype)
    for b in range(nb):
        for j in range(m):
            if off[b, j].all() and np.all((pair[b, j, :, 0, 0] == 1) & (pair[b, j, :, 1, 1] == 1)):
                continue  # identity factor
            p, q = pair_indices(n, stride(b, j, m))
            t, anti = pair[b, j], ~off[b, j]
            sp, sq, cp, cq = src[p], src[q], coef[p], coef[q]
            src[p] = np.where(anti, sq, sp)
            src[q] = np.where(anti, sp, sq)
            coef[p] = np.where(anti, t[:, 0, 1] * cq, t[:, 0, 0] * cp)
            coef[q] = np.where(anti, t[:, 1, 0] * cp, t[:, 1, 1] * cq)
    return src, coef


def scale_last_rows(tw, d):
    """``diag(d) E``: the rows of the last factor (an increasing block's stride ``N/2``)."""
    half = tw.shape[2]
    tw[-1, -1, :, 0, :] *= d[:half, None]
    tw[-1, -1, :, 1, :] *= d[half:, None]


def scale_first_cols(tw, d):
    """``E diag(d)``: the columns of the first factor (a decreasing block's stride ``N/2``)."""
    half = tw.shape[2]
    tw[0, 0, :, :, 0] *= d[:half, None]
    tw[0, 0, :, :, 1] *= d[half:, None]


def _monomial_twiddle(src, coef, dtype):
    """One ``BB*`` of ``x -> coef * x[src]``: a Beneš routing, ``coef`` in its last factor."""
    tw = permutation_twiddle(src, dtype)
    scale_last_rows(tw, coef.astype(dtype, copy=False))
    return tw


def simplify(tw, start=0, stop=None):
    """Merge adjacent monomial ``BB*`` pairs among pairs ``start..stop-1`` of ``tw``.

    Two adjacent monomial pairs ``diag(c2) P2`` and ``diag(c1) P1`` have the monomial
    product ``diag(c2 * c1[s2]) P`` (``src = s1[s2]``), routed again as one ``BB*``
    (Beneš) with the scaling in its last factor.  A monomial pair that is a diagonal
    (``src`` the identity) is dropped when it has a neighbour: its diagonal scales the
    rows of the previous block's last factor, or the columns of the next block's
    first factor.  The 0/1 routing is exact; the scalings multiply the same numbers the
    factors did, so the result equals the original product to rounding.
    """
    npairs = tw.shape[0] // 2
    stop = npairs if stop is None else min(stop, npairs)
    start = max(start, 0)
    items = [tw[2 * i : 2 * i + 2] for i in range(npairs)]
    mono = [monomial(items[i]) if start <= i < stop else None for i in range(npairs)]
    if sum(x is not None for x in mono) == 0:
        return tw
    out_items, out_mono = [], []
    for item, mon in zip(items, mono):
        if mon is not None and out_mono and out_mono[-1] is not None:
            (s1, c1), (s2, c2) = out_mono[-1], mon
            out_mono[-1] = (s1[s2], c2 * c1[s2])
            out_items[-1] = None
        else:
            out_items.append(item)
            out_mono.append(mon)
    dtype = tw.dtype
    n = 2 * tw.shape[2]
    ident = np.arange(n)
    result = []
    pending = None  # a diagonal to fold into the next block's first factor
    for k, (item, mon) in enumerate(zip(out_items, out_mono)):
        if mon is not None and np.array_equal(mon[0], ident) and len(out_items) > 1:
            d = mon[1].astype(dtype, copy=False)
            if result:
                scale_last_rows(result[-1], d)
            else:
                pending = d if pending is None else pending * d
            continue
        block = np.array(item, copy=True) if mon is None else _monomial_twiddle(*mon, dtype)
        if pending is not None:
            scale_first_cols(block, pending)
            pending = None
        result.append(block)
    return np.concatenate(result, axis=0)


def diagonal(tw):
    """The diagonal of ``tw``'s operator if every 2x2 of every factor is diagonal, else None."""
    if np.any(tw[..., 0, 1] != 0) or np.any(tw[..., 1, 0] != 0):
        return None
    return monomial(tw)[1]

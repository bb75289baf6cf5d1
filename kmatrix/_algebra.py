"""Closure of the canonical layout: products, powers, sums, Kronecker products and scalars.

Each function takes operands as ``(twiddle, shape)`` pairs and returns the
``(twiddle, shape)`` of the result, so that the closure rules sit below the operator
class: :class:`kmatrix.KMatrix` and the constructors call them, they call nothing above
the layout.  Products, sums and Kronecker products only rearrange the operands'
factors (and fold a 0/1 mask or 0/1 frame around them), so their dense forms equal the
exact product, sum or Kronecker product of the operands' dense forms, up to the
rounding of applying them.  The certificate table is in the theory page of the docs.
"""

__all__ = [
    "compose",
    "chain",
    "power",
    "ksum",
    "kron",
    "kron_grid",
    "scale",
    "sum_frame",
    "pad_blocks",
    "placement",
    "stack_slots",
]

import numpy as np

from ._benes import permutation_twiddle
from ._checks import check_memory, twiddle_nbytes
from ._folding import diagonal, scale_first_cols, scale_last_rows, simplify
from ._layout import embed_twiddle, identity_twiddle


def pad_blocks(tw, nblocks):
    """Append identity blocks so that ``tw`` has ``nblocks`` blocks (parity is kept)."""
    if tw.shape[0] == nblocks:
        return tw
    extra = identity_twiddle(nblocks - tw.shape[0], tw.shape[1], tw.dtype)
    return np.concatenate([tw, extra], axis=0)


def compose(a, b):
    """``a @ b``: the blocks of ``b``, then those of ``a``; widths add, minus what folds.

    The ``S^T S`` between the two operands is the mask of the first ``inner``
    coordinates; it is folded into ``b``'s last factor, so it costs no width.  An
    operand that is a diagonal (every 2x2 of every factor diagonal) is folded into the
    other's outer factor (rows of ``b``'s last factor, columns of ``a``'s first), and
    monomial (permutation times diagonal) pairs that meet at the junction are merged
    by :func:`simplify`.
    """
    (ta, (ra, ca)), (tb, (rb, cb)) = a, b
    if ca != rb:
        raise ValueError(
            f"dimension mismatch: cannot compose operators of shapes {(ra, ca)} and {(rb, cb)} "
            f"(inner dimensions {ca} and {rb} differ)"
        )
    dtype = np.result_type(ta.dtype, tb.dtype)
    m = max(ta.shape[1], tb.shape[1])
    n = 1 << m
    nb = ta.shape[0] + tb.shape[0]
    check_memory(2 * twiddle_nbytes(nb, n, dtype), f"a product of width {nb // 2} at N = {n}")
    ta = embed_twiddle(ta.astype(dtype, copy=False), m)
    tb = np.array(embed_twiddle(tb.astype(dtype, copy=False), m), copy=True)
    _mask_last_rows(tb, ca)
    diag_a = diagonal(ta)
    if diag_a is not None:
        scale_last_rows(tb, diag_a)
        return tb, (ra, cb)
    diag_b = diagonal(tb)
    if diag_b is not None:
        ta = np.array(ta, copy=True)
        scale_first_cols(ta, diag_b)
        return ta, (ra, cb)
    junction = tb.shape[0] // 2
    out = simplify(np.concatenate([tb, ta], axis=0), junction - 1, junction + 1)
    return out, (ra, cb)


def _mask_last_rows(tw, inner):
    """Zero the rows ``>= inner`` of the last factor (the ``S^T S`` of a product)."""
    n = 2 * tw.shape[2]
    if inner < n:
        i = np.arange(n // 2)
        tw[-1, -1, :, 0, :] *= (i < inner)[:, None]
        tw[-1, -1, :, 1, :] *= (i + n // 2 < inner)[:, None]


def chain(operands):
    """The product of ``operands`` listed in application order (the first is applied first).

    One concatenation instead of ``len - 1`` products (linear, not quadratic, in the
    number of operands): every operand is embedded at the largest internal size, the
    mask of each junction is folded into the earlier operand's last factor, and
    :func:`simplify` merges the monomial pairs that meet anywhere in the result.
    """
    for k in range(1, len(operands)):
        (_, (rb, cb)), (_, (ra, ca)) = operands[k - 1], operands[k]
        if ca != rb:
            raise ValueError(
                f"dimension mismatch: operand {k} has shape {(ra, ca)}, operand {k - 1} {(rb, cb)}"
            )
    dtype = np.result_type(*(t.dtype for t, _ in operands))
    m = max(t.shape[1] for t, _ in operands)
    parts = []
    for k, (t, (rows, _)) in enumerate(operands):
        t = np.array(embed_twiddle(t.astype(dtype, copy=False), m), copy=True)
        if k < len(operands) - 1:
            _mask_last_rows(t, rows)
        parts.append(t)
    tw = simplify(np.concatenate(parts, axis=0))
    return tw, (operands[-1][1][0], operands[0][1][1])


def power(a, k):
    """``a ** k`` for a square operand and an integer ``k >= 0`` (``k = 0``: the identity).

    Repeated squaring of :func:`compose`: width at most ``k w`` (less where diagonals
    and permutations fold), same internal size.
    """
    tw, shape = a
    if k == 0:
        return identity_twiddle(2, tw.shape[1], tw.dtype), shape
    result, base = None, a
    while True:
        if k & 1:
            result = base if result is None else compose(base, result)
        k >>= 1
        if not k:
            return result
        base = compose(base, base)


def scale(a, c):
    """``c * a``, the scalar folded into the first factor."""
    tw, shape = a
    dtype = np.result_type(tw.dtype, c)
    out = tw.astype(dtype, copy=True)
    out[0, 0] *= c
    return out, shape


def sum_frame(nblocks, m, k, dtype):
    """Twiddle of a ``k``-term sum with slots of size ``2**m``, all but the terms filled in.

    Returns ``(tw, levels)`` with ``K = 2**levels = 2**ceil(log2 k)`` slots. Slot ``t``
    (coordinates ``[t*N, (t+1)*N)``) is to run term ``t``: at strides below ``N`` its
    pairs are exactly pair indices ``[t*N/2, (t+1)*N/2)`` (the pair index is the
    coordinate with one bit removed, and that bit lies below the slot bits), which are
    left zero here, as are unused slots. Those strides are factors ``levels..`` of even
    blocks and factors ``..m-1`` of odd blocks.
    """
    levels = (k - 1).bit_length()
    half = 1 << (m - 1)
    check_memory(twiddle_nbytes(nblocks, 1 << (m + levels), dtype),
                 f"a sum of {k} terms at N = {1 << (m + levels)}")
    tw = np.zeros((nblocks, m + levels, half << levels, 2, 2), dtype=dtype)
    if levels == 0:
        return tw, levels
    # Top strides (>= N): identity keeps the slots apart in the middle blocks.
    tw[0::2, :levels, :, 0, 0] = 1
    tw[0::2, :levels, :, 1, 1] = 1
    tw[1::2, m:, :, 0, 0] = 1
    tw[1::2, m:, :, 1, 1] = 1
    # Replicate: y[p] = y[q] = x[p], from stride K*N/2 down to N (the first factors of
    # block 0), copies slot 0 (the zero-padded input) into every slot.
    top = tw[0, :levels]
    top[...] = 0
    top[..., 0, 0] = 1
    top[..., 1, 0] = 1
    # Sum: y[p] = x[p] + x[q], y[q] = 0, from stride N up to K*N/2 (the last factors of
    # the last block), gathers every slot into slot 0, which holds the output.
    top = tw[-1, m:]
    top[...] = 0
    top[..., 0, 0] = 1
    top[..., 0, 1] = 1
    return tw, levels


def ksum(terms):
    """Sum of ``k >= 1`` operands of one shape: a replicate frame, the terms side by
    side in slots, a sum frame (see :func:`sum_frame`)."""
    shape = terms[0][1]
    if any(s != shape for _, s in terms):
        raise ValueError(
            f"dimension mismatch: a sum needs operands of one shape; got shapes {[s for _, s in terms]}"
        )
    dtype = np.result_type(*(t.dtype for t, _ in terms))
    m = max(t.shape[1] for t, _ in terms)
    nblocks = max(t.shape[0] for t, _ in terms)
    if len(terms) == 1:
        return pad_blocks(embed_twiddle(terms[0][0].astype(dtype), m), nblocks), shape
    tw, levels = sum_frame(nblocks, m, len(terms), dtype)
    half = 1 << (m - 1)
    for t, (term, _) in enumerate(terms):
        part = pad_blocks(embed_twiddle(term.astype(dtype, copy=False), m), nblocks)
        slot = slice(t * half, (t + 1) * half)
        tw[0::2, levels:, slot] = part[0::2]
        tw[1::2, :m, slot] = part[1::2]
    return tw, shape


def stack_slots(twiddles):
    """Twiddle of ``[E_0; E_1; ...; E_{k-1}]`` (rows stacked) for ``k`` operators of one size.

    The frame of :func:`ksum` without its final sum: the first block's top strides
    replicate the input into ``2**ceil(log2 k)`` slots, slot ``t`` runs ``E_t``, and the
    slots stay apart, so coordinates ``[t N, (t + 1) N)`` hold ``E_t x``.
    """
    k = len(twiddles)
    nblocks, m = twiddles[0].shape[:2]
    dtype = np.result_type(*(t.dtype for t in twiddles))
    tw, levels = sum_frame(nblocks, m, k, dtype)
    if levels:
        top = tw[-1, m:]
        top[...] = 0
        top[..., 0, 0] = 1
        top[..., 1, 1] = 1
    half = 1 << (m - 1)
    for t, part in enumerate(twiddles):
        slot = slice(t * half, (t + 1) * half)
        tw[0::2, levels:, slot] = part[0::2]
        tw[1::2, :m, slot] = part[1::2]
    return tw


def _spread(n_outer, n_inner, stride_inner, size):
    """Permutation ``p`` of ``range(size)`` with ``p[a*stride_inner + b] = a*n_inner + b``.

    For ``a < n_outer``, ``b < n_inner``; the other positions take the other indices in
    increasing order (:func:`placement`). ``x[p]`` moves packed index ``a*n_inner + b``
    to ``a*stride_inner + b`` and, as ``x`` is zero beyond the packed range, leaves
    zeros everywhere else.
    """
    a, b = np.meshgrid(np.arange(n_outer), np.arange(n_inner), indexing="ij")
    return placement((a * stride_inner + b).ravel(), size)


def kron(a, b):
    """``numpy.kron(A, B)``: ``A``'s strides above ``B``'s in every block.

    When a logical side of ``B`` is narrower than its internal size, an exact 0/1
    permutation spreads the input (or packs the output) first, one block each.
    """
    (ta, (ra, ca)), (tb, (rb, cb)) = a, b
    dtype = np.result_type(ta.dtype, tb.dtype)
    nblocks = max(ta.shape[0], tb.shape[0])
    ta = pad_blocks(ta.astype(dtype, copy=False), nblocks)
    tb = pad_blocks(tb.astype(dtype, copy=False), nblocks)
    ma, mb = ta.shape[1], tb.shape[1]
    na, nb = 1 << ma, 1 << mb
    check_memory(2 * twiddle_nbytes(nblocks + 4, na * nb, dtype),
                 f"a Kronecker product at N = {na * nb}")
    tw = np.empty((nblocks, ma + mb, na * nb // 2, 2, 2), dtype=dtype)
    # Even blocks decrease the stride: A's (large) strides first, then B's.
    tw[0::2, :ma] = np.repeat(ta[0::2], nb, axis=2)
    tw[0::2, ma:] = np.tile(tb[0::2], (1, 1, na, 1, 1))
    # Odd blocks increase it: B's strides first, then A's.
    tw[1::2, :mb] = np.tile(tb[1::2], (1, 1, na, 1, 1))
    tw[1::2, mb:] = np.repeat(ta[1::2], nb, axis=2)
    shape = (ra * rb, ca * cb)
    size = na * nb
    if not (ca == 1 or cb == nb):
        # z[ja*NB + jb] = x[ja*cb + jb]
        spread = permutation_twiddle(_spread(ca, cb, nb, size), dtype)
        tw = np.concatenate([spread, tw], axis=0)
    if not (ra == 1 or rb == nb):
        # y[ia*rb + ib] = z[ia*NB + ib]: the inverse of the spreading permutation.
        pack = permutation_twiddle(np.argsort(_spread(ra, rb, nb, size)), dtype)
        tw = np.concatenate([tw, pack], axis=0)
    return tw, shape


def placement(positions, size):
    """Permutation ``p`` of ``range(size)`` with ``p[positions[k]] = k``.

    The other positions take the indices ``len(positions)..size-1`` in increasing
    order, so for ``x`` that is zero beyond its first ``len(positions)`` entries,
    ``x[p]`` puts ``x[k]`` at ``positions[k]`` and zeros everywhere else; ``argsort(p)``
    gathers them back (``y[k] = z[positions[k]]`` for ``k < len(positions)``).
    """
    positions = np.asarray(positions, dtype=np.intp)
    p = np.empty(size, dtype=np.intp)
    p[positions] = np.arange(positions.size)
    free = np.ones(size, dtype=bool)
    free[positions] = False
    p[free] = np.arange(positions.size, size)
    return p


def _grid_positions(sides, strides_shape):
    """Row-major index in ``strides_shape`` of every row-major index of ``sides``."""
    index = np.zeros(1, dtype=np.intp)
    for side, full in zip(sides, strides_shape):
        index = (index[:, None] * full + np.arange(side)).ravel()
    return index


def kron_grid(operands):
    """``numpy.kron`` of ``d >= 1`` operands, each run at its full internal size.

    The Kronecker product of the square internal operators ``E_1 (x) ... (x) E_d`` is
    one twiddle of width ``max w_i`` (the rule of :func:`kron`, applied to aligned
    operands).  The logical input, a row-major array of shape ``(c_1, ..., c_d)``, sits
    inside the row-major grid ``(N_1, ..., N_d)``: one exact 0/1 permutation (one
    ``BB*``) spreads it there, and one packs the ``(r_1, ..., r_d)`` outputs, each
    only when the two index maps differ.
    """
    dtype = np.result_type(*(t.dtype for t, _ in operands))
    full = [(t.astype(dtype, copy=False), (2 * t.shape[2],) * 2) for t, _ in operands]
    tw, _ = full[0]
    big = full[0][1][0]
    for other in full[1:]:
        tw, (big, _) = kron((tw, (big, big)), other)
    sizes = [n for _, (n, _) in full]
    rows = [r for _, (r, _) in operands]
    cols = [c for _, (_, c) in operands]
    parts = []
    spread = _grid_positions(cols, sizes)
    if not np.array_equal(spread, np.arange(spread.size)):
        parts.append(permutation_twiddle(placement(spread, big), dtype))
    parts.append(tw)
    pack = _grid_positions(rows, sizes)
    if not np.array_equal(pack, np.arange(pack.size)):
        parts.append(permutation_twiddle(np.argsort(placement(pack, big)), dtype))
    return np.concatenate(parts, axis=0), (int(np.prod(rows)), int(np.prod(cols)))

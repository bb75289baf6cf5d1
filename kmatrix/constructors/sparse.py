"""Sparse matrices as K-matrices: a copy / multiply / sum pipeline in width 4."""

from __future__ import annotations

__all__ = ["sparse"]

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from scipy.sparse import issparse

from .._benes import pair_of, permutation_swaps, swap_twiddle
from .._checks import check_dtype, check_memory, twiddle_nbytes, value_dtype
from .._layout import internal_size_for, log2_exact
from .._operator import KMatrix

if TYPE_CHECKING:  # (scipy.sparse.sparray is SciPy >= 1.11)
    from scipy.sparse import sparray, spmatrix


def _triplets(S):
    """``(shape, rows, cols, values)`` of the nonzeros of ``S``, duplicates summed."""
    if issparse(S):
        if S.ndim != 2:
            raise ValueError(f"S must be 2-D; got a sparse array of shape {S.shape}")
        coo = S.tocoo(copy=True)
        coo.sum_duplicates()
        shape, rows, cols, vals = S.shape, coo.row, coo.col, coo.data
    else:
        if hasattr(S, "__cuda_array_interface__") and not isinstance(S, np.ndarray):
            raise TypeError("S must be a host array or a SciPy sparse array; got a device array")
        A = np.asarray(S)
        if A.ndim != 2:
            raise ValueError(f"S must be 2-D; got an array of shape {A.shape}")
        if A.dtype.kind not in "biufc":
            raise TypeError(f"S must be numeric; got dtype {A.dtype}")
        rows, cols = np.nonzero(A)
        shape, vals = A.shape, A[rows, cols]
    if min(shape) < 1:
        raise ValueError(f"S must have at least one row and one column; got shape {shape}")
    if vals.dtype.kind not in "biufc":
        raise TypeError(f"S must be numeric; got dtype {vals.dtype}")
    keep = vals != 0
    return tuple(int(d) for d in shape), rows[keep], cols[keep], vals[keep]


def _copy_block(src, out, transpose=False):
    """Write the decreasing-stride 0/1 butterfly sending input ``src[o]`` to output ``o``.

    ``src`` is nondecreasing and takes every value ``0..u-1`` (inputs concentrated at the
    top, outputs in monotone contiguous intervals), so the network does not block: two
    inputs ``k1 < k2`` meet in a stage only if ``k2 - k1`` is a multiple of the size
    ``B`` of a dyadic output block both reach, which would need ``B + 1`` outputs in it.
    After factor ``j`` (stride ``st = 2**b``, ``b = m-1-j``) the path from ``k`` to
    ``o`` is at position ``(o's bits above b, and bit b) | (k's bits below b)``; the 2x2
    row of that position selects the input whose bit ``b`` is ``k``'s. Outputs
    ``o >= len(src)`` and unused switch rows stay zero.

    ``out`` (shape ``(m, N//2, 2, 2)``) must be zero. With ``transpose=True`` the
    transposed network (an increasing-stride "sum" butterfly adding each interval of
    outputs into input position ``k``) is written instead: factors in reverse order,
    every 2x2 transposed.
    """
    m = out.shape[0]
    o = np.arange(src.size, dtype=np.intp)
    for j in range(m):
        b = m - 1 - j
        st = 1 << b
        pos = (o & ~(st - 1)) | (src & (st - 1))
        pair, row, col = pair_of(pos & ~st, st), (o >> b) & 1, (src >> b) & 1
        if transpose:
            out[m - 1 - j, pair, col, row] = 1
        else:
            out[j, pair, row, col] = 1


def _rank_runs(keys):
    """For sorted ``keys``: the distinct values and each entry's rank among them."""
    distinct, counts = np.unique(keys, return_counts=True)
    return distinct, np.repeat(np.arange(distinct.size, dtype=np.intp), counts)


def _fill(first, n):
    """A permutation of ``range(n)`` that starts with the distinct ``first``."""
    rest = np.ones(n, dtype=bool)
    rest[first] = False
    return np.concatenate([first, np.flatnonzero(rest)]).astype(np.intp)


def sparse(S: ArrayLike | spmatrix | sparray, dtype: DTypeLike | None = None) -> KMatrix:
    """Sparse matrix ``S`` as a K-matrix of width at most 4.

    Parameters
    ----------
    S : scipy sparse array/matrix or array_like, shape (rows, cols)
        Any format; duplicate entries are summed and explicit zeros dropped, so ``s``
        below counts the true nonzeros.
    dtype : dtype, optional
        Operator dtype; default by the one dtype rule (:doc:`/guide/dtypes`):
        float64 for boolean, integer and float64 ``S``, float32 for float32 (and
        float16), complex128/complex64 for complex ``S``.
        Values are rounded to it; a real ``dtype`` for a complex ``S`` with a nonzero
        imaginary part raises, and so do values that overflow it.

    Returns
    -------
    KMatrix
        Shape ``(rows, cols)``, width 4 (width 1 when ``s = 0``), internal size
        ``N = max(2, 2**ceil(log2(max(n, s))))`` with ``n = max(rows, cols)``, i.e.
        expansion ``max(1, 2**ceil(log2 s) / n)`` for power-of-two ``n``. Every output
        entry is computed as a plain sum of the products ``S[i, j] * x[j]``, so
        ``sparse(S).toarray()`` equals ``S`` exactly.

    Raises
    ------
    TypeError
        Non-numeric or extended-precision ``S``, or an unsupported ``dtype``.
    ValueError
        ``S`` not 2-D, with an empty side, with NaN/infinite entries, or with entries
        that overflow ``dtype``.

    Notes
    -----
    With the nonzeros ``(r_o, c_o, v_o)`` listed column by column (slot ``o``) and the
    ``u`` used columns and ``v`` used rows in increasing order,

    .. math:: S = P_{\\mathrm{row}} \\, \\Sigma \\, Q \\, D \\, C \\, P_{\\mathrm{col}}

    applied right to left (blocks in application order):

    1. blocks 0-1 (``B* B``): ``P_col`` moves used column ``k`` to position ``k``
       (a Benes permutation);
    2. block 2 (``B*``): ``C`` copies position ``k`` into the slots of column ``k``
       -- a contiguous interval; with concentrated inputs and monotone intervals a
       decreasing-stride butterfly of ``[[1, 0], [1, 0]]``-type 0/1 maps routes all
       copies without conflict (a broadcast banyan, Lee 1988). ``D = diag(v)`` is
       folded into its last factor;
    3. blocks 3-4 (``B B*``): ``Q`` reorders the slots row by row (a Benes network in
       bit-reversed coordinates);
    4. block 5 (``B``): ``Sigma`` adds each row's contiguous slots into position
       ``k`` for the ``k``-th used row -- the transpose of a copy network;
    5. blocks 6-7 (``B* B``): ``P_row`` moves position ``k`` to its row.

    Eight blocks are width 4 and ``s <= N`` slots fit, which is tighter than the
    paper's Theorem 3, ``(BB*)^{4 ceil(s/n)}_4``. Every factor except the one holding
    ``D`` has 0/1 entries, so only the products and the row sums round.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, kmatrix as km
    >>> S = sp.csr_array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]])
    >>> K = km.sparse(S)
    >>> K @ np.array([1.0, 10.0, 100.0])
    array([ 20., 301.])
    >>> np.array_equal(K.toarray(), S.toarray()), K.width
    (True, 4)
    """
    shape, rows, cols, vals = _triplets(S)
    out_dtype = value_dtype(vals.dtype, name="S") if dtype is None else check_dtype(dtype)
    if dtype is not None and out_dtype.kind == "f" and vals.dtype.kind == "c":
        if np.any(vals.imag != 0):
            raise ValueError(f"S has nonzero imaginary parts; it cannot be a {out_dtype} operator")
        vals = vals.real
    if not np.all(np.isfinite(vals)):
        raise ValueError("S contains NaN or infinite entries")
    with np.errstate(over="ignore"):
        vals = vals.astype(out_dtype)
    if not np.all(np.isfinite(vals)):
        raise ValueError(f"S has entries too large for dtype {out_dtype} (they overflow to inf)")
    s = vals.size
    n = internal_size_for(*shape)
    while n < s:
        n *= 2
    m = log2_exact(n)
    # Eight blocks, and the routing's index arrays (about 16 per block pair, see permutation).
    check_memory(twiddle_nbytes(8, n, out_dtype) + 16 * 8 * n,
                 f"sparse of shape {shape} with {s} nonzeros (internal size N = {n})")
    if s == 0:
        return KMatrix(np.zeros((2, m, n // 2, 2, 2), dtype=out_dtype), shape)

    order = np.lexsort((rows, cols))  # slots column by column
    rows, cols, vals = rows[order].astype(np.intp), cols[order].astype(np.intp), vals[order]
    used_cols, col_rank = _rank_runs(cols)
    by_row = np.argsort(rows, kind="stable")
    used_rows, row_rank = _rank_runs(rows[by_row])

    tw = np.zeros((8, m, n // 2, 2, 2), dtype=out_dtype)
    swap_twiddle(permutation_swaps(_fill(used_cols, n)), out_dtype, out=tw[0:2])
    _copy_block(col_rank, tw[2])
    o = np.arange(s)
    tw[2, m - 1, o >> 1, o & 1, :] *= vals[:, None]
    slot_perm = np.concatenate([by_row, np.arange(s, n)])
    swap_twiddle(permutation_swaps(slot_perm, increasing_first=True), out_dtype, out=tw[3:5])
    _copy_block(row_rank, tw[5], transpose=True)
    swap_twiddle(permutation_swaps(np.argsort(_fill(used_rows, n))), out_dtype, out=tw[6:8])
    return KMatrix._from_owned(tw, shape)

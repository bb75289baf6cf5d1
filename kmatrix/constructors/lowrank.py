"""Low-rank matrices ``U @ V.conj().T`` as K-matrices: rank 1 is in BB*, then the sum rule."""

from __future__ import annotations

__all__ = ["low_rank"]

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import issparse

from .._algebra import sum_frame
from .._checks import check_memory, twiddle_nbytes, value_dtype
from .._layout import internal_size_for, log2_exact
from .._operator import KMatrix


def _as_factor(x, name):
    """``x`` as a 2-D numeric array ``(n, r)``; a 1-D array means ``r = 1``."""
    if issparse(x):
        raise TypeError(f"{name} must be a dense array; got a sparse {type(x).__name__}")
    x = np.asarray(x)
    if x.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be numeric; got dtype {x.dtype}")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must be 1-D (n,) or 2-D (n, r); got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must have at least one row; got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return x


def low_rank(U: ArrayLike, V: ArrayLike) -> KMatrix:
    """The low-rank operator ``U @ V.conj().T`` as a K-matrix.

    Parameters
    ----------
    U : array_like, shape (rows, r) or (rows,)
    V : array_like, shape (cols, r) or (cols,)
        A 1-D factor means rank ``r = 1``. The dtype follows the one dtype rule
        (:doc:`/guide/dtypes`): each factor's dtype is mapped (boolean and integer to
        float64, float16 to float32) and the operator has ``numpy.result_type`` of the
        two; extended precision is refused.

    Returns
    -------
    KMatrix
        Shape ``(rows, cols)``, width 1, internal size ``2**ceil(log2 r) * N`` with
        ``N`` the smallest power of two ``>= max(2, rows, cols)``, so the expansion is
        ``2**ceil(log2 r) * N / max(rows, cols)``. ``r = 0`` gives the zero operator
        (internal size ``N``).

    Raises
    ------
    TypeError
        For non-numeric or sparse factors, or a dtype outside the four supported.
    ValueError
        For factors that are not 1-D/2-D, have no rows, disagree on ``r``, or hold
        NaN/inf.

    Notes
    -----
    With ``H`` the unnormalized Sylvester Hadamard matrix of size ``N`` (first row and
    column all ones) and ``E00`` the diagonal selecting coordinate 0,

    .. math:: u v^* = D_u \\, H E_{00} \\cdot E_{00} H \\, D_{\\bar v}, \\qquad
              E_{00} H = e_0 \\mathbf{1}^T, \\quad H E_{00} = \\mathbf{1} e_0^T.

    The first block (decreasing strides) is ``E00 H D_conj(v)``: every 2x2 is the 0/1
    "sum" map ``[[1, 1], [0, 0]]`` (the Hadamard's first row, the other rows discarded
    by ``E00``), with ``conj(v)`` folded into its first factor. The second block
    (increasing strides) is ``D_u H E00``: every 2x2 is the "replicate" map
    ``[[1, 0], [1, 0]]`` (the Hadamard's first column) with ``u`` folded into its last
    factor. So a rank-1 term costs only the ``log2 N`` additions of
    ``<v, x>``, exact apart from that sum: the error is at most about
    ``log2(N) eps |u| |v| |x|`` per entry. Rank ``r`` is the sum of its ``r`` columns
    (:func:`kmatrix.sum`'s construction, built here without intermediate operators).

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> U = np.arange(6.0).reshape(3, 2); V = np.ones((5, 2))
    >>> L = km.low_rank(U, V)
    >>> L.shape, L.width, L.expansion
    ((3, 5), 1, 3.2)
    >>> np.array_equal(L.toarray(), U @ V.T)
    True
    """
    U = _as_factor(U, "U")
    V = _as_factor(V, "V")
    if U.shape[1] != V.shape[1]:
        raise ValueError(
            "U and V must have the same number of columns (the rank r); "
            f"got U of shape {U.shape} and V of shape {V.shape}"
        )
    dtype = value_dtype(U.dtype, V.dtype, name="U and V")
    (rows, r), cols = U.shape, V.shape[0]
    n = internal_size_for(rows, cols)
    m = log2_exact(n)
    half = n // 2
    slots = 1 << max(r - 1, 0).bit_length()
    check_memory(
        twiddle_nbytes(2, slots * n, dtype) + 2 * r * n * dtype.itemsize,
        f"low_rank of rank {r} and shape ({rows}, {cols}) (internal size N = {slots * n})",
    )
    if r == 0:
        return KMatrix(np.zeros((2, m, half, 2, 2), dtype=dtype), (rows, cols))
    u = np.zeros((r, n), dtype=dtype)
    u[:, :rows] = U.T
    c = np.zeros((r, n), dtype=dtype)
    c[:, :cols] = V.T.conj()
    # Term t occupies pair indices [t*N/2, (t+1)*N/2) of the factors at strides < N.
    tw, levels = sum_frame(2, m, r, dtype)
    terms = slice(0, r * half)
    total = tw[0, levels:, terms]
    total[..., 0, 0] = 1
    total[..., 0, 1] = 1
    # First of these factors in block 0 (stride N/2, pair (i, i + N/2)) reads conj(v) x.
    total[0, :, 0, 0] = c[:, :half].ravel()
    total[0, :, 0, 1] = c[:, half:].ravel()
    spread = tw[1, :m, terms]
    spread[..., 0, 0] = 1
    spread[..., 1, 0] = 1
    # Last of them in block 1 (stride N/2) writes u * <v, x>.
    spread[-1, :, 0, 0] = u[:, :half].ravel()
    spread[-1, :, 1, 0] = u[:, half:].ravel()
    return KMatrix._from_owned(tw, (rows, cols))

"""Permutations as exact K-matrices: Benes networks routed by the looping algorithm.

Theorem 2 of Dao et al. (2020): every permutation matrix is in ``BB*`` (width 1,
expansion 1); the routing itself is in :mod:`kmatrix._benes`.
"""

from __future__ import annotations

__all__ = ["permutation", "bit_reversal"]

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._benes import bit_reverse_indices, permutation_twiddle
from .._checks import check_dtype, check_memory, check_size, twiddle_nbytes
from .._layout import internal_size_for
from .._operator import KMatrix


def _check_room(n, dtype, what):
    """``MemoryError`` unless the routing of a size-``n`` permutation fits in memory.

    The looping algorithm keeps about 16 index arrays of the internal size ``N`` alive
    (positions, destinations, the cycle graph and its labels); the twiddle comes on top.
    """
    big = internal_size_for(n, n)
    check_memory(twiddle_nbytes(2, big, dtype) + 16 * 8 * big, f"{what} (internal size N = {big})")


def _check_perm(p, dtype):
    """Validate an index array; return it as a 1-D ``intp`` array."""
    arr = np.asarray(p)
    if arr.ndim != 1:
        raise ValueError(f"p must be a 1-D index array; got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("p must be a non-empty permutation of range(n); got an empty array")
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        raise TypeError(f"p must be an array of integers; got dtype {arr.dtype}")
    n = arr.size
    _check_room(n, dtype, f"a permutation of size {n}")
    lo, hi = arr.min(), arr.max()
    if lo < 0 or hi >= n:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"p must be a permutation of range({n}); got the out-of-range index {int(bad)}"
        )
    arr = arr.astype(np.intp)
    counts = np.bincount(arr, minlength=n)
    if np.any(counts != 1):
        dup = int(np.flatnonzero(counts > 1)[0])
        missing = int(np.flatnonzero(counts == 0)[0])
        raise ValueError(
            f"p must be a permutation of range({n}); got index {dup} "
            f"{int(counts[dup])} times and index {missing} never"
        )
    return arr


def permutation(p: ArrayLike, dtype: DTypeLike = np.float64) -> KMatrix:
    """Permutation operator ``x -> x[p]`` as an exact K-matrix in ``BB*``.

    Parameters
    ----------
    p : array_like of int, shape (n,)
        A permutation of ``range(n)``.  Row ``i`` of the matrix has its single 1 in
        column ``p[i]``.
    dtype : dtype, default float64
        One of float32, float64, complex64, complex128.

    Returns
    -------
    KMatrix
        Shape ``(n, n)``, width 1, internal size ``N`` = the smallest power of two
        ``>= max(2, n)`` (expansion 1 for powers of two), every 2x2 map
        ``[[1, 0], [0, 1]]`` or ``[[0, 1], [1, 0]]``, so ``P @ x == x[p]`` exactly.

    Raises
    ------
    TypeError
        If ``p`` is not an integer array or ``dtype`` is not supported.
    ValueError
        If ``p`` is not 1-D, empty, or not a permutation of ``range(n)``.

    Notes
    -----
    ``(P x)_i = x_{p_i}``.  The decreasing-stride block is the input half of a Benes
    network (its factor of stride ``h`` sends each token into the upper or lower
    sub-network of size ``h``), the increasing-stride block the output half; the two
    stride-1 stages coincide and the second is the identity.  Switches are set by the
    looping algorithm, one vectorized pass per recursion level (O(n log n) work).
    For ``n`` not a power of two, ``p`` is extended by the identity on ``n..N-1``.
    ``P.T`` is ``permutation(numpy.argsort(p))``.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> P = km.permutation([2, 0, 3, 1])
    >>> P @ np.array([10.0, 11.0, 12.0, 13.0])
    array([12., 10., 13., 11.])
    >>> P.width, P.expansion
    (1, 1.0)
    """
    dtype = check_dtype(dtype)
    p = _check_perm(p, dtype)
    return KMatrix._from_owned(permutation_twiddle(p, dtype), (p.size, p.size))


def bit_reversal(n: int, dtype: DTypeLike = np.float64) -> KMatrix:
    """Bit-reversal permutation of size ``n`` (a power of two) as a K-matrix.

    ``(P x)_i = x_{r(i)}`` where ``r(i)`` reverses the ``log2(n)`` bits of ``i``: the
    reordering of the radix-2 FFT.  It is in neither ``B`` nor ``B*`` alone for
    ``n >= 4``, but in ``BB*`` (width 1, expansion 1 for ``n >= 2``).

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> km.bit_reversal(8) @ np.arange(8.0)
    array([0., 4., 2., 6., 1., 5., 3., 7.])
    """
    n = check_size(n)
    if n & (n - 1):
        raise ValueError(f"bit_reversal needs n a power of two; got {n}")
    _check_room(n, check_dtype(dtype), f"bit_reversal({n})")
    return permutation(bit_reverse_indices(n.bit_length() - 1), dtype=dtype)

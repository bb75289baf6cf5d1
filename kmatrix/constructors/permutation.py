"""Permutations as exact K-matrices: Benes networks routed by the looping algorithm.

Theorem 2 of Dao et al. (2020): every permutation matrix is in ``BB*`` (width 1,
expansion 1).  A decreasing-stride butterfly followed by an increasing-stride one is a
Benes network (strides ``N/2, ..., 2, 1, 1, 2, ..., N/2``; the repeated stride-1 stage
is the identity here), and a Benes network is rearrangeable: every permutation is
realized by setting each 2x2 switch to ``[[1, 0], [0, 1]]`` or ``[[0, 1], [1, 0]]``.
"""

__all__ = ["permutation", "bit_reversal"]

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from .._layout import internal_size_for, log2_exact
from .._operator import KMatrix
from .basic import _check_dtype, _check_size


def _check_perm(p):
    """Validate an index array; return it as a 1-D ``intp`` array."""
    arr = np.asarray(p)
    if arr.ndim != 1:
        raise ValueError(f"p must be a 1-D index array; got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("p must be a non-empty permutation of range(n); got an empty array")
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        raise TypeError(f"p must be an array of integers; got dtype {arr.dtype}")
    n = arr.size
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


def _route(p):
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


def _swap_twiddle(swap, dtype, out=None):
    """0/1 twiddle from switch settings of any leading shape ``(..., N//2)``.

    Written into ``out`` (C-contiguous, of that shape + ``(2, 2)``) when given.
    """
    table = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]]], dtype=dtype)
    return np.take(table, swap.view(np.uint8), axis=0, out=out)


def _bit_reverse_indices(m):
    """``r[i]`` = ``i`` with its ``m`` bits reversed."""
    i = np.arange(1 << m, dtype=np.intp)
    r = np.zeros_like(i)
    for b in range(m):
        r |= ((i >> b) & 1) << (m - 1 - b)
    return r


def _pair_of(pos, st):
    """Pair index of the pair whose lower end is ``pos`` at stride ``st``."""
    return (pos // (2 * st)) * st + (pos & (st - 1))


def _pair_lows(n, st):
    """Lower ends ``p`` of the ``n//2`` pairs at stride ``st``, in pair order."""
    i = np.arange(n // 2, dtype=np.intp)
    lo = i & (st - 1)
    return 2 * (i - lo) + lo


def permutation_swaps(p, increasing_first=False):
    """Switch settings realizing ``x -> x[p]`` (``p`` a permutation of ``range(2**m)``).

    ``increasing_first=False`` returns the canonical ``B*`` then ``B`` network
    (:func:`_route`).  ``increasing_first=True`` returns a ``B`` then ``B*`` network,
    shape ``(2, m, N//2)`` with ``[0]`` the increasing-stride block: it is the routing of
    the bit-reversal conjugate ``r p r``, because bit reversal maps stride ``st`` to
    ``N / (2 st)`` and keeps the lower end of every pair the lower end.
    """
    if not increasing_first:
        return _route(p)
    n = p.size
    m = log2_exact(n)
    r = _bit_reverse_indices(m)
    swap_rev = _route(r[p[r]])
    out = np.empty_like(swap_rev)
    for b in range(2):
        for j in range(m):
            st_rev = 1 << (m - 1 - j) if b == 0 else 1 << j
            st_nat = n // (2 * st_rev)
            out[b, j, _pair_of(r[_pair_lows(n, st_rev)], st_nat)] = swap_rev[b, j]
    return out


def permutation(p, dtype=np.float64):
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
    p = _check_perm(p)
    dtype = _check_dtype(dtype)
    n = p.size
    big = internal_size_for(n, n)
    full = np.arange(big, dtype=np.intp)
    full[:n] = p
    return KMatrix._from_owned(_swap_twiddle(_route(full), dtype), (n, n))


def bit_reversal(n, dtype=np.float64):
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
    n = _check_size(n)
    if n & (n - 1):
        raise ValueError(f"bit_reversal needs n a power of two; got {n}")
    return permutation(_bit_reverse_indices(n.bit_length() - 1), dtype=dtype)

"""The orthonormal Haar wavelet transform as a K-matrix: one butterfly and one permutation."""

from __future__ import annotations

__all__ = ["haar"]

import numpy as np
from numpy.typing import DTypeLike

from .._benes import permutation_twiddle
from .._checks import check_dtype, check_size
from .._layout import identity_twiddle, log2_exact, pair_indices
from .._operator import KMatrix


def _output_order(m, level):
    """``src`` with output ``o`` = in-place coefficient ``src[o]``, for ``n = 2**m``.

    In place, level ``l`` leaves its detail ``d_l[k]`` at ``k*2**l + 2**(l-1)`` and the
    last approximation ``a_L[k]`` at ``k*2**L``; the output lists ``a_L``, then
    ``d_L, ..., d_1``, as ``pywt.wavedec`` does.
    """
    n = 1 << m
    parts = [np.arange(n >> level) << level]
    for lev in range(level, 0, -1):
        parts.append((np.arange(n >> lev) << lev) + (1 << (lev - 1)))
    return np.concatenate(parts).astype(np.intp)


def haar(n: int, level: int | None = None, dtype: DTypeLike = np.float64) -> KMatrix:
    """Orthonormal Haar wavelet analysis ``x -> [a_L, d_L, d_{L-1}, ..., d_1]`` as a K-matrix.

    Equals ``numpy.concatenate(pywt.wavedec(x, "haar", mode="periodization", level=L))``.

    Parameters
    ----------
    n : int
        Signal length, a power of two.
    level : int, optional
        Number of levels ``L``, ``0 <= L <= log2(n)``; default ``log2(n)`` (full
        decomposition: ``a_L`` is a single coefficient). ``L = 0`` is the identity.
    dtype : dtype, default float64
        One of float32, float64, complex64, complex128.

    Returns
    -------
    KMatrix
        Orthogonal ``n x n`` operator, width 2 (width 1 when ``L = 0``, or when ``n = 2``),
        expansion 1. Its transpose is the synthesis (``pywt.waverec``).

    Raises
    ------
    ValueError
        If ``n`` is not a power of two (zero-pad the signal to the next power of two,
        or use a wavelet library's boundary modes, whose odd-length conventions are not
        a fixed orthogonal map), or ``level`` is out of range.
    TypeError
        If ``n`` or ``level`` is not an integer, or ``dtype`` is not supported.

    Notes
    -----
    Level ``l`` maps each pair of approximations to
    ``a_l[k] = (a_{l-1}[2k] + a_{l-1}[2k+1]) / sqrt(2)`` and
    ``d_l[k] = (a_{l-1}[2k] - a_{l-1}[2k+1]) / sqrt(2)`` (``a_0 = x``).  Computed in
    place, level ``l`` works on the entries whose lowest ``l - 1`` index bits are zero
    and pairs them at stride ``2**(l-1)``: it is one butterfly factor of that stride
    (``[[1, 1], [1, -1]] / sqrt(2)`` on those pairs, identity on the others), so all
    ``L`` levels form one increasing-stride butterfly ``B``.  The in-place result holds
    ``d_l[k]`` at ``k*2**l + 2**(l-1)`` and ``a_L[k]`` at ``k*2**L``; an exact 0/1
    permutation (a Beneš network, one ``BB*``) moves them to the output order.  The
    first ``B*`` is the identity, so the operator is ``(BB*)^2_1``.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> W = km.haar(8)
    >>> np.round(W @ np.arange(8.0), 4)
    array([ 9.8995, -5.6569, -2.    , -2.    , -0.7071, -0.7071, -0.7071, -0.7071])
    >>> W.width, W.expansion, np.allclose(W.T @ (W @ np.arange(8.0)), np.arange(8.0))
    (2, 1.0, True)
    """
    n = check_size(n)
    if n & (n - 1):
        raise ValueError(
            f"haar needs n to be a power of two; got n = {n} (zero-pad the signal to "
            f"{1 << (n - 1).bit_length()})"
        )
    m = n.bit_length() - 1
    if level is None:
        level = m
    else:
        level = check_size(level, "level", minimum=0)
        if level > m:
            raise ValueError(f"level must be <= log2(n) = {m} for n = {n}; got {level}")
    dtype = check_dtype(dtype)
    if level == 0:
        big = max(n, 2)
        return KMatrix._from_owned(identity_twiddle(2, log2_exact(big), dtype), (n, n))
    tw = identity_twiddle(2, m, dtype)
    c = 1 / np.sqrt(2)
    for lev in range(1, level + 1):
        st = 1 << (lev - 1)
        p, _ = pair_indices(n, st)
        active = (p & (st - 1)) == 0  # the current approximations
        tw[1, lev - 1, active] = np.array([[c, c], [c, -c]], dtype=dtype)
    src = _output_order(m, level)
    if np.array_equal(src, np.arange(n)):
        return KMatrix._from_owned(tw, (n, n))
    perm = permutation_twiddle(src, dtype)
    return KMatrix._from_owned(np.concatenate([tw, perm], axis=0), (n, n))

"""Circulant, Toeplitz and convolution operators as one BB* each.

The core is :func:`circulant_twiddle`: a circulant of power-of-two size ``L`` is
``F^-1 diag(lambda) F``; decimation in frequency (decreasing strides, bit-reversed
output) followed by an inverse decimation in time (bit-reversed input, increasing
strides) makes the two bit reversals cancel, and the diagonal sits between the
blocks.  Everything else embeds in such a circulant and keeps the wanted corner
through the logical shape.
"""

from __future__ import annotations

__all__ = ["circulant", "toeplitz", "convolution"]

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .._checks import as_vector, check_memory, twiddle_nbytes, value_dtype
from .._layout import log2_exact, pair_indices
from .._operator import KMatrix

_MODES = ("full", "same", "valid", "circular")


def _bit_reversed(m):
    """Indices ``0..2**m-1`` with their ``m`` bits reversed."""
    idx = np.arange(1 << m)
    out = np.zeros_like(idx)
    for b in range(m):
        out |= ((idx >> b) & 1) << (m - 1 - b)
    return out


def circulant_twiddle(lam, d_in=None, d_out=None):
    """Width-1 complex128 twiddle of ``diag(d_out) F^-1 diag(lam) F diag(d_in)``.

    ``lam`` (length ``L = 2**M``) are the eigenvalues ``numpy.fft.fft(c)`` of the
    circulant with first column ``c``.  Block 0 is the Gentleman-Sande DIF
    (``[[1, 1], [w, -w]]``, ``w = exp(-2j*pi*lo/(2h))`` at stride ``h``), whose output
    is the spectrum in bit-reversed order; ``lam[bitrev] / L`` scales the rows of its
    last (stride 1) factor.  Block 1 is the inverse DIT (``[[1, w*], [1, -w*]]``),
    which takes bit-reversed input to natural output.  ``d_in`` scales the columns of
    the first factor, ``d_out`` the rows of the last.
    """
    lam = np.asarray(lam, dtype=np.complex128)
    big = lam.size
    m = log2_exact(big)
    tw = np.empty((2, m, big // 2, 2, 2), dtype=np.complex128)
    for j in range(m):
        h = 1 << (m - 1 - j)
        p, _ = pair_indices(big, h)
        w = np.exp(-2j * np.pi * (p % h) / (2 * h))
        tw[0, j, :, 0, 0] = tw[0, j, :, 0, 1] = 1
        tw[0, j, :, 1, 0] = w
        tw[0, j, :, 1, 1] = -w
        h = 1 << j
        p, _ = pair_indices(big, h)
        w = np.exp(2j * np.pi * (p % h) / (2 * h))
        tw[1, j, :, 0, 0] = tw[1, j, :, 1, 0] = 1
        tw[1, j, :, 0, 1] = w
        tw[1, j, :, 1, 1] = -w
    d = lam[_bit_reversed(m)] / big
    tw[0, -1] *= np.stack([d[0::2], d[1::2]], axis=1)[:, :, None]  # stride-1 pairs (2i, 2i+1)
    p, q = pair_indices(big, big // 2)
    if d_in is not None:
        tw[0, 0] *= np.stack([d_in[p], d_in[q]], axis=1)[:, None, :]
    if d_out is not None:
        tw[1, -1] *= np.stack([d_out[p], d_out[q]], axis=1)[:, :, None]
    return tw


def _operator_dtype(*arrays, name):
    """The complex counterpart of the inputs' operator dtype (the one dtype rule)."""
    return value_dtype(*(a.dtype for a in arrays), name=name, complex_=True)


def _is_real(*arrays):
    """Real inputs give a real matrix: the operator is flagged ``real_matrix``."""
    return all(a.dtype.kind != "c" for a in arrays)


def _pow2_at_least(k):
    return 1 << max(int(k) - 1, 0).bit_length()


def toeplitz_column(col, row):
    """First column ``g`` of the smallest circulant whose leading block is the Toeplitz matrix.

    ``T[i, j] = col[i - j]`` (``i >= j``) and ``row[j - i]`` (``j > i``) is the leading
    ``rows x cols`` block of the circulant with first column
    ``g = (col, 0, ..., 0, row[cols-1], ..., row[1])`` whenever ``L >= rows + cols - 1``.
    A smaller power of two ``L >= max(rows, cols)`` also works when every wrapped pair
    agrees, ``col[d] == row[L - d]`` for ``L - cols < d < rows``: zero tails (the full
    convolution: ``L >= M + n - 1``) and symmetric matrices (Bluestein:
    ``L >= 2n - 2``) are the cases that matter.
    """
    rows, cols = col.size, row.size
    big = max(2, _pow2_at_least(max(rows, cols)))
    while big < rows + cols - 1:
        d = np.arange(max(1, big - cols + 1), rows)
        if np.array_equal(col[d], row[big - d]):
            break
        big *= 2
    g = np.zeros(big, dtype=np.complex128)
    if cols > 1:
        g[big - cols + 1 :] = row[1:][::-1]
    g[:rows] = col
    return g


def _check_room(big, dtype, what):
    """``MemoryError`` unless a circulant of size ``big`` fits: its complex128 twiddle,
    the cast one and about eight complex vectors of length ``big`` (column, spectrum,
    scalings)."""
    check_memory(
        twiddle_nbytes(2, big, np.complex128) + twiddle_nbytes(2, big, dtype) + 8 * 16 * big,
        f"{what} (internal size N >= {big})",
    )


def _finite(tw, names):
    """``tw`` when finite; else the user's values (``names``) are too large for its dtype."""
    if not np.all(np.isfinite(tw)):
        raise ValueError(
            f"{names} too large: the operator's factors (the spectrum scaled by 1/N, in "
            f"{tw.dtype}) overflow; scale the input down (e.g. by its largest magnitude)"
        )
    return tw


def _embedded_toeplitz(col, row, dtype, names, real):
    """KMatrix of the Toeplitz matrix with first column ``col`` and first row ``row``."""
    # The smallest circulant that can hold it, checked before the embedding's vectors.
    _check_room(max(2, _pow2_at_least(max(col.size, row.size))), dtype,
                f"a {col.size}x{row.size} Toeplitz operator")
    g = toeplitz_column(col, row)
    _check_room(g.size, dtype, f"a {col.size}x{row.size} Toeplitz operator")
    with np.errstate(over="ignore", invalid="ignore"):
        tw = circulant_twiddle(np.fft.fft(g)).astype(dtype)
    return KMatrix._from_owned(_finite(tw, names), (col.size, row.size), real_matrix=real)


def circulant(c: ArrayLike) -> KMatrix:
    """Circulant matrix ``scipy.linalg.circulant(c)`` (first column ``c``) as a K-matrix.

    Parameters
    ----------
    c : array_like, shape (n,)
        First column; real or complex.

    Returns
    -------
    KMatrix
        Real ``c``: a real operator (float32 for float32 ``c``, float64 otherwise)
        with complex factors (:attr:`~KMatrix.real_matrix`).  Complex ``c``: complex64
        for complex64, complex128 otherwise.  Width 1; expansion 1 when ``n`` is a
        power of two, else ``2**ceil(log2(2n - 1)) / n < 4``.

    Notes
    -----
    ``C[i, j] = c[(i - j) mod n] = (F^-1 diag(F c) F)[i, j]``.  For ``n = 2**m`` the DFT
    ``F = P B_dif`` is a decimation in frequency (decreasing strides) followed by the
    bit reversal ``P``, and ``F^-1 = B_dit P`` an inverse decimation in time; since
    ``P diag(lambda) P = diag(lambda[bitrev])`` the reversals cancel and
    ``C = B_dit diag(lambda[bitrev]) B_dif`` is one BB* with the diagonal folded into
    the stride-1 factor.  Other ``n``: ``C`` is the Toeplitz matrix with column ``c``
    and row ``(c[0], c[n-1], ..., c[1])``, see :func:`toeplitz`.

    For real ``c`` the factors are complex (the spectrum is) but their product is the
    real matrix ``C``: the operator is real, and a real block is applied two columns
    per complex column (``x1 + 1j x2``), its result split into real and imaginary parts.

    Examples
    --------
    >>> import numpy as np, scipy.linalg, kmatrix as km
    >>> c = np.array([1.0, 2.0, 0.0, -1.0])
    >>> C = km.circulant(c)
    >>> np.allclose(C.toarray(), scipy.linalg.circulant(c)), C.width, C.expansion
    (True, 1, 1.0)
    >>> C.dtype, (C @ np.ones(4)).dtype
    (dtype('float64'), dtype('float64'))
    """
    c = np.asarray(c)
    if c.dtype.kind in "biufc":  # the size alone can rule it out: check before the scan
        _check_room(max(2, _pow2_at_least(c.size)), _operator_dtype(c, name="c"), f"circulant of size {c.size}")
    c = as_vector(c, "c")
    n = c.size
    dtype, real = _operator_dtype(c, name="c"), _is_real(c)
    if n >= 2 and n & (n - 1) == 0:
        with np.errstate(over="ignore", invalid="ignore"):
            tw = circulant_twiddle(np.fft.fft(c)).astype(dtype)
        return KMatrix._from_owned(_finite(tw, "c is"), (n, n), real_matrix=real)
    row = np.concatenate([c[:1], c[1:][::-1]])
    return _embedded_toeplitz(c, row, dtype, "c is", real)


def toeplitz(c: ArrayLike, r: ArrayLike | None = None) -> KMatrix:
    """Toeplitz matrix ``scipy.linalg.toeplitz(c, r)`` as a K-matrix.

    Parameters
    ----------
    c : array_like, shape (rows,)
        First column.
    r : array_like, shape (cols,), optional
        First row; ``r[0]`` is ignored (``c[0]`` wins), as in SciPy.  Default
        ``conj(c)`` (a Hermitian Toeplitz matrix), as in SciPy.

    Returns
    -------
    KMatrix
        Shape ``(rows, cols)``; real for real ``c`` and ``r`` (float32 when both are
        float32, float64 otherwise; complex factors, see :func:`circulant`), else
        complex (complex64 or complex128); width 1, expansion at most
        ``2**ceil(log2(rows + cols - 1)) / max(rows, cols) < 4``.

    Notes
    -----
    ``T[i, j] = c[i - j]`` for ``i >= j`` and ``r[j - i]`` for ``j > i``.  ``T`` is the
    leading ``rows x cols`` block of the circulant of size
    ``L = 2**ceil(log2(rows + cols - 1))`` with first column
    ``g = (c, 0, ..., 0, r[cols-1], ..., r[1])``: zero-padding the input and keeping
    the first ``rows`` outputs, which is exactly the logical shape of a K-matrix.
    A smaller power of two ``L >= max(rows, cols)`` is used when the entries that
    wrap around agree (``c[d] == r[L - d]`` wherever both are needed), e.g. for
    symmetric matrices or zero tails.
    Real ``c`` and ``r`` give a real operator (``T @ x`` is float64 for float64
    data, as :func:`scipy.linalg.matmul_toeplitz`).

    Examples
    --------
    >>> import numpy as np, scipy.linalg, kmatrix as km
    >>> T = km.toeplitz([1.0, 2.0, 3.0], [1.0, 4.0])
    >>> np.allclose(T.toarray(), scipy.linalg.toeplitz([1.0, 2.0, 3.0], [1.0, 4.0]))
    True
    >>> T.shape, T.width, T.internal_size  # rows + cols - 1 = 4
    ((3, 2), 1, 4)
    """
    # The size alone can rule the operator out: check before scanning or copying c and r.
    c, r = np.asarray(c), (None if r is None else np.asarray(r))
    rows, cols = c.size, (c.size if r is None else r.size)
    if c.dtype.kind in "biufc":
        _check_room(max(2, _pow2_at_least(max(rows, cols))), _operator_dtype(c, name="c"),
                    f"a {rows}x{cols} Toeplitz operator")
    c = as_vector(c, "c")
    r = c.conj() if r is None else as_vector(r, "r")
    return _embedded_toeplitz(c, r, _operator_dtype(c, r, name="c and r"), "c or r is", _is_real(c, r))


def convolution(
    h: ArrayLike, n: int, mode: Literal["full", "same", "valid", "circular"] = "full"
) -> KMatrix:
    """The operator ``x -> numpy.convolve(h, x, mode)`` (or the circular convolution) on length ``n``.

    Parameters
    ----------
    h : array_like, shape (M,)
        Filter.
    n : int
        Length of the input ``x``.
    mode : {"full", "same", "valid", "circular"}, default "full"
        As in :func:`numpy.convolve`: output length ``M + n - 1``, ``max(M, n)`` or
        ``max(M, n) - min(M, n) + 1``.  "circular": the cyclic convolution on
        ``Z/n``, output length ``n`` (see Notes).

    Returns
    -------
    KMatrix
        Shape ``(rows, n)`` with ``rows`` the output length; real for real ``h``
        (float32 for float32 ``h``, else float64; complex factors, see
        :func:`circulant`), complex64 or complex128 for complex ``h``; width 1,
        "circular" as :func:`circulant`, expansion
        ``2**ceil(log2(M + n - 1)) / (M + n - 1) < 2`` for "full" (the zero tails need
        no extra room; a 1x1 has 2), at most ``2**ceil(log2(rows + n - 1)) / max(rows, n) < 4``
        otherwise.

    Notes
    -----
    ``full[k] = sum_j h[k - j] x[j]``; "same" and "valid" keep ``rows`` consecutive
    entries of it from ``start = (min(M, n) - 1) // 2`` and ``min(M, n) - 1``.  NumPy
    swaps its arguments when ``x`` is longer than ``h``; the full convolution is
    symmetric, and these offsets (in the shorter length) are the ones the swap
    produces, so the operator matches ``numpy.convolve`` in every case.  The kept
    rows form the Toeplitz matrix ``T[i, j] = h[start + i - j]`` (zero outside
    ``0..M-1``), built by :func:`toeplitz`'s circulant embedding.

    "circular": ``y[j] = sum_k h[k] x[(j - k) mod n]`` over all ``k < M``, i.e. ``h``
    is wrapped modulo ``n`` (``hw[j] = sum of h[k] for k = j mod n``) and
    ``y = ifft(fft(hw) * fft(x))`` -- the operator is :func:`circulant` ``(hw)``.  For
    ``M <= n`` this is ``ifft(fft(h, n) * fft(x))``; for ``M > n`` NumPy's
    ``fft(h, n)`` would truncate ``h`` instead, which is not a convolution of ``h``.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> h, x = np.array([1.0, -2.0, 1.0]), np.arange(5.0)
    >>> K = km.convolution(h, 5, mode="same")
    >>> np.allclose(K @ x, np.convolve(h, x, mode="same"))
    True
    >>> C = km.convolution(h, 5, mode="circular")
    >>> np.allclose(C @ x, np.fft.ifft(np.fft.fft(h, 5) * np.fft.fft(x)).real)
    True
    """
    h = as_vector(h, "h")
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer; got {n!r}")
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}; got {mode!r}")
    big_m = h.size
    if mode == "circular":
        wrapped = np.zeros(n, dtype=h.dtype if h.dtype.kind in "fc" else np.float64)
        np.add.at(wrapped, np.arange(big_m) % n, h)
        return circulant(wrapped)
    short, long_ = min(big_m, n), max(big_m, n)
    if mode == "full":
        start, rows = 0, big_m + n - 1
    elif mode == "same":
        start, rows = (short - 1) // 2, long_
    else:
        start, rows = short - 1, long_ - short + 1
    # "full" has zero tails, so its circulant has exactly this size; the others at least.
    _check_room(_pow2_at_least(rows + n - 1) if mode == "full" else _pow2_at_least(max(rows, n)),
                _operator_dtype(h, name="h"), f"convolution of {big_m} taps with n = {n}")

    def taps(k):  # h[k] with zeros outside 0..M-1
        k = np.asarray(k)
        ok = (k >= 0) & (k < big_m)
        return np.where(ok, h[np.clip(k, 0, big_m - 1)], 0)

    col = taps(start + np.arange(rows))
    row = taps(start - np.arange(n))
    return _embedded_toeplitz(col, row, _operator_dtype(h, name="h"), "h is", _is_real(h))

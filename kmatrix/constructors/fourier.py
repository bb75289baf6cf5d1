"""Fourier-type K-matrices: Hadamard, DFT and inverse DFT of any size.

Every transform here is a single BB* (width 1).  Powers of two use an in-place
Cooley-Tukey schedule that folds the bit reversal into the butterflies (expansion 1);
other sizes use Bluestein's chirp identity around a power-of-two circulant
(expansion < 4), built by :mod:`kmatrix.constructors.circulant`.
"""

from __future__ import annotations

__all__ = ["dft", "idft", "hadamard"]


from typing import Literal, overload

import numpy as np
from numpy.typing import DTypeLike

from .._checks import check_dtype, check_memory, check_norm, check_size, twiddle_nbytes
from .._closedform import TwiddleFormula, fft_factor
from .._generated import GeneratedKMatrix
from .._layout import identity_twiddle, log2_exact
from .._operator import KMatrix
from .._typing import NormWord
from .circulant import circulant_twiddle, toeplitz_column

_NORMS = ("backward", "ortho", "forward")


@overload
def hadamard(n: int, normalized: bool = ..., dtype: DTypeLike = ...,
             *, lazy: Literal[False] = ...) -> KMatrix: ...
@overload
def hadamard(n: int, normalized: bool = ..., dtype: DTypeLike = ...,
             *, lazy: Literal[True]) -> GeneratedKMatrix: ...
@overload
def hadamard(n: int, normalized: bool = ..., dtype: DTypeLike = ...,
             *, lazy: bool = ...) -> KMatrix | GeneratedKMatrix: ...


def hadamard(n: int, normalized: bool = False, dtype: DTypeLike = np.float64, *,
             lazy: bool = False) -> KMatrix | GeneratedKMatrix:
    """Sylvester-Hadamard matrix ``scipy.linalg.hadamard(n)`` as a K-matrix.

    Parameters
    ----------
    n : int
        Order, a power of two (``ValueError`` otherwise).
    normalized : bool, default False
        Scale by ``1/sqrt(n)`` so that the operator is orthogonal.
    dtype : dtype, default float64
        One of float32, float64, complex64, complex128.
    lazy : bool, default False
        Return a :class:`~kmatrix.GeneratedKMatrix` that computes its factors where
        they are needed instead of storing them (for Dask vectors in row chunks too long
        for one machine, :doc:`/guide/dask`).

    Returns
    -------
    KMatrix or GeneratedKMatrix
        Width 1, expansion 1 (``n = 1`` is stored at internal size 2).

    Notes
    -----
    With ``H_2 = [[1, 1], [1, -1]]``, Sylvester's matrix is
    ``H_n = H_2 (x) H_2 (x) ... (x) H_2`` and the factor acting on bit ``s`` is
    ``I (x) H_2 (x) I``, i.e. a butterfly factor of stride ``2**s`` whose every 2x2 is
    ``H_2``.  These factors commute, so block 0 holds them all and block 1 is the
    identity.  ``normalized`` scales each 2x2 by ``1/sqrt(2)``.

    Examples
    --------
    >>> import numpy as np, scipy.linalg, kmatrix as km
    >>> H = km.hadamard(8)
    >>> np.array_equal(H.toarray(), scipy.linalg.hadamard(8))
    True
    >>> H.width, H.expansion
    (1, 1.0)
    """
    n = check_size(n)
    if n & (n - 1):
        raise ValueError(f"hadamard needs n to be a power of two; got n = {n}")
    dtype = check_dtype(dtype)
    c = 1 / np.sqrt(2) if normalized else 1.0
    if lazy:
        m = max(1, log2_exact(n))
        return GeneratedKMatrix(TwiddleFormula("hadamard", m, dtype, (c if n > 1 else 1.0,)),
                                (n, n))
    if n == 1:
        return KMatrix(identity_twiddle(2, 1, dtype), (1, 1))
    check_memory(twiddle_nbytes(2, n, dtype), f"hadamard({n})")
    tw = identity_twiddle(2, log2_exact(n), dtype)
    tw[0] = np.array([[c, c], [c, -c]], dtype=dtype)
    return KMatrix(tw, (n, n))


def _check_complex_dtype(dtype):
    dtype = check_dtype(dtype)
    if dtype.kind != "c":
        raise TypeError(f"the DFT is complex: dtype must be complex64 or complex128; got {dtype}")
    return dtype


def _fft_twiddle(m, sign, scale):
    """Width-1 twiddle of ``scale**m * [exp(sign*2j*pi*k*x/N)]``, ``N = 2**m`` (complex128).

    Filled factor by factor from the closed form :func:`kmatrix._closedform.fft_factor`
    (which documents the schedule), the same one that generated operators evaluate
    slice by slice.
    """
    n = 1 << m
    tw = np.empty((2, m, n // 2, 2, 2), dtype=np.complex128)
    index = np.arange(n // 2)
    for b in range(2):
        for j in range(m):
            tw[b, j] = fft_factor(m, sign, scale, b, j, index)
    return tw


def _norm_power(norm, inverse):
    """``e`` with numpy.fft's factor ``n**-e``: 0 unscaled, 0.5 "ortho", 1 for ``1/n``."""
    if norm == "ortho":
        return 0.5
    return 0.0 if norm == ("forward" if inverse else "backward") else 1.0


def _fourier(n, norm, dtype, inverse, lazy=False):
    n = check_size(n)
    norm = check_norm(norm, _NORMS)
    dtype = _check_complex_dtype(dtype)
    sign = 1 if inverse else -1
    power = _norm_power(norm, inverse)
    if lazy:
        if n & (n - 1):
            raise ValueError(
                f"lazy=True needs n to be a power of two (closed-form factors); got n = {n}"
            )
        m = max(1, log2_exact(n))
        return GeneratedKMatrix(
            TwiddleFormula("fourier", m, dtype, (sign, 2.0**-power if n > 1 else 1.0)), (n, n))
    if n == 1:
        return KMatrix(identity_twiddle(2, 1, dtype), (1, 1))
    # Built in complex128 and cast; Bluestein embeds in a circulant of size >= 2n - 2.
    big = n if n & (n - 1) == 0 else 1 << (2 * n - 3).bit_length()
    check_memory(
        twiddle_nbytes(2, big, np.complex128) + twiddle_nbytes(2, big, dtype) + 64 * big,
        f"{'idft' if inverse else 'dft'}({n}) with internal size N = {big}",
    )
    if n & (n - 1) == 0:
        # Each of the m Hadamards carries 2**-power, so every factor stays well scaled.
        tw = _fft_twiddle(log2_exact(n), sign, 2.0**-power)
        return KMatrix(tw.astype(dtype), (n, n))
    return _bluestein(n, sign, float(n) ** -power, dtype)


def _bluestein(n, sign, total, dtype):
    """``total * [exp(sign*2j*pi*k*x/n)]`` for any ``n`` as D T D, T Toeplitz (width 1).

    ``k x = (k**2 + x**2 - (k - x)**2) / 2`` gives ``F = D T D`` with the chirp
    ``D = diag(w**(k**2))``, ``w = exp(sign*1j*pi/n)``, and the Toeplitz
    ``T[k, x] = w**(-(k - x)**2)``.  Since ``w**(2n) = 1`` the exponents are reduced
    mod ``2n`` in integer arithmetic before the angle is formed, which keeps the chirp
    exact to rounding for any ``n``.  ``T`` is symmetric, so it is the leading block of
    a circulant of size ``L = 2**ceil(log2(2n - 2))`` (the entry at offset ``n - 1`` may
    wrap onto itself); the two chirps are absorbed into its first and last butterfly
    factors.
    """
    k = np.arange(n, dtype=np.int64)
    chirp = np.exp(sign * 1j * np.pi * ((k * k) % (2 * n)) / n)
    g = toeplitz_column(chirp.conj(), chirp.conj())
    big = g.size
    d_in = np.zeros(big, dtype=np.complex128)
    d_in[:n] = chirp
    d_out = np.zeros(big, dtype=np.complex128)
    d_out[:n] = total * chirp
    tw = circulant_twiddle(np.fft.fft(g), d_in=d_in, d_out=d_out)
    return KMatrix(tw.astype(dtype), (n, n))


@overload
def dft(n: int, norm: NormWord = ..., dtype: DTypeLike = ...,
        *, lazy: Literal[False] = ...) -> KMatrix: ...
@overload
def dft(n: int, norm: NormWord = ..., dtype: DTypeLike = ...,
        *, lazy: Literal[True]) -> GeneratedKMatrix: ...
@overload
def dft(n: int, norm: NormWord = ..., dtype: DTypeLike = ...,
        *, lazy: bool = ...) -> KMatrix | GeneratedKMatrix: ...


def dft(n: int, norm: NormWord = "backward", dtype: DTypeLike = np.complex128, *,
        lazy: bool = False) -> KMatrix | GeneratedKMatrix:
    """Discrete Fourier transform: ``dft(n, norm) @ x == numpy.fft.fft(x, axis=0, norm=norm)``.

    Parameters
    ----------
    n : int
        Size, any positive integer.
    norm : {"backward", "ortho", "forward"} or None, default "backward"
        NumPy's normalization words (None means "backward"); only "ortho" is unitary.
    dtype : {complex128, complex64}, default complex128
    lazy : bool, default False
        For ``n`` a power of two: return a :class:`~kmatrix.GeneratedKMatrix` that
        computes its factors where they are needed instead of storing them (for Dask
        vectors in row chunks too long for one machine, :doc:`/guide/dask`); bit for bit
        the same operator. ``ValueError`` for other ``n``.

    Returns
    -------
    KMatrix or GeneratedKMatrix
        Width 1 for every ``n``.  Expansion 1 when ``n`` is a power of two; otherwise
        ``2**ceil(log2(2n - 2)) / n < 4`` (Bluestein; below 2 for ``n = 2**k + 1``).

    Notes
    -----
    The operator is ``F[k, x] = c * exp(-2j*pi*k*x/n)`` with ``c`` = 1, ``1/sqrt(n)`` or
    ``1/n``.

    *Powers of two.*  Cooley-Tukey gives ``F = B P`` with ``B`` an increasing-stride
    butterfly and ``P`` the bit reversal, which would cost width 2.  Here the bit
    reversal is folded into the butterflies instead: reading bit ``s`` of the index
    as the register acted on by the stride ``2**s`` factor, the decreasing-stride block
    performs the decimation-in-frequency Hadamards of the high bits together with two
    of the three controlled NOTs that swap bit ``a`` with bit ``m-1-a``; the
    increasing-stride block performs the third controlled NOT fused with the remaining
    Hadamards (with their twiddles).  So ``F`` is a single BB*: width 1, expansion 1,
    ``4 N log2 N`` parameters, every 2x2 either a 0/1 permutation or a Hadamard
    ``[[1, 1], [1, -1]]`` with a root of unity on one row (rows possibly swapped).

    *Other sizes.*  Bluestein: ``F = D T D`` with the chirp ``D = diag(w**(k**2))``,
    ``w = exp(-1j*pi/n)``, and the symmetric Toeplitz ``T[k, x] = w**(-(k-x)**2)``,
    embedded in a circulant of size ``L = 2**ceil(log2(2n-2))`` that is one BB* (see
    :func:`kmatrix.circulant`); both chirps are absorbed into its outer factors.
    Chirp exponents are reduced mod ``2n`` in integer arithmetic, so the relative error
    stays at a few ``eps * log2(L)`` (about 1e-14 at ``n = 10**4`` in complex128).

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> x = np.arange(6.0)
    >>> np.allclose(km.dft(6) @ x, np.fft.fft(x))
    True
    >>> F = km.dft(8, norm="ortho")
    >>> F.width, F.expansion, np.allclose(F.toarray(), np.fft.fft(np.eye(8), norm="ortho"))
    (1, 1.0, True)
    """
    return _fourier(n, norm, dtype, inverse=False, lazy=lazy)


@overload
def idft(n: int, norm: NormWord = ..., dtype: DTypeLike = ...,
        *, lazy: Literal[False] = ...) -> KMatrix: ...
@overload
def idft(n: int, norm: NormWord = ..., dtype: DTypeLike = ...,
        *, lazy: Literal[True]) -> GeneratedKMatrix: ...
@overload
def idft(n: int, norm: NormWord = ..., dtype: DTypeLike = ...,
        *, lazy: bool = ...) -> KMatrix | GeneratedKMatrix: ...


def idft(n: int, norm: NormWord = "backward", dtype: DTypeLike = np.complex128, *,
        lazy: bool = False) -> KMatrix | GeneratedKMatrix:
    """Inverse DFT: ``idft(n, norm) @ x == numpy.fft.ifft(x, axis=0, norm=norm)``.

    Same construction and certificate as :func:`dft` with the conjugate roots:
    ``F^{-1}[k, x] = c * exp(+2j*pi*k*x/n)`` with ``c`` = ``1/n`` ("backward"),
    ``1/sqrt(n)`` ("ortho") or 1 ("forward").

    Parameters
    ----------
    n : int
        Size, any positive integer.
    norm : {"backward", "ortho", "forward"} or None, default "backward"
    dtype : {complex128, complex64}, default complex128
    lazy : bool, default False
        As for :func:`dft`.

    Returns
    -------
    KMatrix or GeneratedKMatrix
        Width 1; expansion 1 for powers of two, ``< 4`` otherwise.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> x = np.array([1.0, 2.0, 0.0, -1.0, 3.0])
    >>> np.allclose(km.idft(5) @ (km.dft(5) @ x), x)
    True
    """
    return _fourier(n, norm, dtype, inverse=True, lazy=lazy)

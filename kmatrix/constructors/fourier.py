"""Fourier-type K-matrices: Hadamard, DFT and inverse DFT of any size.

Every transform here is a single BB* (width 1).  Powers of two use an in-place
Cooley-Tukey schedule that folds the bit reversal into the butterflies (expansion 1);
other sizes use Bluestein's chirp identity around a power-of-two circulant
(expansion < 4), built by :mod:`kmatrix.constructors.circulant`.
"""

from __future__ import annotations

__all__ = ["dft", "idft", "hadamard"]


import numpy as np
from numpy.typing import DTypeLike

from .._checks import check_dtype, check_memory, check_norm, check_size, twiddle_nbytes
from .._layout import identity_twiddle, log2_exact, pair_indices
from .._operator import KMatrix
from .._typing import NormWord
from .circulant import circulant_twiddle, toeplitz_column

_NORMS = ("backward", "ortho", "forward")


def hadamard(n: int, normalized: bool = False, dtype: DTypeLike = np.float64) -> KMatrix:
    """Sylvester-Hadamard matrix ``scipy.linalg.hadamard(n)`` as a K-matrix.

    Parameters
    ----------
    n : int
        Order, a power of two (``ValueError`` otherwise).
    normalized : bool, default False
        Scale by ``1/sqrt(n)`` so that the operator is orthogonal.
    dtype : dtype, default float64
        One of float32, float64, complex64, complex128.

    Returns
    -------
    KMatrix
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
    if n == 1:
        return KMatrix(identity_twiddle(2, 1, dtype), (1, 1))
    check_memory(twiddle_nbytes(2, n, dtype), f"hadamard({n})")
    tw = identity_twiddle(2, log2_exact(n), dtype)
    c = 1 / np.sqrt(2) if normalized else 1.0
    tw[0] = np.array([[c, c], [c, -c]], dtype=dtype)
    return KMatrix(tw, (n, n))


def _check_complex_dtype(dtype):
    dtype = check_dtype(dtype)
    if dtype.kind != "c":
        raise TypeError(f"the DFT is complex: dtype must be complex64 or complex128; got {dtype}")
    return dtype


def _bits(p, t):
    return (p >> t) & 1


def _fft_twiddle(m, sign, scale):
    """Width-1 twiddle of ``scale**m * [exp(sign*2j*pi*k*x/N)]``, ``N = 2**m`` (complex128).

    Bit ``s`` of an index is the pair position of the factor with stride ``2**s``.
    Input bit ``x_j`` is paired with output bit ``k_{m-1-j}`` (the Hadamard coupling of
    Cooley-Tukey); for ``b < m-1-b`` the high position ``a = m-1-b`` and the low one ``b``
    must exchange their contents, which is what the bit reversal does.  Block 0 (strides
    ``2**(m-1)`` down to 1) and block 1 (strides 1 up to ``2**(m-1)``) visit ``a, b, b, a``,
    enough for a swap by three controlled NOTs.  The schedule (all in place):

    * block 0, position ``a``: Hadamard ``x_a -> k_b`` with the DIF twiddle
      ``w**(k_b 2**b (index mod 2**a))``, then ``a ^= b`` (holds ``k_b ^ x_b``);
    * block 0, position ``b``: ``b ^= a`` (now holds ``k_b``, final);
    * block 0, middle position ``c = (m-1)/2`` (odd ``m``): Hadamard ``x_c -> k_c`` with
      the DIF twiddle;
    * block 1, position ``a``: ``a ^= b`` (holds ``x_b``), then Hadamard ``x_b -> k_a``
      with twiddle ``w**(k_a 2**a sum_{j<b} x_j 2**j)``, where ``x_j = bit_j ^ bit_{m-1-j}``
      of the pair's index.

    Hadamards run in the order ``x_{m-1}, ..., x_0`` as in decimation in frequency, so
    every twiddle ``w**(k_i x_j 2**(i+j))`` with ``i + j < m - 1`` is applied exactly once,
    while ``k_i`` already exists and ``x_j`` still does.
    """
    n = 1 << m
    tw = np.zeros((2, m, n // 2, 2, 2), dtype=np.complex128)

    def root(e):  # exact integer exponent reduction before the angle
        return np.exp(sign * 2j * np.pi * (e % n) / n)

    for s in range(m):
        p, _ = pair_indices(n, 1 << s)
        i = np.arange(n // 2)
        low = p & ((1 << s) - 1)  # bits below position s
        if 2 * s >= m - 1:  # high or middle position
            b = m - 1 - s
            # block 0: Hadamard with DIF twiddle, then (high only) flip by bit b
            phi = scale * root(low << b)
            flip = _bits(p, b) if 2 * s > m - 1 else np.zeros_like(p)
            t0 = tw[0, m - 1 - s]
            t0[i, flip, 0] = scale
            t0[i, flip, 1] = scale
            t0[i, 1 - flip, 0] = phi
            t0[i, 1 - flip, 1] = -phi
            t1 = tw[1, s]
            if 2 * s == m - 1:
                t1[:, 0, 0] = t1[:, 1, 1] = 1
                continue
            # block 1: undo the flip (input bit b = k_b), Hadamard x_b -> k_a with twiddle
            x_low = np.zeros_like(p)
            for j in range(b):
                x_low |= (_bits(p, j) ^ _bits(p, m - 1 - j)) << j
            phi = scale * root(x_low << s)
            sgn = 1 - 2 * _bits(p, b)
            t1[:, 0, 0] = scale
            t1[:, 0, 1] = scale
            t1[:, 1, 0] = sgn * phi
            t1[:, 1, 1] = -sgn * phi
        else:  # low position: controlled NOT from its partner, then identity
            swap = _bits(p, m - 1 - s).astype(bool)
            t0 = tw[0, m - 1 - s]
            t0[~swap, 0, 0] = t0[~swap, 1, 1] = 1
            t0[swap, 0, 1] = t0[swap, 1, 0] = 1
            tw[1, s, :, 0, 0] = tw[1, s, :, 1, 1] = 1
    return tw


def _norm_power(norm, inverse):
    """``e`` with numpy.fft's factor ``n**-e``: 0 unscaled, 0.5 "ortho", 1 for ``1/n``."""
    if norm == "ortho":
        return 0.5
    return 0.0 if norm == ("forward" if inverse else "backward") else 1.0


def _fourier(n, norm, dtype, inverse):
    n = check_size(n)
    norm = check_norm(norm, _NORMS)
    dtype = _check_complex_dtype(dtype)
    sign = 1 if inverse else -1
    power = _norm_power(norm, inverse)
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


def dft(n: int, norm: NormWord = "backward", dtype: DTypeLike = np.complex128) -> KMatrix:
    """Discrete Fourier transform: ``dft(n, norm) @ x == numpy.fft.fft(x, axis=0, norm=norm)``.

    Parameters
    ----------
    n : int
        Size, any positive integer.
    norm : {"backward", "ortho", "forward"} or None, default "backward"
        NumPy's normalization words (None means "backward"); only "ortho" is unitary.
    dtype : {complex128, complex64}, default complex128

    Returns
    -------
    KMatrix
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
    return _fourier(n, norm, dtype, inverse=False)


def idft(n: int, norm: NormWord = "backward", dtype: DTypeLike = np.complex128) -> KMatrix:
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

    Returns
    -------
    KMatrix
        Width 1; expansion 1 for powers of two, ``< 4`` otherwise.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> x = np.array([1.0, 2.0, 0.0, -1.0, 3.0])
    >>> np.allclose(km.idft(5) @ (km.dft(5) @ x), x)
    True
    """
    return _fourier(n, norm, dtype, inverse=True)

"""n-dimensional transforms on row-major flattened arrays: DFT, inverse DFT, 2-D convolution.

An array ``x`` of shape ``shape`` is the vector ``x.ravel()`` (C order); the operators
here act on that vector.  Separable transforms are Kronecker products of the 1-D ones
(:func:`kmatrix._algebra.kron_grid`); the 2-D convolution is a 1-D convolution of the
flattened arrays with padded rows, between two exact permutations.
"""

from __future__ import annotations

__all__ = ["dftn", "idftn", "convolution2d"]

import operator
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import _algebra
from .._benes import permutation_twiddle
from .._checks import check_size, numeric_array, shape_pair
from .._operator import KMatrix
from .._typing import NormWord, ShapeNDLike
from .circulant import toeplitz
from .fourier import dft, idft

_MODES = ("full", "same", "valid")


def _check_shape(shape):
    """``shape`` as a tuple of ints >= 1 (an int is a 1-D shape)."""
    if isinstance(shape, (bool, np.bool_)):
        raise TypeError(f"shape must be an int or a sequence of ints; got {shape!r}")
    try:
        return (check_size(operator.index(shape), "shape"),)
    except TypeError:
        pass
    try:
        sides = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a sequence of ints; got {shape!r}") from None
    if not sides:
        raise ValueError("shape must have at least one axis; got ()")
    return tuple(check_size(s, f"shape[{i}]") for i, s in enumerate(sides))


def _separable(shape, one_d, norm, dtype):
    shape = _check_shape(shape)
    # Axes of length 1 do not change the flattening (and would double the internal size).
    sides = [n for n in shape if n > 1] or [1]
    ops = [one_d(n, norm=norm, dtype=dtype) for n in sides]
    tw, kshape = _algebra.kron_grid([K._pair() for K in ops])
    return KMatrix._from_owned(tw, kshape)


def dftn(shape: ShapeNDLike, norm: NormWord = None, dtype: DTypeLike = np.complex128) -> KMatrix:
    """n-D DFT on flattened arrays: ``dftn(x.shape, norm) @ x.ravel() == numpy.fft.fftn(x, norm=norm).ravel()``.

    Parameters
    ----------
    shape : int or sequence of int
        Shape of the arrays transformed (row-major flattening).
    norm : {"backward", "ortho", "forward"} or None, default None ("backward")
        NumPy's normalization words, applied to the total size.
    dtype : {complex128, complex64}, default complex128

    Returns
    -------
    KMatrix
        Square of side ``prod(shape)``.  Width 1 and expansion 1 when every side is a
        power of two; otherwise width ``<= 3`` and expansion ``prod(N_i) / prod(n_i)``
        over the axes longer than 1, with ``N_i`` the internal size of ``dft(n_i)``
        (``< 4`` per non-power-of-two axis).  Width 1 also when only the first such
        axis is not a power of two.

    Notes
    -----
    Row-major flattening turns the n-D DFT into the Kronecker product
    ``F_{n_1} (x) ... (x) F_{n_d}``.  The Kronecker product of the 1-D operators at
    their internal sizes ``N_i`` is one ``BB*`` (each 1-D DFT is width 1, and a
    Kronecker product of ``BB*`` matrices is a ``BB*``).  When some inner axis is not a
    power of two, the index ``(j_1, ..., j_d)`` of the array is not the internal index
    of the grid ``(N_1, ..., N_d)``; one exact 0/1 permutation spreads the input into
    the grid and one packs the output, a ``BB*`` each.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> x = np.random.default_rng(0).standard_normal((4, 8))
    >>> F = km.dftn(x.shape, norm="ortho")
    >>> np.allclose(F @ x.ravel(), np.fft.fftn(x, norm="ortho").ravel()), F.width, F.expansion
    (True, 1, 1.0)
    """
    return _separable(shape, dft, norm, dtype)


def idftn(shape: ShapeNDLike, norm: NormWord = None, dtype: DTypeLike = np.complex128) -> KMatrix:
    """n-D inverse DFT on flattened arrays: ``idftn(x.shape, norm) @ x.ravel() == numpy.fft.ifftn(x, norm=norm).ravel()``.

    Same construction and certificate as :func:`dftn`, from :func:`kmatrix.idft`.

    Parameters
    ----------
    shape : int or sequence of int
    norm : {"backward", "ortho", "forward"} or None, default None ("backward")
    dtype : {complex128, complex64}, default complex128

    Returns
    -------
    KMatrix

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> x = np.random.default_rng(1).standard_normal((3, 5))
    >>> y = km.dftn((3, 5)) @ x.ravel()
    >>> np.allclose(km.idftn((3, 5)) @ y, x.ravel())
    True
    """
    return _separable(shape, idft, norm, dtype)


def _kept_region(m1, n1, m2, n2, mode):
    """``(i0, j0, R, C)``: the rows and columns of the full convolution that ``mode`` keeps."""
    if mode == "full":
        return 0, 0, m1 + m2 - 1, n1 + n2 - 1
    if mode == "same":
        return (m2 - 1) // 2, (n2 - 1) // 2, m1, n1
    if not ((m1 >= m2 and n1 >= n2) or (m2 >= m1 and n2 >= n1)):
        raise ValueError(
            "for mode 'valid', the input of shape "
            f"{(m1, n1)} or the kernel of shape {(m2, n2)} must be at least as large as "
            "the other in every dimension"
        )
    return min(m1, m2) - 1, min(n1, n2) - 1, abs(m1 - m2) + 1, abs(n1 - n2) + 1


def _injection(positions, size, cols, dtype):
    """KMatrix ``(size, cols)`` that puts input ``k`` at ``positions[k]`` (zeros elsewhere)."""
    return KMatrix._from_owned(
        permutation_twiddle(_algebra.placement(positions, size), dtype), (size, cols)
    )


def convolution2d(
    h: ArrayLike, shape: tuple[int, int], mode: Literal["full", "same", "valid"] = "full"
) -> KMatrix:
    """The operator ``x -> scipy.signal.convolve2d(x, h, mode)`` on flattened ``x`` of ``shape``.

    Parameters
    ----------
    h : array_like, shape (M2, N2)
        Kernel.
    shape : (int, int)
        Shape ``(M1, N1)`` of the input ``x``; the operator acts on ``x.ravel()``.
    mode : {"full", "same", "valid"}, default "full"
        As in :func:`scipy.signal.convolve2d`: output shape ``(M1 + M2 - 1, N1 + N2 - 1)``,
        ``(M1, N1)``, or ``(|M1 - M2| + 1, |N1 - N2| + 1)`` ("valid" needs one of ``x``
        and ``h`` to be at least as large as the other in every dimension).

    Returns
    -------
    KMatrix
        Shape ``(R*C, M1*N1)`` with ``(R, C)`` the output shape (read the result with
        ``.reshape(R, C)``); the dtype of :func:`kmatrix.toeplitz` for ``h``'s values.
        Width ``1 + s + p <= 3`` where ``s = 1`` when the input rows need spreading
        (``W > N1`` and ``M1 > 1``, see Notes) and ``p = 1`` when the output rows need
        packing (``C < W`` and ``R > 1``): "full" has ``p = 0`` and "valid" with
        ``M1 >= M2, N1 >= N2`` has ``s = 0``.  Expansion: the internal size of the 1-D
        Toeplitz (at most ``2**ceil(log2(L_out + L_in - 1))`` for the flat lengths
        ``L_out = (R - 1) W + C`` and ``L_in = (M1 - 1) W + N1``) over
        ``max(R*C, M1*N1)``: below 2 for "full", below 4 for "valid" with
        ``M1 >= M2, N1 >= N2``; a kernel larger than the input in one dimension
        stretches ``W`` and the expansion with it.

    Notes
    -----
    With rows padded to a length ``W``, the flattened arrays
    ``x'[a W + b] = x[a, b]`` and ``h'[r W + s] = h[r, s]`` have the 1-D convolution
    ``(h' * x')[i W + j] = sum h[r, s] x[a, b]`` over ``a + r = i`` and ``b + s = j``,
    as long as no sum ``b + s`` reaches ``W`` (no carry into the next row): the 2-D
    convolution is a 1-D one.  Only the kept outputs ``(i, j)``, ``j`` in
    ``[j0, j0 + C)``, must be free of carries, which needs
    ``W >= N1 + N2 - 1 - j0``; with also ``W >= N1`` and ``W >= j0 + C``, the smallest
    such ``W`` is used (``N1 + N2 - 1`` for "full", ``N1`` for "valid").  Kernel rows
    and columns that cannot reach a kept output are dropped first.  So

    .. math:: \\mathrm{conv2d} = P_{\\mathrm{pack}}\\, T\\, P_{\\mathrm{spread}},

    where ``P_spread`` is the exact injection ``x -> x'`` (a permutation, one ``BB*``),
    ``T`` the Toeplitz matrix of the kept contiguous range of the 1-D convolution
    (:func:`kmatrix.toeplitz`, one ``BB*``), and ``P_pack`` keeps the first ``C`` of
    every ``W`` outputs (a permutation).  For "full" the range is the whole 1-D
    convolution, of length ``(M1 + M2 - 1) W``, so ``T`` needs no room beyond it.

    Examples
    --------
    >>> import numpy as np, scipy.signal, kmatrix as km
    >>> rng = np.random.default_rng(0)
    >>> x, h = rng.standard_normal((6, 5)), rng.standard_normal((3, 3))
    >>> K = km.convolution2d(h, x.shape, mode="same")
    >>> np.allclose(K @ x.ravel(), scipy.signal.convolve2d(x, h, mode="same").ravel())
    True
    >>> km.convolution2d(h, x.shape).width  # "full": one spread, one Toeplitz
    2
    """
    h = numeric_array(h, "h", ndim=2)
    m1, n1 = shape_pair(shape)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}; got {mode!r}")
    m2, n2 = h.shape
    i0, j0, rows, cols = _kept_region(m1, n1, m2, n2, mode)
    # Kernel rows r (columns s) reach kept outputs only for i0 - m1 < r < i0 + rows.
    r_lo, r_hi = max(0, i0 - m1 + 1), min(m2, i0 + rows)
    s_lo, s_hi = max(0, j0 - n1 + 1), min(n2, j0 + cols)
    h = h[r_lo:r_hi, s_lo:s_hi]
    i0, j0 = i0 - r_lo, j0 - s_lo
    m2, n2 = h.shape
    width = max(n1, n2, j0 + cols, n1 + n2 - 1 - j0)
    flat = np.zeros((m2 - 1) * width + n2, dtype=h.dtype)
    for r in range(m2):
        flat[r * width : r * width + n2] = h[r]
    start = i0 * width + j0
    rows_f = (rows - 1) * width + cols
    cols_f = (m1 - 1) * width + n1

    def taps(k):  # h'[k], zero outside the flat kernel
        ok = (k >= 0) & (k < flat.size)
        return np.where(ok, flat[np.clip(k, 0, flat.size - 1)], 0).astype(flat.dtype)

    T = toeplitz(taps(start + np.arange(rows_f)), taps(start - np.arange(cols_f)))
    K = T
    a, b = np.divmod(np.arange(m1 * n1), n1)
    spread = a * width + b
    if not np.array_equal(spread, np.arange(spread.size)):
        K = K @ _injection(spread, cols_f, m1 * n1, T.dtype)
    r, c = np.divmod(np.arange(rows * cols), cols)
    pack = r * width + c
    if not np.array_equal(pack, np.arange(pack.size)):
        K = _injection(pack, rows_f, rows * cols, T.dtype).T @ K
    return K

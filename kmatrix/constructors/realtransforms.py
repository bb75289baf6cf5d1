"""DCT, DST (types 1-4, any size), their inverses, n-D versions and the Hartley transform.

The operators equal :mod:`scipy.fft`'s transforms along axis 0 (``dctn``/``dstn``: of a
row-major flattened array), with SciPy's ``norm`` and ``orthogonalize`` words.  They are
real (:attr:`~kmatrix.KMatrix.real_matrix`); the constructions and their certificates
are in :mod:`kmatrix.constructors.trig` and the theory page of the documentation.
"""

from __future__ import annotations

__all__ = ["dct", "dst", "idct", "idst", "dctn", "dstn", "idctn", "idstn", "dht"]

from typing import Literal

import numpy as np
from numpy.typing import DTypeLike

from .._checks import (
    check_choice_int, check_dtype, check_norm, check_optional_bool, check_size, shape_tuple,
)
from .._operator import KMatrix
from .._typing import NormWord, ShapeNDLike
from .closure import kron
from .trig import trig_operator

_INVERSE_TYPE = {1: 1, 2: 3, 3: 2, 4: 4}
_SWAP_NORM = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _scales(kind, type_, n, norm, orthogonalize):
    """``(row_scale, col_scale)`` of SciPy's normalization of the unnormalized transform."""
    big = {("dct", 1): 2 * (n - 1), ("dst", 1): 2 * (n + 1)}.get((kind, type_), 2 * n)
    factor = {"backward": 1.0, "ortho": big**-0.5, "forward": 1.0 / big}[norm]
    rows, cols = np.full(n, factor), np.ones(n)
    if orthogonalize:
        r2 = np.sqrt(2.0)
        ends = {("dct", 1): [0, n - 1], ("dct", 2): [0], ("dct", 3): [0],
                ("dst", 2): [n - 1], ("dst", 3): [n - 1]}.get((kind, type_), [])
        if (kind, type_) in (("dct", 1), ("dct", 2), ("dst", 2)):
            rows[ends] /= r2
        if (kind, type_) in (("dct", 1), ("dct", 3), ("dst", 3)):
            cols[ends] *= r2
    return rows, cols


def _transform(kind, n, type_, norm, orthogonalize, dtype, inverse=False):
    n = check_size(n)
    type_ = check_choice_int(type_, "type", (1, 2, 3, 4))
    norm = check_norm(norm)
    orthogonalize = check_optional_bool(orthogonalize, "orthogonalize", norm == "ortho")
    dtype = check_dtype(dtype)
    if inverse:
        type_, norm = _INVERSE_TYPE[type_], _SWAP_NORM[norm]
    if kind == "dct" and type_ == 1 and n < 2:
        raise ValueError(f"the DCT of type 1 needs n >= 2; got n = {n}")
    K = trig_operator(kind, type_, n, *_scales(kind, type_, n, norm, orthogonalize))
    return K if dtype == np.float64 else K.astype(dtype)


def dct(
    n: int,
    type: Literal[1, 2, 3, 4] = 2,  # noqa: A002 - SciPy's name
    norm: NormWord = None,
    orthogonalize: bool | None = None,
    dtype: DTypeLike = np.float64,
) -> KMatrix:
    """Discrete cosine transform: ``dct(n, ...) @ x == scipy.fft.dct(x, ..., axis=0)``.

    Parameters
    ----------
    n : int
        Length, any positive integer (``n >= 2`` for type 1, as in SciPy).
    type : {1, 2, 3, 4}, default 2
    norm : {None, "backward", "ortho", "forward"}, default None
        SciPy's normalization words (None means "backward": unscaled).
    orthogonalize : bool, optional
        SciPy's: scale the first/last entries so that "ortho" gives an orthogonal
        matrix; default True exactly for ``norm="ortho"``.
    dtype : dtype, default float64
        float64 or float32: a real operator (complex factors, real product; real input
        gives real output).  complex128/complex64: the same matrix as a complex operator.

    Returns
    -------
    KMatrix
        Types 2 and 3 at ``n = 2**k >= 4``: width 4, expansion 1.  Otherwise width 2,
        expansion ``P / n`` when the DFT size of the construction, ``P = 2n``
        (``2(n - 1)`` for type 1), is a power of two: expansion 2 for type 4 (and
        ``n <= 2``), ``< 2`` for type 1 at ``n = 2**k + 1``.  Otherwise width 1 and
        expansion ``2 L / n < 8`` with ``L`` the Bluestein size (4 for type 1 at
        ``n = 2**k >= 4``; the theory page says why).

    Notes
    -----
    Unnormalized (``norm="backward"``), with ``N = n``:

    * type 1: ``y[k] = x[0] + (-1)**k x[N-1] + 2 sum_{j=1}^{N-2} x[j] cos(pi k j / (N-1))``
    * type 2: ``y[k] = 2 sum_j x[j] cos(pi k (2j + 1) / (2N))``
    * type 3: ``y[k] = x[0] + 2 sum_{j>=1} x[j] cos(pi (2k + 1) j / (2N))``
    * type 4: ``y[k] = 2 sum_j x[j] cos(pi (2k + 1)(2j + 1) / (4N))``

    Types 2 and 3 at ``n = 2**k >= 4`` follow Makhoul: the even entries and the
    reversed odd ones go through the DFT of length ``n``, and ``y[k] = d_k V[k] +
    conj(d_k) V[n-k]`` (the real part, written complex-linearly through the symmetry of
    a real input's spectrum) is one butterfly factor between two 0/1 routings.
    Otherwise each type is ``c0 G W + conj(c0 G W)`` for a chirped block ``G`` of the
    DFT of size ``P``.  When ``P`` is a power of two, the input is extended to the
    symmetric sequence of length ``P`` (one butterfly of 0/1 and phase entries) and
    transformed by the folded DFT, with the output twiddle in its last factor
    (width 2, no real part needed: the extension makes the DFT real up to that
    twiddle).  Otherwise the complex block and its conjugate are summed by the sum
    rule.  Type 3 is the transpose of type 2 up to the weight of ``x[0]``.

    Examples
    --------
    >>> import numpy as np, scipy.fft, kmatrix as km
    >>> x = np.arange(8.0)
    >>> C = km.dct(8, norm="ortho")
    >>> np.allclose(C @ x, scipy.fft.dct(x, norm="ortho")), (C @ x).dtype
    (True, dtype('float64'))
    >>> C.width, C.expansion
    (4, 1.0)
    >>> np.allclose(km.dct(5, type=1).toarray(), scipy.fft.dct(np.eye(5), type=1, axis=0))
    True
    """
    return _transform("dct", n, type, norm, orthogonalize, dtype)


def dst(
    n: int,
    type: Literal[1, 2, 3, 4] = 2,  # noqa: A002 - SciPy's name
    norm: NormWord = None,
    orthogonalize: bool | None = None,
    dtype: DTypeLike = np.float64,
) -> KMatrix:
    """Discrete sine transform: ``dst(n, ...) @ x == scipy.fft.dst(x, ..., axis=0)``.

    Parameters are those of :func:`dct`; every type accepts every ``n >= 1``.

    Returns
    -------
    KMatrix
        As :func:`dct`: types 2 and 3 at ``n = 2**k >= 4`` width 4, expansion 1;
        width 2, expansion ``P / n`` when ``P = 2n`` (type 4) or ``P = 2(n + 1)``
        (type 1) is a power of two (type 1: ``n = 2**k - 1``, expansion
        ``2 + 2/n``); otherwise width 1, expansion ``2 L / n < 8`` (4 for type 1 at
        ``n = 2**k >= 4``).

    Notes
    -----
    Unnormalized: type 1 ``y[k] = 2 sum_j x[j] sin(pi (k+1)(j+1) / (N+1))``; type 2
    ``2 sum_j x[j] sin(pi (k+1)(2j+1) / (2N))``; type 3
    ``(-1)**k x[N-1] + 2 sum_{j<N-1} x[j] sin(pi (2k+1)(j+1) / (2N))``; type 4
    ``2 sum_j x[j] sin(pi (2k+1)(2j+1) / (4N))``.  The constructions are those of
    :func:`dct` with ``c0 = 1j`` (an antisymmetric extension); Makhoul's form uses
    ``DST-II = J DCT-II diag((-1)**j)``, ``J`` the reversal.

    Examples
    --------
    >>> import numpy as np, scipy.fft, kmatrix as km
    >>> x = np.array([1.0, -2.0, 0.5, 4.0, 3.0, 0.0])
    >>> all(np.allclose(km.dst(6, type=t) @ x, scipy.fft.dst(x, type=t)) for t in (1, 2, 3, 4))
    True
    """
    return _transform("dst", n, type, norm, orthogonalize, dtype)


def idct(
    n: int,
    type: Literal[1, 2, 3, 4] = 2,  # noqa: A002 - SciPy's name
    norm: NormWord = None,
    orthogonalize: bool | None = None,
    dtype: DTypeLike = np.float64,
) -> KMatrix:
    """Inverse DCT: ``idct(n, ...) @ x == scipy.fft.idct(x, ..., axis=0)``.

    The DCT of the inverse type (1 -> 1, 2 -> 3, 3 -> 2, 4 -> 4) with the norm words
    "backward" and "forward" exchanged, as in SciPy; same certificate as :func:`dct`.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> x = np.array([3.0, 1.0, -1.0, 2.0, 5.0])
    >>> np.allclose(km.idct(5, type=4) @ (km.dct(5, type=4) @ x), x)
    True
    """
    return _transform("dct", n, type, norm, orthogonalize, dtype, inverse=True)


def idst(
    n: int,
    type: Literal[1, 2, 3, 4] = 2,  # noqa: A002 - SciPy's name
    norm: NormWord = None,
    orthogonalize: bool | None = None,
    dtype: DTypeLike = np.float64,
) -> KMatrix:
    """Inverse DST: ``idst(n, ...) @ x == scipy.fft.idst(x, ..., axis=0)``.

    See :func:`idct`; same certificate as :func:`dst`.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> x = np.array([3.0, 1.0, -1.0, 2.0])
    >>> np.allclose(km.idst(4, norm="ortho") @ (km.dst(4, norm="ortho") @ x), x)
    True
    """
    return _transform("dst", n, type, norm, orthogonalize, dtype, inverse=True)


def _transform_n(one_d, shape, type_, norm, orthogonalize, dtype):
    shape = shape_tuple(shape)
    K = one_d(shape[0], type_, norm, orthogonalize, dtype)
    for s in shape[1:]:
        K = kron(K, one_d(s, type_, norm, orthogonalize, dtype))
    return K


def dctn(
    shape: ShapeNDLike,
    type: Literal[1, 2, 3, 4] = 2,  # noqa: A002 - SciPy's name
    norm: NormWord = None,
    orthogonalize: bool | None = None,
    dtype: DTypeLike = np.float64,
) -> KMatrix:
    """n-D DCT of a row-major flattened array: ``dctn(x.shape) @ x.ravel() == dctn(x).ravel()``.

    ``dctn(x)`` is :func:`scipy.fft.dctn` over every axis.

    Parameters
    ----------
    shape : int or tuple of int
        The array's shape (every axis transformed).
    type, norm, orthogonalize, dtype
        As in :func:`dct`, the same for every axis.

    Returns
    -------
    KMatrix
        ``kron`` of the 1-D transforms, axis 0 outermost; its certificate is the
        Kronecker rule's: width ``max w_i`` plus one per misaligned side, expansion
        ``prod e_i``.

    Examples
    --------
    >>> import numpy as np, scipy.fft, kmatrix as km
    >>> x = np.arange(12.0).reshape(3, 4)
    >>> K = km.dctn((3, 4), norm="ortho")
    >>> np.allclose(K @ x.ravel(), scipy.fft.dctn(x, norm="ortho").ravel())
    True
    """
    return _transform_n(dct, shape, type, norm, orthogonalize, dtype)


def dstn(
    shape: ShapeNDLike,
    type: Literal[1, 2, 3, 4] = 2,  # noqa: A002 - SciPy's name
    norm: NormWord = None,
    orthogonalize: bool | None = None,
    dtype: DTypeLike = np.float64,
) -> KMatrix:
    """n-D DST of a row-major flattened array (see :func:`dctn`).

    Examples
    --------
    >>> import numpy as np, scipy.fft, kmatrix as km
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> np.allclose(km.dstn((2, 3), type=1) @ x.ravel(), scipy.fft.dstn(x, type=1).ravel())
    True
    """
    return _transform_n(dst, shape, type, norm, orthogonalize, dtype)


def idctn(
    shape: ShapeNDLike,
    type: Literal[1, 2, 3, 4] = 2,  # noqa: A002 - SciPy's name
    norm: NormWord = None,
    orthogonalize: bool | None = None,
    dtype: DTypeLike = np.float64,
) -> KMatrix:
    """n-D inverse DCT: ``idctn(x.shape) @ x.ravel() == scipy.fft.idctn(x).ravel()``.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> x = np.arange(6.0).reshape(3, 2)
    >>> np.allclose(km.idctn((3, 2)) @ (km.dctn((3, 2)) @ x.ravel()), x.ravel())
    True
    """
    return _transform_n(idct, shape, type, norm, orthogonalize, dtype)


def idstn(
    shape: ShapeNDLike,
    type: Literal[1, 2, 3, 4] = 2,  # noqa: A002 - SciPy's name
    norm: NormWord = None,
    orthogonalize: bool | None = None,
    dtype: DTypeLike = np.float64,
) -> KMatrix:
    """n-D inverse DST: ``idstn(x.shape) @ x.ravel() == scipy.fft.idstn(x).ravel()``.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> np.allclose(km.idstn((2, 3)) @ (km.dstn((2, 3)) @ x.ravel()), x.ravel())
    True
    """
    return _transform_n(idst, shape, type, norm, orthogonalize, dtype)


def dht(n: int, norm: NormWord = None, dtype: DTypeLike = np.float64) -> KMatrix:
    """Discrete Hartley transform ``H[k, j] = cas(2 pi k j / n) = cos(.) + sin(.)``.

    Parameters
    ----------
    n : int
        Length, any positive integer.
    norm : {None, "backward", "ortho", "forward"}, default None
        NumPy's words: unscaled, ``1/sqrt(n)`` (then ``H`` is orthogonal and its own
        inverse), ``1/n``.  ``H @ H = n I`` unscaled.
    dtype : dtype, default float64
        As in :func:`dct`.

    Returns
    -------
    KMatrix
        ``H = Re((1 + 1j) F)`` as the sum of ``(1+1j)/2 F`` and its conjugate: width 1,
        expansion 2 for ``n = 2**k`` (the folded DFT), ``2 L / n < 8`` otherwise.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> x = np.array([1.0, 2.0, 0.0, -1.0, 3.0])
    >>> F = np.fft.fft(x)
    >>> np.allclose(km.dht(5) @ x, F.real - F.imag)
    True
    >>> H = km.dht(16, norm="ortho"); np.allclose(H @ (H @ np.arange(16.0)), np.arange(16.0))
    True
    """
    n = check_size(n)
    norm = check_norm(norm)
    dtype = check_dtype(dtype)
    factor = {"backward": 1.0, "ortho": n**-0.5, "forward": 1.0 / n}[norm]
    K = trig_operator("dht", 0, n, np.full(n, factor), np.ones(n))
    return K if dtype == np.float64 else K.astype(dtype)

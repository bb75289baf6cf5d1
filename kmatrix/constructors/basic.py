"""Basic K-matrices: identity, diagonal and random."""

from __future__ import annotations

__all__ = ["identity", "diag", "random"]

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._checks import (
    as_vector,
    check_dtype,
    check_memory,
    check_real,
    check_size,
    shape_pair,
    twiddle_nbytes,
    value_dtype,
)
from .._layout import identity_twiddle, internal_size_for, log2_exact
from .._operator import KMatrix
from .._typing import SeedLike, ShapeLike

_INITS = ("randn", "ortho", "identity")


def identity(n: int, dtype: DTypeLike = np.float64) -> KMatrix:
    """Identity operator of size ``n`` as a K-matrix, width 1, expansion 1 (padded otherwise).

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> np.array_equal(km.identity(5).toarray(), np.eye(5))
    True
    """
    n = check_size(n)
    dtype = check_dtype(dtype)
    big = internal_size_for(n, n)
    check_memory(twiddle_nbytes(2, big, dtype), f"identity({n})")
    return KMatrix(identity_twiddle(2, log2_exact(big), dtype), (n, n))


def diag(d: ArrayLike) -> KMatrix:
    """Diagonal operator ``numpy.diag(d)`` as a K-matrix (width 1).

    The diagonal sits in the first factor (stride N/2) of the first block; every other
    factor is the identity. The dtype follows the one dtype rule (:doc:`/guide/dtypes`):
    boolean and integer ``d`` give float64, float16 and float32 give float32, float64
    and complex are kept; extended precision is refused (``TypeError``).

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> km.diag([1.0, 2.0, 3.0]) @ np.ones(3)
    array([1., 2., 3.])
    """
    d = as_vector(d, "d")
    dtype = value_dtype(d.dtype, name="d")
    n = d.size
    big = internal_size_for(n, n)
    check_memory(twiddle_nbytes(2, big, dtype) + big * dtype.itemsize, f"diag of size {n}")
    m = log2_exact(big)
    tw = identity_twiddle(2, m, dtype)
    full = np.ones(big, dtype=dtype)
    full[:n] = d
    tw[0, 0, :, 0, 0] = full[: big // 2]
    tw[0, 0, :, 1, 1] = full[big // 2 :]
    return KMatrix(tw, (n, n))


def _haar_unitary_2x2(rng, count, complex_):
    """``count`` Haar-random 2x2 orthogonal (real) or unitary (complex) matrices."""
    if not complex_:
        theta = rng.uniform(0, 2 * np.pi, count)
        c, s = np.cos(theta), np.sin(theta)
        sign = np.where(rng.random(count) < 0.5, 1.0, -1.0)  # rotation or reflection
        q = np.empty((count, 2, 2))
        q[:, 0, 0] = c
        q[:, 0, 1] = -s * sign
        q[:, 1, 0] = s
        q[:, 1, 1] = c * sign
        return q
    z = (rng.standard_normal((count, 2, 2)) + 1j * rng.standard_normal((count, 2, 2))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    ph = np.diagonal(r, axis1=1, axis2=2)
    ph = ph / np.abs(ph)
    return q * ph[:, None, :]


def random(
    shape: ShapeLike,
    *,
    width: int = 1,
    expansion: float = 1,
    dtype: DTypeLike = np.float64,
    init: Literal["ortho", "randn", "identity"] = "ortho",
    rng: SeedLike = None,
) -> KMatrix:
    """Random K-matrix in ``(BB*)^width_expansion``.

    Parameters
    ----------
    shape : int or (int, int)
        Logical shape ``(rows, cols)``.
    width : int, default 1
        Number of BB* products.
    expansion : float, default 1
        Internal size is the smallest power of two ``>= expansion * max(rows, cols)``.
    dtype : dtype, default float64
    init : {"ortho", "randn", "identity"}, default "ortho"
        ``"ortho"`` (the default): every 2x2 is a Haar-random rotation or reflection
        (Haar unitary for complex), so the internal operator is orthogonal/unitary:
        perfectly conditioned, the safe choice for test operators, preconditioner
        experiments, iterative solvers (``lsqr``, ``gmres``) and as a starting point
        of a fit. ``"randn"``: Gaussian 2x2 maps, each rescaled to Frobenius norm
        ``sqrt(2)`` (that of a rotation), so every factor preserves the expected
        squared norm of its input and long products neither explode nor vanish; the
        most generic K-matrix (no structure beyond the butterfly), but a product of
        ``2 w log2 N`` random factors is numerically singular at moderate sizes
        (condition number about 1e19 at ``N = 1024``), so use it for parameter-space
        sampling, not where the operator is inverted. ``"identity"``: every factor is
        the identity (a neutral start, e.g. for a residual fit).
    rng : None, int or numpy.random.Generator

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> K = km.random(16, rng=0)
    >>> np.allclose(K.H @ (K @ np.eye(16)), np.eye(16))
    True
    >>> bool(np.linalg.cond(km.random(256, rng=1).toarray()) < 1e3)
    True
    """
    rows, cols = shape_pair(shape)
    width = check_size(width, "width")
    expansion = check_real(expansion, "expansion", low=1)
    dtype = check_dtype(dtype)
    if init not in _INITS:
        raise ValueError(f"init must be one of {_INITS}; got {init!r}")
    rng = np.random.default_rng(rng)
    big = internal_size_for(rows, cols, expansion)
    # The draws are float64 (complex128 for complex), then cast: about three twiddles of
    # the drawing dtype at the peak, plus the operator's own.
    draw = np.dtype(np.complex128 if dtype.kind == "c" else np.float64)
    check_memory(
        3 * twiddle_nbytes(2 * width, big, draw) + twiddle_nbytes(2 * width, big, dtype),
        f"random({shape!r}) with internal size N = 2**{big.bit_length() - 1}",
    )
    m = log2_exact(big)
    shape5 = (2 * width, m, big // 2, 2, 2)
    if init == "identity":
        tw = identity_twiddle(2 * width, m, dtype)
    elif init == "randn":
        tw = rng.standard_normal(shape5)
        if dtype.kind == "c":
            tw = tw + 1j * rng.standard_normal(shape5)
        # Scale every 2x2 to the Frobenius norm of an orthogonal one (sqrt 2): plain
        # i.i.d. entries keep E|Kx|^2 but the typical |Kx| decays with depth.
        tw *= np.sqrt(2) / np.linalg.norm(tw, axis=(-2, -1), keepdims=True)
    else:
        count = int(np.prod(shape5[:3]))
        tw = _haar_unitary_2x2(rng, count, dtype.kind == "c").reshape(shape5)
    return KMatrix(tw.astype(dtype), (rows, cols))

"""Assertions for testing code that builds K-matrices.

Three checks cover what a K-matrix claims: it equals a dense target
(:func:`assert_matches_dense`), its adjoint is the adjoint (:func:`assert_adjoint`, the
dot test), and it lies in the class it says (:func:`assert_certificate`). Tolerances
scale with the dtype's machine epsilon, the number of butterfly factors and the
magnitudes involved, so a passing test means "equal to rounding error", not "close".
Hypothesis strategies that draw operators and structured targets live in
:mod:`kmatrix.testing.strategies`.

Examples
--------
>>> import numpy as np, kmatrix as km
>>> from kmatrix.testing import assert_matches_dense, assert_adjoint, assert_certificate
>>> U, V = np.ones((6, 2)), np.arange(8.0).reshape(4, 2)
>>> L = km.low_rank(U, V)
>>> assert_matches_dense(L, U @ V.T)
>>> assert_adjoint(L, rng=0)
>>> assert_certificate(L, width=1, expansion=2 * 8 / 6)
"""

from __future__ import annotations

__all__ = ["assert_matches_dense", "assert_adjoint", "assert_certificate", "default_rtol"]

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import issparse
from scipy.sparse.linalg import LinearOperator

from .._checks import check_real, check_size
from .._operator import KMatrix
from .._typing import SeedLike

if TYPE_CHECKING:  # (scipy.sparse.sparray is SciPy >= 1.11)
    from scipy.sparse import sparray, spmatrix


def _n_factors(K):
    nblocks, m = K.twiddle.shape[:2]
    return nblocks * m


def _real_finfo(dtype):
    return np.finfo(np.dtype(dtype))


def default_rtol(K: KMatrix) -> float:
    """Default relative tolerance for ``K``: ``4 (F + 4) eps`` with ``F`` the number of factors.

    Each factor of a real K-matrix rounds every entry at most twice (``t00 x_p + t01 x_q``),
    a complex one a few times more, so the computed product deviates from the exact one
    by at most a small multiple of ``F eps`` times the product of the entrywise absolute
    factors (see :func:`assert_matches_dense`).

    Examples
    --------
    >>> import kmatrix as km
    >>> from kmatrix.testing import default_rtol
    >>> float(default_rtol(km.identity(8))) == 4 * (2 * 3 + 4) * 2.0**-52
    True
    """
    return 4 * (_n_factors(K) + 4) * _real_finfo(K.dtype).eps


def _abs_operator(K):
    """The K-matrix of entrywise absolute twiddles: it bounds every intermediate's size."""
    return KMatrix(np.abs(K.twiddle).astype(np.float64), K.shape)


def _check_kmatrix(K, name="K"):
    if not isinstance(K, KMatrix):
        raise TypeError(f"{name} must be a KMatrix; got {type(K).__name__}")


def assert_matches_dense(K: KMatrix, A: ArrayLike | spmatrix | sparray, rtol: float | None = None,
                         atol: float | None = None) -> None:
    """Assert that the K-matrix ``K`` equals the dense matrix ``A`` to rounding error.

    Parameters
    ----------
    K : KMatrix
    A : array_like or scipy sparse array, shape ``K.shape``
    rtol : float, optional
        Relative tolerance; default :func:`default_rtol` ``(K)``.
    atol : float, optional
        Absolute tolerance; default a few subnormal quanta per factor (an underflow
        floor that matters only for targets near the underflow threshold).

    Raises
    ------
    AssertionError
        If the shapes differ, ``K`` has non-finite entries, or
        ``max |K - A| > atol + rtol * scale``; the message shows the error, the bound
        and where the largest error is.

    Notes
    -----
    With ``|K|`` the operator built from the entrywise absolute values of the twiddles,
    the forward error of applying the ``F`` factors in floating point satisfies
    ``|fl(K) - K| <= c F eps |K|`` entrywise, and the target ``A`` itself is typically
    computed with error ``O(eps |A|)``. The check is therefore

    .. math:: \\max_{ij} |K_{ij} - A_{ij}| \\le \\mathrm{atol}
              + \\mathrm{rtol} \\cdot \\max(\\max_{ij} |K|_{ij}, \\max_{ij} |A_{ij}|).

    ``K`` is densified with its own kernels (:meth:`KMatrix.toarray`), so this tests the
    operator as users apply it.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> from kmatrix.testing import assert_matches_dense
    >>> assert_matches_dense(km.diag([1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 3.0]))
    >>> assert_matches_dense(km.identity(3), 2 * np.eye(3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: KMatrix differs from the dense target: max error 1 at (0, 0) > bound ...
    """
    _check_kmatrix(K)
    A = A.toarray() if issparse(A) else np.asarray(A)
    if A.shape != K.shape:
        raise AssertionError(f"shape mismatch: KMatrix has shape {K.shape}, dense target {A.shape}")
    if A.dtype.kind not in "biufc":
        raise TypeError(f"A must be numeric; got dtype {A.dtype}")
    dense = K.toarray()
    if not np.all(np.isfinite(dense)):
        raise AssertionError("KMatrix has non-finite entries")
    rtol = default_rtol(K) if rtol is None else check_real(rtol, "rtol", low=0)
    if atol is None:
        atol = 4 * (_n_factors(K) + 4) * _real_finfo(K.dtype).smallest_subnormal
    else:
        atol = check_real(atol, "atol", low=0)
    absolute = _abs_operator(K).toarray()
    scale = max(float(absolute.max(initial=0.0)), float(np.abs(A).max(initial=0.0)))
    bound = float(atol) + rtol * scale
    diff = np.abs(dense - A)
    where = np.unravel_index(np.argmax(diff), diff.shape) if diff.size else ()
    err = float(diff.max(initial=0.0))
    if not err <= bound:
        raise AssertionError(
            f"KMatrix differs from the dense target: max error {err:.3g} at "
            f"{tuple(int(i) for i in where)} > bound {bound:.3g} "
            f"(atol {float(atol):.3g} + rtol {rtol:.3g} * scale {scale:.3g}); "
            f"KMatrix {K.shape} {K.dtype}, width {K.width}, internal size {K.internal_size}"
        )


def assert_adjoint(K: LinearOperator, rng: SeedLike = None, rtol: float | None = None,
                   n_vectors: int = 3) -> None:
    """Dot test: assert ``<K x, y> == <x, K^H y>`` for random ``x``, ``y``.

    Parameters
    ----------
    K : KMatrix or scipy.sparse.linalg.LinearOperator
        The adjoint used is ``K.H`` (its ``rmatmat``).
    rng : None, int or numpy.random.Generator
    rtol : float, optional
        Default :func:`default_rtol` for a :class:`KMatrix`; for another operator
        ``100 * sqrt(n) * eps``.
    n_vectors : int, default 3
        Number of random vectors on each side (all ``n_vectors**2`` products are
        checked); at least 1.

    Raises
    ------
    AssertionError
        If some ``|y_j^H (K x_i) - (K^H y_j)^H x_i| > rtol * scale_ij``; the message
        shows the error and the bound.

    Notes
    -----
    For a :class:`KMatrix` the scale is ``scale_ij = |y_j|^T |K| |x_i|`` with ``|K|`` the
    operator of absolute twiddles (it bounds the rounding of both sides), and rtol gains
    ``4 sqrt(n) eps`` for the inner products of length ``n = max(K.shape)``. For another
    operator the scale is
    ``||K x_i|| ||y_j|| + ||x_i|| ||K^H y_j||``. Vectors are real for real operators,
    complex for complex ones, in the operator's dtype.

    Examples
    --------
    >>> import kmatrix as km
    >>> from kmatrix.testing import assert_adjoint
    >>> assert_adjoint(km.random((5, 12), width=2, dtype="complex64", rng=1), rng=0)
    """
    if not isinstance(K, LinearOperator):
        raise TypeError(f"K must be a KMatrix or LinearOperator; got {type(K).__name__}")
    rtol = check_real(rtol, "rtol", low=0, allow_none=True)
    # No vectors would check nothing and pass whatever K is.
    n_vectors = check_size(n_vectors, "n_vectors", minimum=1)
    rng = np.random.default_rng(rng)
    dtype = np.dtype(K.dtype)
    if dtype.kind not in "fc":
        dtype = np.dtype(np.float64)
    rows, cols = K.shape
    eps = _real_finfo(dtype).eps
    n = max(rows, cols)

    def draw(size):
        x = rng.standard_normal((size, n_vectors))
        if dtype.kind == "c":
            x = x + 1j * rng.standard_normal((size, n_vectors))
        return x.astype(dtype)

    x, y = draw(cols), draw(rows)
    kx = np.asarray(K.matmat(x))
    khy = np.asarray(K.rmatmat(y))
    lhs = y.conj().T @ kx
    rhs = khy.conj().T @ x
    if isinstance(K, KMatrix):
        rtol = default_rtol(K) + 4 * np.sqrt(n) * eps if rtol is None else rtol
        scale = np.abs(y).T @ _abs_operator(K).matmat(np.abs(x).astype(np.float64))
    else:
        rtol = 100 * np.sqrt(n) * eps if rtol is None else rtol
        scale = np.outer(np.linalg.norm(y, axis=0), np.linalg.norm(kx, axis=0)) + np.outer(
            np.linalg.norm(khy, axis=0), np.linalg.norm(x, axis=0)
        )
    err = np.abs(lhs - rhs)
    bound = rtol * scale
    bad = ~(err <= bound)
    if np.any(bad):
        j, i = np.unravel_index(np.argmax(np.where(bad, err - bound, -np.inf)), err.shape)
        raise AssertionError(
            f"dot test failed: |<K x, y> - <x, K^H y>| = {err[j, i]:.3g} > bound "
            f"{bound[j, i]:.3g} (rtol {rtol:.3g} * scale {scale[j, i]:.3g}) "
            f"for an operator of shape {K.shape}, dtype {K.dtype}"
        )


def assert_certificate(K: KMatrix, width: int | None = None,
                       expansion: float | None = None) -> None:
    """Assert that ``K`` is a well-formed member of ``(BB*)^width_expansion``.

    Parameters
    ----------
    K : KMatrix
    width : int, optional
        Upper bound on ``K.width``.
    expansion : float, optional
        Upper bound on ``K.expansion`` (compared with a relative slack of ``1e-12`` for
        the float division).

    Raises
    ------
    AssertionError
        If the reported certificate is inconsistent with the stored twiddle (width,
        internal size, expansion, parameter count) or exceeds a bound; the message
        includes ``K.describe()``.

    Examples
    --------
    >>> import kmatrix as km
    >>> from kmatrix.testing import assert_certificate
    >>> assert_certificate(km.random(6, width=2), width=2, expansion=8 / 6)
    >>> assert_certificate(km.random(6, width=2), width=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: width 2 exceeds the bound 1...
    """
    _check_kmatrix(K)
    width = None if width is None else check_size(width, "width")
    expansion = check_real(expansion, "expansion", low=0, low_open=True, allow_none=True)
    nblocks, m, half = K.twiddle.shape[:3]
    n = 1 << m
    problems = []
    if K.width != nblocks // 2 or nblocks % 2:
        problems.append(f"width {K.width} does not match {nblocks} stored blocks")
    if K.internal_size != n or half != n // 2:
        problems.append(f"internal size {K.internal_size} does not match m = {m} factors per block")
    if max(K.shape) > n:
        problems.append(f"shape {K.shape} exceeds the internal size {n}")
    if K.expansion != n / max(K.shape):
        problems.append(f"expansion {K.expansion} is not N / max(shape) = {n / max(K.shape)}")
    if K.nparams != 4 * K.width * n * m:
        problems.append(f"nparams {K.nparams} is not 4 w N log2 N = {4 * K.width * n * m}")
    if width is not None and K.width > width:
        problems.append(f"width {K.width} exceeds the bound {width}")
    if expansion is not None and K.expansion > expansion * (1 + 1e-12):
        problems.append(f"expansion {K.expansion:.6g} exceeds the bound {expansion:.6g}")
    if problems:
        raise AssertionError("; ".join(problems) + "\n" + K.describe())

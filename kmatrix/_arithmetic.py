"""Arithmetic of K-matrices: scalings, sums and products stay K-matrices (closure).

``c * K``, ``K / c``, ``-K``, ``K + K2``, ``K - K2`` and ``K @ K2`` of K-matrices fold
into one twiddle (:mod:`kmatrix._algebra`); with any other ``LinearOperator`` they give
SciPy's lazy sum and product operators, exactly as SciPy does. A scaled K-matrix has the
dtype SciPy reports for its scaled operators (:func:`kmatrix._checks.scaled_dtype`).
"""

from __future__ import annotations

__all__ = ["Arithmetic", "CostWarning", "warn_if_costlier"]

import warnings
from typing import TYPE_CHECKING, TypeVar, overload

import numpy as np
from scipy.sparse.linalg import LinearOperator

from . import _algebra
from ._checks import SCIPY_BATCHES, SUPPORTED_DTYPES, check_power, is_operator_scalar, scaled_dtype
from ._realmatrix import all_real, complex_dtype
from ._typing import Scalar

if TYPE_CHECKING:
    from typing import Any

    from numpy.typing import NDArray
    from typing_extensions import Self

    from ._operator import KMatrix

_K = TypeVar("_K", bound="KMatrix")


# Below this many dense entries a K-matrix is always the costlier form (its factors
# cover the padded size log2 N times); warning there would be noise.
_COST_WARN_MIN_ENTRIES = 4096


class CostWarning(UserWarning):
    """A product or sum of K-matrices stores more numbers than its dense matrix.

    Closure keeps every product and sum a K-matrix, but widths add and sums multiply the
    internal size, so a long composition can cost more than the dense matrix it
    represents. Issued (once per line of code, Python's default) for operators of at
    least 4096 entries; :meth:`KMatrix.describe` shows both costs.

    Examples
    --------
    >>> import warnings, numpy as np, kmatrix as km
    >>> A = km.random(64, width=3, rng=0)      # 4608 parameters; dense: 4096
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     B = A @ A                            # width 6: 9216 parameters
    >>> [w.category.__name__ for w in caught]
    ['CostWarning']
    """


def warn_if_costlier(K: _K, what: str) -> _K:
    """Warn (once per call site) when ``K`` has more parameters than its dense matrix."""
    dense = K.shape[0] * K.shape[1]
    if dense >= _COST_WARN_MIN_ENTRIES and K.nparams > dense:
        warnings.warn(
            f"{what} gives a K-matrix {K.shape[0]}x{K.shape[1]} in (BB*)^{K.width}_"
            f"{K.expansion:g} with {K.nparams} parameters, {K.nparams / dense:.3g}x the "
            f"{dense} of the dense matrix (K.describe() shows both costs)",
            CostWarning, stacklevel=_caller_level(),
        )
    return K


def _caller_level():
    """``stacklevel`` of the first frame outside kmatrix (the user's line)."""
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame, level = frame.f_back, level + 1
    return level


class Arithmetic:
    """Mixin of :class:`~kmatrix.KMatrix`: its closure arithmetic.

    The class provides ``_twiddle``, ``shape``, ``dtype``, ``real_matrix``, ``_pair()``
    and the ``_from_owned(twiddle, shape, real_matrix)`` constructor.
    """

    if TYPE_CHECKING:  # what the class provides, for type checkers
        _twiddle: NDArray[Any]
        shape: tuple[int, int]
        dtype: np.dtype[Any]

        @property
        def real_matrix(self) -> bool: ...
        def _pair(self) -> tuple[NDArray[Any], tuple[int, int]]: ...
        @classmethod
        def _from_owned(cls, twiddle: NDArray[Any], shape: tuple[int, int] | None = None,
                        real_matrix: bool = False) -> KMatrix: ...

    def _scaled(self, alpha):
        """``alpha * K`` as a K-matrix of the dtype SciPy gives ``alpha * A``."""
        dtype = scaled_dtype(self.dtype, alpha)
        if dtype not in SUPPORTED_DTYPES:
            raise TypeError(f"cannot scale a {self.dtype} KMatrix by {alpha!r} (result {dtype})")
        real = self.real_matrix and dtype.kind == "f"  # a real matrix times a real number
        # a real matrix with complex factors keeps them (in the precision of dtype)
        tw_dtype = complex_dtype(dtype) if self.real_matrix else dtype
        with np.errstate(over="ignore", invalid="ignore"):
            tw, shape = _algebra.scale((self._twiddle.astype(tw_dtype, copy=False), self.shape),
                                       alpha)
        if not np.all(np.isfinite(tw[0, 0])):
            raise OverflowError(
                f"scaling a {self.dtype} KMatrix by {alpha!r} overflows its twiddles "
                f"(largest magnitude {np.abs(self._twiddle[0, 0]).max():.3g})"
            )
        return self._from_owned(tw, shape, real_matrix=real)

    def _compose_with(self, other):
        """``K @ other`` for a ``LinearOperator``: a K-matrix when ``other`` is one."""
        if isinstance(other, Arithmetic):
            return warn_if_costlier(
                self._from_owned(*_algebra.compose(self._pair(), other._pair()),
                                 real_matrix=all_real(self, other)), "the product")
        return LinearOperator.dot(self, other)

    def __truediv__(self, other: Scalar) -> KMatrix:
        if not is_operator_scalar(other):
            raise ValueError("Can only divide a linear operator by a scalar.")
        if other == 0:
            raise ZeroDivisionError("float division by zero")  # (SciPy's 1.0 / 0)
        return self._scaled(1.0 / other)

    def __neg__(self) -> KMatrix:
        return self._scaled(-1)

    def __pos__(self) -> Self:
        return self

    @overload
    def __add__(self, other: KMatrix) -> KMatrix: ...
    @overload
    def __add__(self, other: LinearOperator) -> LinearOperator: ...

    def __add__(self, other: LinearOperator) -> LinearOperator:
        if isinstance(other, Arithmetic):
            return warn_if_costlier(
                self._from_owned(*_algebra.ksum([self._pair(), other._pair()]),
                                 real_matrix=all_real(self, other)), "the sum")
        return LinearOperator.__add__(self, other)

    def __radd__(self, other: KMatrix | int) -> KMatrix | Self:
        if isinstance(other, Arithmetic):
            return warn_if_costlier(
                self._from_owned(*_algebra.ksum([other._pair(), self._pair()]),
                                 real_matrix=all_real(self, other)), "the sum")
        if np.isscalar(other) and other == 0:  # so that builtin sum([...]) works
            return self
        return NotImplemented

    def __pow__(self, p: int) -> KMatrix:
        """``K ** p`` for an integer ``p >= 0``: the product of ``p`` copies, a K-matrix.

        ``K ** 0`` is the identity of ``K``'s shape and internal size.  Width at most
        ``p * K.width`` (diagonal and permutation factors fold, see :doc:`/theory`).
        Raises ``ValueError`` for a non-square ``K`` or a negative or non-integer ``p``
        (as SciPy's ``LinearOperator`` does), ``TypeError`` for a boolean.

        Examples
        --------
        >>> import numpy as np, kmatrix as km
        >>> A = km.random(4, rng=0)
        >>> np.allclose((A ** 3).toarray(), np.linalg.matrix_power(A.toarray(), 3)), (A ** 3).width
        (True, 3)
        """
        if not np.isscalar(p) and not (isinstance(p, np.ndarray) and p.ndim == 0):
            return NotImplemented
        if self.shape[0] != self.shape[1]:
            core = "core-dimensions of " if SCIPY_BATCHES else ""  # SciPy 1.18's wording
            raise ValueError(f"square {core}LinearOperator expected, got {self!r}")
        k = check_power(p.item() if isinstance(p, np.ndarray) else p)
        return self._from_owned(*_algebra.power(self._pair(), k), real_matrix=self.real_matrix)

    @overload
    def __sub__(self, other: KMatrix) -> KMatrix: ...
    @overload
    def __sub__(self, other: LinearOperator) -> LinearOperator: ...

    def __sub__(self, other: LinearOperator) -> LinearOperator:
        if isinstance(other, Arithmetic):
            return self + (-other)
        return LinearOperator.__sub__(self, other)

"""Arithmetic of K-matrices: scalings, sums and products stay K-matrices (closure).

``c * K``, ``K / c``, ``-K``, ``K + K2``, ``K - K2`` and ``K @ K2`` of K-matrices fold
into one twiddle (:mod:`kmatrix._algebra`); with any other ``LinearOperator`` they give
SciPy's lazy sum and product operators, exactly as SciPy does. A scaled K-matrix has the
dtype SciPy reports for its scaled operators (:func:`kmatrix._checks.scaled_dtype`).
"""

__all__ = ["Arithmetic"]

import numpy as np
from scipy.sparse.linalg import LinearOperator

from . import _algebra
from ._checks import SUPPORTED_DTYPES, is_operator_scalar, scaled_dtype


class Arithmetic:
    """Mixin of :class:`~kmatrix.KMatrix`: its closure arithmetic.

    The class provides ``_twiddle``, ``shape``, ``dtype``, ``_pair()`` and the
    ``_from_owned(twiddle, shape)`` constructor.
    """

    def _scaled(self, alpha):
        """``alpha * K`` as a K-matrix of the dtype SciPy gives ``alpha * A``."""
        dtype = scaled_dtype(self.dtype, alpha)
        if dtype not in SUPPORTED_DTYPES:
            raise TypeError(f"cannot scale a {self.dtype} KMatrix by {alpha!r} (result {dtype})")
        with np.errstate(over="ignore", invalid="ignore"):
            tw, shape = _algebra.scale((self._twiddle.astype(dtype, copy=False), self.shape), alpha)
        if not np.all(np.isfinite(tw[0, 0])):
            raise OverflowError(
                f"scaling a {self.dtype} KMatrix by {alpha!r} overflows its twiddles "
                f"(largest magnitude {np.abs(self._twiddle[0, 0]).max():.3g})"
            )
        return self._from_owned(tw, shape)

    def _compose_with(self, other):
        """``K @ other`` for a ``LinearOperator``: a K-matrix when ``other`` is one."""
        if isinstance(other, Arithmetic):
            return self._from_owned(*_algebra.compose(self._pair(), other._pair()))
        return LinearOperator.dot(self, other)

    def __truediv__(self, other):
        if not is_operator_scalar(other):
            raise ValueError("Can only divide a linear operator by a scalar.")
        if other == 0:
            raise ZeroDivisionError("float division by zero")  # (SciPy's 1.0 / 0)
        return self._scaled(1.0 / other)

    def __neg__(self):
        return self._scaled(-1)

    def __pos__(self):
        return self

    def __add__(self, other):
        if isinstance(other, Arithmetic):
            return self._from_owned(*_algebra.ksum([self._pair(), other._pair()]))
        return LinearOperator.__add__(self, other)

    def __radd__(self, other):
        if isinstance(other, Arithmetic):
            return self._from_owned(*_algebra.ksum([other._pair(), self._pair()]))
        if np.isscalar(other) and other == 0:  # so that builtin sum([...]) works
            return self
        return NotImplemented

    def __sub__(self, other):
        if isinstance(other, Arithmetic):
            return self + (-other)
        return LinearOperator.__sub__(self, other)

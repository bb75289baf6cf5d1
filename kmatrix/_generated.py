"""An operator whose twiddles are computed from a closed form, never stored whole."""

from __future__ import annotations

__all__ = ["GeneratedKMatrix"]

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse.linalg import LinearOperator

from ._checks import check_memory, is_dask_array
from ._closedform import TwiddleFormula
from ._layout import apply_flops, validate_shape
from ._operator import KMatrix
from ._products import Products


class GeneratedKMatrix(Products, LinearOperator):
    """A K-matrix whose twiddles are computed where they are needed, slice by slice.

    For transforms with closed-form factors (``km.dft(n, lazy=True)``,
    ``km.idft(n, lazy=True)``, ``km.hadamard(n, lazy=True)``, ``n`` a power of two) the
    operator keeps only the formula, a few numbers. Applied to a Dask array in row
    chunks (:doc:`/guide/dask`), every task computes the twiddle entries of its own
    chunk, so no process ever holds the ``4 w N log2(N)`` entries of the whole operator;
    this is how vectors too long for one machine's memory are transformed. Applied to a
    NumPy array (or :meth:`materialize`), it builds the ordinary :class:`~kmatrix.KMatrix`
    once -- bit for bit the one the constructor returns without ``lazy`` -- and
    ``MemoryError`` says so before allocating when that does not fit.

    ``K @ x``, ``matvec``, ``matmat``, ``rmatvec``, ``rmatmat``, ``dot`` follow
    :class:`~kmatrix.KMatrix`; ``K.H``, ``K.T``, ``K.conj()`` are generated operators
    again; ``c * K`` and ``K @ K2`` (``K2`` a K-matrix, generated or not) are the
    :class:`~kmatrix.KMatrix` of the materialized operators; other combinations are
    SciPy's lazy operators.

    Attributes
    ----------
    formula : TwiddleFormula
        The closed form of the twiddle (``formula.factor(block, factor, index)`` gives
        the 2x2 maps of one factor at the given pair indices).
    shape, dtype, width, internal_size, expansion, nparams, flops
        As for :class:`~kmatrix.KMatrix`.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> F = km.dft(1 << 30, lazy=True)      # instant: nothing of size N is built
    >>> F.shape, F.nparams
    ((1073741824, 1073741824), 128849018880)
    >>> G = km.dft(16, lazy=True)
    >>> x = np.arange(16.0)
    >>> np.array_equal(G @ x, km.dft(16) @ x)
    True
    """

    args: tuple[()] = ()
    _fast = None

    def __init__(self, formula: TwiddleFormula, shape: tuple[int, int] | None = None) -> None:
        if not isinstance(formula, TwiddleFormula):
            raise TypeError(f"formula must be a TwiddleFormula; got {type(formula).__name__}")
        self._formula = formula
        self._cache: dict[Any, Any] = {}
        super().__init__(dtype=formula.dtype,
                         shape=validate_shape(shape, 2 * formula.shape[2]))

    def __reduce__(self):  # the formula only, never a materialized copy
        return (GeneratedKMatrix, (self._formula, self.shape))

    @property
    def formula(self) -> TwiddleFormula:
        return self._formula

    @property
    def real_matrix(self) -> bool:
        return False

    @property
    def width(self) -> int:
        return 1

    @property
    def internal_size(self) -> int:
        return 2 * self._formula.shape[2]

    @property
    def expansion(self) -> float:
        return self.internal_size / max(self.shape)

    @property
    def nparams(self) -> int:
        return int(np.prod(self._formula.shape))

    @property
    def flops(self) -> int:
        return apply_flops(self._formula.shape, self.dtype)

    def __repr__(self) -> str:
        rows, cols = self.shape
        return (f"<GeneratedKMatrix {rows}x{cols} {self.dtype}, {self._formula.kind}, "
                f"N={self.internal_size}, {self.nparams} params (computed on demand)>")

    # ------------------------------------------------------------------ materialized
    def materialize(self) -> KMatrix:
        """The operator as an ordinary :class:`~kmatrix.KMatrix` (built once, cached).

        Raises ``MemoryError`` before allocating when the twiddle does not fit.
        """
        k = self._cache.get("kmatrix")
        if k is None:
            check_memory(
                2 * self._formula.nbytes,
                f"materializing the {self._formula.kind} operator of size N = "
                f"{self.internal_size} (apply it to a Dask array in row chunks instead)",
            )
            k = self._cache["kmatrix"] = KMatrix._from_owned(self._formula.materialize(),
                                                            self.shape)
        return k

    def toarray(self) -> NDArray[Any]:
        """Dense ``(rows, cols)`` ndarray (through :meth:`materialize`)."""
        return self.materialize().toarray()

    def todense(self) -> NDArray[Any]:
        """Same as :meth:`toarray`."""
        return self.toarray()

    # ------------------------------------------------------------------ apply
    def _apply(self, x, workers=None):
        if is_dask_array(x):
            from .backends.dask import apply

            return apply(self, x)
        return self.materialize()._apply(x, workers)

    def _scaled(self, alpha):
        return self.materialize()._scaled(alpha)

    def _compose_with(self, other):
        if isinstance(other, GeneratedKMatrix):
            other = other.materialize()
        return self.materialize()._compose_with(other)

    def _pair(self):
        return self.materialize()._pair()

    # ------------------------------------------------------------------ structure
    def _derived(self, key, formula, shape):
        op = self._cache.get(key)
        if op is None:
            op = self._cache[key] = GeneratedKMatrix(formula, shape)
        return op

    @property
    def H(self) -> GeneratedKMatrix:
        """Conjugate transpose, again a :class:`GeneratedKMatrix`."""
        return self._derived("H", self._formula.adjoint(), self.shape[::-1])

    @property
    def T(self) -> GeneratedKMatrix:
        """Transpose, again a :class:`GeneratedKMatrix`."""
        return self._derived("T", self._formula.transpose(), self.shape[::-1])

    def adjoint(self) -> GeneratedKMatrix:
        """Conjugate transpose (same as ``K.H``)."""
        return self.H

    def transpose(self) -> GeneratedKMatrix:
        """Transpose (same as ``K.T``)."""
        return self.T

    def conj(self) -> GeneratedKMatrix:
        """Entrywise complex conjugate, a :class:`GeneratedKMatrix`."""
        return GeneratedKMatrix(self._formula.conjugate(), self.shape)

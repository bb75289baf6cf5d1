"""Products of a K-matrix with arrays, by SciPy's ``LinearOperator`` contract.

SciPy defines what ``matvec``, ``rmatvec``, ``matmat``, ``rmatmat``, ``dot``, ``@`` and
``*`` accept, return and raise; :class:`Products` keeps that contract for the installed
SciPy. SciPy 1.18 added batch dimensions (``matvec`` on ``(..., n)``, ``matmat`` on
``(..., n, k)``), deprecated ``(n, 1)`` columns in ``matvec`` with a ``FutureWarning``
and reworded its errors; earlier versions take ``(n,)`` or ``(n, 1)`` and ``(n, k)``.
``numpy.matrix`` input gives ``numpy.matrix`` output from ``matvec``, ``rmatvec``,
``matmat`` and ``rmatmat``, as in SciPy. Sparse operands get SciPy's errors for operators
that apply to dense arrays only.

Every array passes :meth:`Products._validate`, the one place that checks shapes. The
products themselves are SciPy's private hooks (``_matvec``, ``_matmat``, ``_rmatvec``,
``_rmatmat``), which fold batch dimensions into the columns of one ``(n, k)`` block for
the operator's ``_apply``. Device arrays (``__cuda_array_interface__``) go to the GPU
path from every method, Dask arrays to the Dask back end (lazily imported). Every product
takes ``workers=`` (the kernel threads, as in :mod:`scipy.fft`).
"""

from __future__ import annotations

__all__ = ["Products"]

import math
import os
import warnings
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import scipy.sparse.linalg
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import issparse
from scipy.sparse.linalg import LinearOperator

from ._checks import SCIPY_BATCHES, is_dask_array, is_device_array, is_operator_scalar
from ._threads import threads_for
from ._typing import Scalar

if TYPE_CHECKING:
    from ._operator import KMatrix

_NUMERIC_KINDS = "biufc"
# The column FutureWarning names the caller's line, not one in kmatrix or SciPy's operators.
_WARN_SKIP = (os.path.dirname(__file__), os.path.dirname(scipy.sparse.linalg.__file__))


def _mT(x):
    """Swap the last two axes (the transpose of each matrix in a batch)."""
    return x.T if x.ndim == 2 else np.swapaxes(x, -1, -2)


def _workers(workers):
    # an explicit workers= is checked whatever the input (None: the default, read when used)
    return workers if workers is None else threads_for(workers)


def _check_device_shape(x, what, n):
    """The 1-D/2-D rules of ``what`` on a device array's shape (the GPU path takes no
    batch dimensions); ``K @ x`` is checked by the GPU path itself."""
    shape = getattr(x, "shape", None)
    if shape is None:  # an object that only exposes __cuda_array_interface__
        shape = x.__cuda_array_interface__["shape"]
    shape = tuple(int(s) for s in shape)
    if what == "matvec" and shape not in ((n,), (n, 1)):
        raise ValueError(f"dimension mismatch: expected shape ({n},) or ({n}, 1); "
                         f"given shape {shape}")
    if what == "matmat" and (len(shape) != 2 or shape[0] != n):
        raise ValueError(f"dimension mismatch: expected shape ({n}, k); given shape {shape}")


def _sparse_message(adjoint):
    if SCIPY_BATCHES:
        return ("Multipliying LinearOperator with a sparse matrix failed. Try wrapping the "
                "matrix with `aslinearoperator` first, or ensuring the operator's `matmat` "
                "function supports sparse input.")
    return ("Unable to multiply a LinearOperator with a sparse matrix. Wrap the matrix in "
            + ("aslinearoperator() first." if adjoint else "aslinearoperator first."))


class Products:
    """Mixin of :class:`~kmatrix.KMatrix`: products with arrays by SciPy's contract.

    The class provides ``shape``, ``H``, ``T``, ``_apply(x, workers)`` for host
    ``(n,)``/``(n, k)``, device or Dask arrays, ``_fast`` (small operators' dense matrix), ``_scaled(c)`` and
    ``_compose_with(op)``.
    """

    if TYPE_CHECKING:  # what the class provides, for type checkers
        _fast: tuple[NDArray[Any], np.dtype[Any], int] | None

        @property
        def H(self) -> KMatrix: ...
        @property
        def T(self) -> KMatrix: ...
        def _apply(self, x: Any, workers: int | None = None) -> Any: ...
        def _scaled(self, alpha: Scalar) -> KMatrix: ...
        def _compose_with(self, other: LinearOperator) -> LinearOperator: ...

    # ------------------------------------------------------------------ checks
    def _validate(self, x, what, adjoint=False):
        """Check ``x`` for ``what`` by the installed SciPy's rules.

        ``what`` is ``"matvec"``, ``"matmat"`` (with ``adjoint``: ``rmatvec``,
        ``rmatmat``), ``"dot"`` (``K @ x``) or ``"rdot"`` (``x @ K``). Returns ``(x,
        form, as_matrix)``: ``x`` as an ndarray (a device array as given), ``form`` one of
        ``"device"``, ``"vector"`` (``(..., n)``), ``"column"`` (``(n, 1)`` in matvec) or
        ``"matrix"`` (``(..., n, k)``; for ``"rdot"`` ``(..., k, n)``), and whether the
        result is to be a ``numpy.matrix``.
        """
        rows, cols = self.shape
        n = rows if adjoint or what == "rdot" else cols
        as_matrix = sparse = False
        if type(x) is not np.ndarray:
            if is_device_array(x):
                _check_device_shape(x, what, n)
                return x, "device", False
            if is_dask_array(x):
                from .backends.dask import check_input

                name = ("rmat" if adjoint else "mat") + ("vec" if what == "matvec" else "mat")
                x = check_input(x, n, "KMatrix @ x" if what == "dot" else name)
                return x, "vector" if x.ndim == 1 else "matrix", False
            sparse = issparse(x)
            if not sparse:
                as_matrix = what in ("matvec", "matmat") and isinstance(x, np.matrix)
                x = np.asarray(x)
        shape = x.shape
        # x @ K runs as (K.T @ x^T)^T: SciPy's errors then name K.T's shape
        op_shape = (cols, rows) if what == "rdot" else self.shape
        if what in ("dot", "rdot"):
            what, shape = self._dispatch(x, what, n)
        if sparse and what == "matvec":
            shape = ()  # SciPy's matvec sees a sparse operand as a 0-d object array
        nd = len(shape)
        if what == "matvec":
            form = self._vector_form(shape, n, adjoint, as_matrix)
        else:
            if SCIPY_BATCHES:
                if nd < 2:
                    raise ValueError(f"Expected at least 2-d ndarray or matrix, not {nd}-d")
                if shape[-2] != n:
                    raise ValueError(f"Dimension mismatch: {op_shape}, {shape}")
            else:
                if nd != 2:
                    raise ValueError(f"expected 2-d ndarray or matrix, not {nd}-d")
                if shape[0] != n:
                    raise ValueError(f"dimension mismatch: {op_shape}, {shape}")
            form = "matrix"
        if sparse:
            raise TypeError(_sparse_message(adjoint)) from TypeError(
                f"a KMatrix applies to dense arrays; got a sparse {type(x).__name__} "
                "(convert it with .toarray())")
        if x.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"KMatrix products expect a numeric array; got dtype {x.dtype}")
        return x, form, as_matrix

    @staticmethod
    def _dispatch(x, what, n):
        """``(rule, shape)``: whether ``K @ x`` (``"dot"``) or ``x @ K`` (``"rdot"``, the
        transpose of ``K.T @ x^T``) is a matvec or a matmat, and of what shape."""
        shape, nd = x.shape, x.ndim
        if what == "dot":
            if SCIPY_BATCHES:
                if shape == (n,):
                    return "matvec", shape
                if nd >= 2 and shape[-2] == n:
                    return "matmat", shape
                raise ValueError(
                    f"Dimension mismatch: array input `x` must have shape `({n},)` or a shape "
                    f"ending in `({n}, K)` for some integer `K`. Given shape: {shape}")
            if nd == 1 or (nd == 2 and shape[1] == 1):
                return "matvec", shape
            if nd == 2:
                return "matmat", shape
            raise ValueError(f"expected 1-d or 2-d array or matrix, got {x!r}")
        if SCIPY_BATCHES:
            if shape == (n,):
                return "matvec", shape
            if nd >= 2 and shape[-1] == n:
                return "matmat", shape[:-2] + (shape[-1], shape[-2])
            raise ValueError(
                f"Dimension mismatch: `x` must have shape `({n},)` or a shape ending in "
                f"`(K, {n})` for some integer `K`. Given shape: {shape}.")
        if nd == 1 or (nd == 2 and shape[0] == 1):
            return "matvec", shape[::-1]
        if nd == 2:
            return "matmat", shape[::-1]
        raise ValueError(f"expected 1-d or 2-d array or matrix, got {x!r}")

    @staticmethod
    def _vector_form(shape, n, adjoint, as_matrix):
        """The form of a matvec (``adjoint``: rmatvec) operand of ``shape``."""
        if not SCIPY_BATCHES:
            if shape == (n,):
                return "vector"
            if shape == (n, 1):
                return "column"
            raise ValueError(
                f"dimension mismatch: expected shape ({n},) or ({n}, 1); given shape {shape}")
        if as_matrix and shape[0] == n:
            # SciPy 1.18 hands a numpy.matrix to the product unchecked: K @ x, as a matrix
            return "column"
        if shape == (n, 1):
            if not as_matrix:
                name = "rmatvec" if adjoint else "matvec"
                warnings.warn(
                    f"Calling `{name}` on 'column vectors' of shape `({n}, 1)` was deprecated "
                    "in SciPy 1.18.0 and will no longer be possible in SciPy 1.20.0. Please "
                    f"call `{'rmatmat' if adjoint else 'matmat'}` instead for identical "
                    "behaviour.", FutureWarning, skip_file_prefixes=_WARN_SKIP)
            return "column"
        if len(shape) >= 1 and shape[-1] == n and not as_matrix:
            return "vector"
        raise ValueError(
            f"Dimension mismatch: `x` must have a shape ending in `({n},)`, or shape "
            f"`({n}, 1)`. Given shape: {shape}")

    def _product(self, x, what, adjoint=False, workers=None):
        """Validate ``x`` for ``what`` and apply the matching hook."""
        workers = _workers(workers)
        x, form, as_matrix = self._validate(x, what, adjoint)
        if form == "vector":
            y = self._rmatvec(x, workers) if adjoint else self._matvec(x, workers)
        else:  # matrices, (n, 1) columns and device arrays
            y = self._rmatmat(x, workers) if adjoint else self._matmat(x, workers)
        # (a view: np.asmatrix would construct a matrix, which warns PendingDeprecation)
        return np.asarray(y).view(np.matrix) if as_matrix else y

    # ------------------------------------------------------------------ hooks
    def _matvec(self, x, workers=None):
        """``K @ x`` for ``x`` of shape ``(..., cols)`` (SciPy < 1.18: ``(cols,)`` or
        ``(cols, 1)``)."""
        if is_device_array(x) or x.ndim == 1 or not SCIPY_BATCHES:
            return self._apply(x, workers)
        return self._matmat(x[..., None], workers)[..., 0]

    def _matmat(self, x, workers=None):
        """``K @ X`` for ``X`` of shape ``(..., cols, k)``: one block of all columns."""
        if is_device_array(x) or x.ndim == 2:
            return self._apply(x, workers)
        *batch, n, k = x.shape
        block = np.moveaxis(x, -2, 0).reshape(n, math.prod(batch) * k)
        y = self._apply(block, workers)
        return np.moveaxis(y.reshape(y.shape[0], *batch, k), 0, -2)

    def _rmatvec(self, x, workers=None):
        return self.H._matvec(x, workers)

    def _rmatmat(self, x, workers=None):
        return self.H._matmat(x, workers)

    # ------------------------------------------------------------------ public
    def matvec(self, x: ArrayLike, workers: int | None = None) -> NDArray[Any]:
        """``K @ x`` for ``x`` of shape ``(cols,)``, ``(cols, 1)`` or, from SciPy 1.18,
        a batch ``(..., cols)`` of vectors (``(cols, 1)`` then warns, as in SciPy).

        ``workers``: the kernel threads, see :meth:`matmat` (one vector is applied on
        the calling thread).

        Examples
        --------
        >>> import numpy as np, kmatrix as km
        >>> km.identity(4).matvec(np.arange(4.0))
        array([0., 1., 2., 3.])
        """
        return self._product(x, "matvec", workers=workers)

    def rmatvec(self, x: ArrayLike, workers: int | None = None) -> NDArray[Any]:
        """``K.H @ x`` for ``x`` of shape ``(rows,)``, ``(rows, 1)`` or, from SciPy 1.18,
        a batch ``(..., rows)`` of vectors (``workers``: see :meth:`matmat`).

        Examples
        --------
        >>> import numpy as np, kmatrix as km
        >>> km.identity(4).rmatvec(np.arange(4.0))
        array([0., 1., 2., 3.])
        """
        return self._product(x, "matvec", adjoint=True, workers=workers)

    def matmat(self, X: ArrayLike, workers: int | None = None) -> NDArray[Any]:
        """``K @ X`` for ``X`` of shape ``(cols, k)`` or, from SciPy 1.18, ``(..., cols, k)``.

        Parameters
        ----------
        X : array_like, shape (cols, k)
        workers : int, optional
            Maximum number of threads (as in :mod:`scipy.fft`): ``n >= 1``, or ``-k``
            for ``usable cores + 1 - k`` (``-1``: all usable cores); values above the
            usable cores use all of them. None (default): :func:`~kmatrix.get_workers`
            (:func:`~kmatrix.set_workers`, else ``KMATRIX_NUM_THREADS``, else the
            usable cores that no other process keeps busy). Only batches of 2 MiB or
            more use several threads; the result is the same for every value.

        Returns
        -------
        ndarray, shape (rows, k)
            Of dtype ``numpy.result_type(K.dtype, X.dtype)``.

        Examples
        --------
        >>> import numpy as np, kmatrix as km
        >>> K = km.random(1024, rng=0)
        >>> X = np.ones((1024, 256))
        >>> np.array_equal(K.matmat(X, workers=1), K.matmat(X, workers=-1))
        True
        """
        return self._product(X, "matmat", workers=workers)

    def rmatmat(self, X: ArrayLike, workers: int | None = None) -> NDArray[Any]:
        """``K.H @ X`` for ``X`` of shape ``(rows, k)`` or, from SciPy 1.18, ``(..., rows, k)``
        (``workers``: see :meth:`matmat`).

        Examples
        --------
        >>> import numpy as np, kmatrix as km
        >>> K = km.random(8, rng=0)
        >>> X = np.ones((8, 3))
        >>> np.allclose(K.rmatmat(X, workers=2), K.toarray().T @ X)
        True
        """
        return self._product(X, "matmat", adjoint=True, workers=workers)

    @overload
    def dot(self, x: KMatrix | Scalar, workers: int | None = None) -> KMatrix: ...
    @overload
    def dot(self, x: ArrayLike, workers: int | None = None) -> NDArray[Any]: ...
    @overload
    def dot(self, x: LinearOperator, workers: int | None = None) -> LinearOperator: ...

    def dot(self, x: ArrayLike | LinearOperator, workers: int | None = None
            ) -> NDArray[Any] | LinearOperator:
        """``K @ x`` for arrays, the product operator for a ``LinearOperator`` (a
        :class:`~kmatrix.KMatrix` for a K-matrix), ``x * K`` for a scalar ``x``.

        ``workers``: the kernel threads of an array product, see :meth:`matmat`.

        Examples
        --------
        >>> import numpy as np, kmatrix as km
        >>> K = km.random(8, rng=0)
        >>> np.allclose(K.dot(np.eye(8), workers=1), K.toarray())
        True
        """
        workers = _workers(workers)
        if isinstance(x, LinearOperator):
            return self._compose_with(x)
        if is_operator_scalar(x):
            return self._scaled(x)
        return self._product(x, "dot", workers=workers)

    @overload
    def rdot(self, x: KMatrix | Scalar) -> KMatrix: ...
    @overload
    def rdot(self, x: ArrayLike) -> NDArray[Any]: ...
    @overload
    def rdot(self, x: LinearOperator) -> LinearOperator: ...

    def rdot(self, x: ArrayLike | LinearOperator) -> NDArray[Any] | LinearOperator:
        """``x @ K`` for arrays (``(rows,)`` or ``(..., k, rows)``), ``x @ K`` for a
        ``LinearOperator`` ``x``, ``x * K`` for a scalar ``x``."""
        if isinstance(x, LinearOperator):
            return x.dot(self)
        if is_operator_scalar(x):
            return self._scaled(x)
        if is_device_array(x):
            raise TypeError("x @ K with a device array x is not supported; use K.T @ x.T")
        if is_dask_array(x) and x.ndim == 2:
            return self.T.dot(x.T).T
        x, form, _ = self._validate(x, "rdot")
        if form == "vector":
            return self.T._matvec(x)
        return _mT(self.T._matmat(_mT(x)))

    __mul__ = dot
    __rmul__ = rdot

    @overload
    def __matmul__(self, other: KMatrix) -> KMatrix: ...
    @overload
    def __matmul__(self, other: ArrayLike) -> NDArray[Any]: ...
    @overload
    def __matmul__(self, other: LinearOperator) -> LinearOperator: ...

    def __matmul__(self, other: ArrayLike | LinearOperator) -> NDArray[Any] | LinearOperator:
        fast = self._fast
        if fast is not None and type(other) is np.ndarray and other.dtype is fast[1]:
            # small operators: the Python checks would cost more than the product
            nd = other.ndim
            if (nd == 1 or nd == 2) and other.shape[0] == fast[2]:
                # ndarray.dot is matmul for 1-D/2-D operands, without the gufunc overhead
                return fast[0].dot(other)
        if type(other) is np.ndarray and other.ndim:
            return self._product(other, "dot")
        if is_operator_scalar(other):
            raise ValueError("Scalar operands are not allowed, use '*' instead")
        return self.dot(other)

    @overload
    def __rmatmul__(self, other: ArrayLike) -> NDArray[Any]: ...
    @overload
    def __rmatmul__(self, other: LinearOperator) -> LinearOperator: ...

    def __rmatmul__(self, other: ArrayLike | LinearOperator) -> NDArray[Any] | LinearOperator:
        if is_operator_scalar(other):
            raise ValueError("Scalar operands are not allowed, use '*' instead")
        return self.rdot(other)

    def __call__(self, x: ArrayLike | LinearOperator) -> NDArray[Any] | LinearOperator:
        return self @ x

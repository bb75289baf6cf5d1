"""The :class:`KMatrix` operator: a butterfly product as a SciPy ``LinearOperator``."""

from __future__ import annotations

__all__ = ["KMatrix"]

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from scipy.sparse.linalg import LinearOperator

from .backends.cpu.apply import apply_twiddle
from .backends.cpu.plan import make_plan, pack
from ._arithmetic import Arithmetic
from ._checks import apply_dtype, cast_finite, check_dtype, is_dask_array, is_device_array
from ._layout import apply_flops, validate_shape, validate_twiddle
from ._products import Products
from ._realmatrix import apply_real_matrix, complex_dtype, real_dtype

# Operators with internal size up to this are applied as a cached dense matrix.
DENSE_MAX_N = 64


class KMatrix(Products, Arithmetic, LinearOperator):
    """A Kaleidoscope matrix: a product of butterfly factors in the canonical layout.

    ``K = S_rows E S_cols^T`` where ``E`` is the product of ``2*w*m`` butterfly factors
    stored in ``twiddle`` (shape ``(2*w, m, N//2, 2, 2)``, the canonical layout of :doc:`/theory`) and
    ``S_r = [I_r 0]`` keeps the first ``r`` coordinates.

    Parameters
    ----------
    twiddle : ndarray, shape (2*w, m, N//2, 2, 2)
        Butterfly factors in application order; even blocks decrease the stride,
        odd blocks increase it. Its dtype (float32, float64, complex64 or complex128)
        is the operator's dtype. The array is copied.
    shape : tuple of int, optional
        Logical shape ``(rows, cols)`` with ``rows, cols <= N``; default ``(N, N)``.
    real_matrix : bool, default False
        With complex factors: their product is a real matrix, so the operator is real
        (``dtype`` float64 for complex128 factors, float32 for complex64) and maps real
        input to real output, two real columns per complex column.  The caller
        guarantees that the product is real (the exact constructors of real maps do).
        Ignored for real factors.

    Attributes
    ----------
    twiddle : ndarray
        Read-only copy of the factors.
    shape : tuple of int
    dtype : numpy.dtype
    real_matrix : bool
        Complex factors whose product is real (see the parameter).
    width : int
        ``w``, the number of BB* products.
    internal_size : int
        ``N = 2**m``.
    expansion : float
        ``N / max(rows, cols)``.
    nparams : int
        Number of stored entries, ``4 * w * N * log2(N)``.
    flops : int
        Real flops of one matvec: 3 per entry and factor for real, 14 for complex.
    args : tuple
        ``()``: SciPy's operands of a composite operator; a K-matrix is a single one.

    Notes
    -----
    The operator satisfies, for each factor at stride ``st`` and pair ``(p, q=p+st)``,

    .. math:: y_p = t_{00} x_p + t_{01} x_q, \\qquad y_q = t_{10} x_p + t_{11} x_q.

    ``K @ x`` accepts ``x`` of shape ``(cols,)`` or ``(cols, k)`` (from SciPy 1.18 also
    ``(..., cols, k)``) and returns an array of dtype ``numpy.result_type(K.dtype,
    x.dtype)``; ``matvec``, ``matmat``, ``rmatvec``, ``rmatmat``, ``dot``, ``x @ K`` and
    ``x * K`` take what the installed SciPy's ``LinearOperator`` takes, and raise its
    errors. ``K @ K2``, ``K + K2``, ``c * K``, ``K.H``, ``K.T`` and ``K.conj()`` return
    :class:`KMatrix` again (closure); ``c * K`` has the dtype SciPy reports for
    ``c * aslinearoperator(K.toarray())``. With other ``LinearOperator`` objects, sums
    and products are SciPy's lazy operators.

    Examples
    --------
    >>> import numpy as np
    >>> import kmatrix as km
    >>> tw = np.zeros((2, 2, 2, 2, 2)); tw[..., 0, 0] = tw[..., 1, 1] = 1
    >>> K = km.KMatrix(tw)
    >>> K.shape, K.width, K.internal_size
    ((4, 4), 1, 4)
    >>> K @ np.arange(4.0)
    array([0., 1., 2., 3.])
    >>> (2 * K).matmat(np.ones((4, 1))).T
    array([[2., 2., 2., 2.]])
    """

    args: tuple[()] = ()

    def __init__(self, twiddle: ArrayLike, shape: tuple[int, int] | None = None, *,
                 real_matrix: bool = False, _owned: bool = False) -> None:
        if _owned:
            # Internal constructors hand over a fresh, finite, C-ordered array of the
            # right layout: skip the copy and the NaN scan (they double peak memory).
            tw = validate_twiddle(twiddle, check_finite=False)
            if not tw.flags.c_contiguous:
                tw = np.ascontiguousarray(tw)
        else:
            tw = validate_twiddle(twiddle)
            tw = np.array(tw, copy=True, order="C")
        tw.flags.writeable = False
        n = 2 * tw.shape[2]
        shape = validate_shape(shape, n)
        self._twiddle = tw
        self._cache: dict[Any, Any] = {}
        self._fast = None  # small operators: (dense matrix, its dtype, cols) once cached
        self._real_matrix = bool(real_matrix) and tw.dtype.kind == "c"
        dtype = real_dtype(tw.dtype) if self._real_matrix else tw.dtype
        super().__init__(dtype=dtype, shape=shape)

    # ------------------------------------------------------------------ attributes
    @classmethod
    def _from_owned(cls, twiddle: NDArray[Any], shape: tuple[int, int] | None = None,
                    real_matrix: bool = False) -> KMatrix:
        """Wrap ``twiddle`` without copying or scanning it (library-internal constructors)."""
        return cls(twiddle, shape, real_matrix=real_matrix, _owned=True)

    @property
    def twiddle(self) -> NDArray[Any]:
        return self._twiddle

    @property
    def real_matrix(self) -> bool:
        return self._real_matrix

    @property
    def width(self) -> int:
        return self._twiddle.shape[0] // 2

    @property
    def internal_size(self) -> int:
        return 2 * self._twiddle.shape[2]

    @property
    def expansion(self) -> float:
        return self.internal_size / max(self.shape)

    @property
    def nparams(self) -> int:
        return int(self._twiddle.size)

    @property
    def flops(self) -> int:
        return apply_flops(self._twiddle.shape, self._twiddle.dtype)

    def __repr__(self) -> str:
        rows, cols = self.shape
        return (
            f"<KMatrix {rows}x{cols} {self.dtype}, (BB*)^{self.width}_{self.expansion:g}, "
            f"N={self.internal_size}, {self.nparams} params>"
        )

    def describe(self) -> str:
        """Return a text certificate: the class ``(BB*)^w_e``, parameters and flops vs dense.

        Examples
        --------
        >>> import kmatrix as km
        >>> print(km.identity(8).describe().splitlines()[0])
        KMatrix 8x8 float64 in (BB*)^1_1 (internal size N = 8)
        """
        rows, cols = self.shape
        dense_params = rows * cols
        dense_flops = (8 if self.dtype.kind == "c" else 2) * rows * cols
        return "\n".join(
            [
                f"KMatrix {rows}x{cols} {self.dtype} in (BB*)^{self.width}_{self.expansion:g} "
                f"(internal size N = {self.internal_size})",
                f"  parameters: {self.nparams} (dense: {dense_params}, "
                f"ratio {self.nparams / dense_params:.3g})",
                f"  flops per matvec: {self.flops} (dense: {dense_flops}, "
                f"ratio {self.flops / dense_flops:.3g})",
            ]
        )

    def _pair(self) -> tuple[NDArray[Any], tuple[int, int]]:
        """``(twiddle, shape)``, the operand form of :mod:`kmatrix._algebra`."""
        return self._twiddle, self.shape

    # ------------------------------------------------------------------ pickling
    def __reduce__(self):
        return (_restore, (np.array(self._twiddle), self.shape, self._real_matrix))

    # ------------------------------------------------------------------ apply
    def _packed(self, dtype):
        """Planned 2x2 maps cast to ``dtype`` (split into real/imag for complex), cached."""
        pk = self._cache.get(dtype)
        if pk is None:
            full = pack(self._plan(), self._twiddle.astype(dtype, copy=False))
            if dtype.kind == "c":
                pk = (np.ascontiguousarray(full.real), np.ascontiguousarray(full.imag))
            else:
                pk = full
            self._cache[dtype] = pk
        return pk

    def _plan(self):
        plan = self._cache.get("plan")
        if plan is None:
            plan = self._cache["plan"] = make_plan(self._twiddle)
        return plan

    def _dense(self, dtype):
        """Materialized matrix for small operators (BLAS beats the kernel there), cached."""
        if self.internal_size > DENSE_MAX_N:
            return None
        key = ("dense", dtype)
        d = self._cache.get(key)
        if d is None:
            cols = self.shape[1]
            kd = np.result_type(dtype, self._twiddle.dtype)  # complex factors, real matrix
            eye = np.eye(cols, dtype=kd)
            d = apply_twiddle(self._packed(kd), self._plan(), eye, self.shape[0], kd)
            d = self._cache[key] = np.ascontiguousarray(d.real if dtype.kind == "f" else d,
                                                        dtype=dtype)
            if dtype == self.dtype:
                self._fast = (d, d.dtype, d.shape[1])
        return d

    def _route(self, xdtype):
        """How input of dtype ``xdtype`` is applied: ``(result dtype, packed maps, plan,
        dense matrix or None, split, kernel dtype)``, where ``split`` says that a real
        operator runs complex input as one real batch; checked once per dtype, then cached."""
        key = ("route", xdtype)
        route = self._cache.get(key)
        if route is not None:
            return route
        dtype = apply_dtype(self.dtype, xdtype)
        dense = self._dense(dtype)
        # A real operator maps real and imaginary parts separately: run them as one
        # real batch, half the flops of complex arithmetic.
        split = dense is None and self._twiddle.dtype.kind == "f" and xdtype.kind == "c"
        kdtype = np.result_type(self.dtype, np.finfo(xdtype).dtype) if split else dtype
        if self._real_matrix:  # complex factors, real matrix: see kmatrix._realmatrix
            split, kdtype = dense is None and "real_matrix", complex_dtype(dtype)
        route = (dtype, self._packed(kdtype), self._plan(), dense, split, kdtype)
        self._cache[key] = route
        return route

    def _apply(self, x, workers=None):
        if is_device_array(x):
            from .cuda import apply_device

            return apply_device(self, x)
        if is_dask_array(x):
            from .backends.dask import apply

            return apply(self, x)
        dtype, packed, plan, dense, split, kdtype = self._route(x.dtype)
        if split == "real_matrix":
            rows = self.shape[0]
            return apply_real_matrix(
                lambda z, paired=False: apply_twiddle(packed, plan, z, rows, kdtype,
                                                      workers=workers, paired=paired), x, dtype)
        if split:
            k = 1 if x.ndim == 1 else x.shape[1]
            rows_in = x.shape[0]  # (explicit: reshape cannot infer -1 for k = 0)
            stacked = np.concatenate(
                [x.real.reshape(rows_in, k), x.imag.reshape(rows_in, k)], axis=1
            )
            y = apply_twiddle(packed, plan, stacked, self.shape[0], kdtype, workers=workers)
            out = np.empty((self.shape[0], k), dtype=dtype)
            out.real = y[:, :k]
            out.imag = y[:, k:]
            return out[:, 0] if x.ndim == 1 else out
        return apply_twiddle(packed, plan, x, self.shape[0], dtype, dense, workers)

    # ------------------------------------------------------------------ structure
    def _adjoint(self) -> KMatrix:
        h = self._cache.get("H")
        if h is None:
            tw = self._twiddle[::-1, ::-1].swapaxes(-1, -2).conj()
            h = KMatrix(tw, (self.shape[1], self.shape[0]), real_matrix=self._real_matrix)
            h._cache["H"] = self
            self._cache["H"] = h
        return h

    def _transpose(self) -> KMatrix:
        t = self._cache.get("T")
        if t is None:
            tw = self._twiddle[::-1, ::-1].swapaxes(-1, -2)
            t = KMatrix(tw, (self.shape[1], self.shape[0]), real_matrix=self._real_matrix)
            t._cache["T"] = self
            self._cache["T"] = t
        return t

    @property
    def H(self) -> KMatrix:
        """Conjugate transpose, again a :class:`KMatrix`."""
        return self._adjoint()

    @property
    def T(self) -> KMatrix:
        """Transpose, again a :class:`KMatrix`."""
        return self._transpose()

    def adjoint(self) -> KMatrix:
        """Conjugate transpose (same as ``K.H``)."""
        return self._adjoint()

    def transpose(self) -> KMatrix:
        """Transpose (same as ``K.T``)."""
        return self._transpose()

    def conj(self) -> KMatrix:
        """Entrywise complex conjugate, a :class:`KMatrix`."""
        return KMatrix(self._twiddle.conj(), self.shape, real_matrix=self._real_matrix)

    def copy(self) -> KMatrix:
        """An independent copy."""
        return KMatrix(self._twiddle, self.shape, real_matrix=self._real_matrix)

    def astype(self, dtype: DTypeLike) -> KMatrix:
        """Return the operator with twiddles of ``dtype`` (one of the four supported ones).

        Casting complex factors to a real dtype raises ``ValueError`` unless every
        imaginary part is zero.  A :attr:`real_matrix` operator keeps complex factors:
        a real ``dtype`` sets their precision, a complex one gives the complex operator
        of the same matrix.
        """
        dtype = check_dtype(dtype)
        tw = self._twiddle
        if self._real_matrix:
            if dtype.kind == "f":
                return KMatrix(tw.astype(complex_dtype(dtype)), self.shape, real_matrix=True)
            return KMatrix(tw.astype(dtype), self.shape)
        if tw.dtype.kind == "c" and dtype.kind != "c":
            if np.any(tw.imag != 0):
                raise ValueError(
                    f"cannot cast a {tw.dtype} KMatrix with nonzero imaginary parts to {dtype}"
                )
            tw = tw.real
        tw = cast_finite(tw, dtype, ValueError,
                         f"cannot cast a {self.dtype} KMatrix to {dtype}: its twiddles")
        return KMatrix._from_owned(tw, self.shape)

    def toarray(self) -> NDArray[Any]:
        """Dense ``(rows, cols)`` ndarray, built column block by column block."""
        rows, cols = self.shape
        out = np.empty((rows, cols), dtype=self.dtype)
        step = max(1, min(cols, (1 << 22) // self.internal_size))
        for c0 in range(0, cols, step):
            c1 = min(cols, c0 + step)
            eye = np.zeros((cols, c1 - c0), dtype=self.dtype)
            eye[np.arange(c0, c1), np.arange(c1 - c0)] = 1
            out[:, c0:c1] = self._apply(eye)
        return out

    def todense(self) -> NDArray[Any]:
        """Same as :meth:`toarray` (an ndarray, not ``numpy.matrix``)."""
        return self.toarray()


def _restore(twiddle, shape, real_matrix=False):
    """Unpickle a :class:`KMatrix` (keeps the ``real_matrix`` flag)."""
    return KMatrix(twiddle, shape, real_matrix=real_matrix)

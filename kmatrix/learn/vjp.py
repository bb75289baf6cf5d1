"""Reverse-mode gradient of ``Y = K @ X`` with respect to ``X`` and the twiddle."""

from __future__ import annotations

__all__ = ["vjp"]

import numpy as np
import numpy.typing as npt

from .._checks import apply_dtype, is_dask_array
from .._operator import KMatrix
from .._threads import threads_for
from ..backends.cpu.vjp import twiddle_vjp

def _check_array(a, name, first, kind_msg):
    if hasattr(a, "__cuda_array_interface__") and not isinstance(a, np.ndarray):
        raise TypeError(f"vjp expects host arrays; {name} is a device array")
    a = np.asarray(a)
    if a.dtype.kind not in "biufc":
        raise TypeError(f"vjp expects a numeric {name}; got dtype {a.dtype}")
    if a.ndim not in (1, 2) or a.shape[0] != first:
        raise ValueError(f"vjp expects {name} of shape {kind_msg}; got shape {a.shape}")
    return a


def vjp(
    K: KMatrix, X: npt.ArrayLike, G: npt.ArrayLike, *, workers: int | None = None
) -> tuple[npt.NDArray, npt.NDArray]:
    r"""Vector-Jacobian product of ``Y = K @ X``: gradients for ``X`` and the twiddle.

    Parameters
    ----------
    K : KMatrix
        Operator of shape ``(rows, cols)``.
    X : array_like, shape (cols,) or (cols, k)
        Input of the forward product.
    G : array_like, shape (rows,) or (rows, k)
        Gradient of a real loss ``L`` with respect to ``Y = K @ X`` (same shape as
        ``Y``); for complex ``Y``, ``G = dL/dRe(Y) + 1j * dL/dIm(Y)``.
    workers : int, optional
        Maximum number of threads for large batches, as in :meth:`KMatrix.matmat`:
        ``n >= 1``, or ``-k`` for ``usable cores + 1 - k``; None (default):
        :func:`~kmatrix.get_workers`. ``dX`` does not depend on it; the twiddle
        gradient's rounding does (its sum over the columns is split among the threads).

    Returns
    -------
    dX : ndarray, shape of X
        ``K.H @ G``, the gradient with respect to ``X`` (same convention), of dtype
        ``numpy.result_type(K.dtype, X.dtype, G.dtype)``.
    dtwiddle : ndarray, shape and dtype of ``K.twiddle``
        ``dL/dRe(t) + 1j * dL/dIm(t)`` for every twiddle entry, summed over the ``k``
        columns. For a real ``K`` applied to complex data this is the real part (the
        gradient with respect to real parameters).

    Notes
    -----
    For one factor ``y_p = t_{00} x_p + t_{01} x_q``, ``y_q = t_{10} x_p + t_{11} x_q``
    the chain rule in this convention reads

    .. math:: \frac{\partial L}{\partial t_{ab}} = \sum_{\text{columns}} g_a \overline{x_b},
              \qquad g_{\text{in}} = t^H g_{\text{out}},

    with ``(x_p, x_q)`` the factor's input and ``(g_p, g_q)`` the gradient at its
    output. The Numba kernel stores every factor's input for a tile of columns and
    sweeps the factors backwards (memory ``O(2w \log_2 N \cdot N)`` per tile of at most
    32 columns, independent of ``k``); column ranges run on threads for large batches.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> K = km.random(8, rng=0)
    >>> X = np.ones((8, 2)); G = np.ones((8, 2))
    >>> dX, dt = km.vjp(K, X, G)
    >>> np.allclose(dX, K.H @ G), dt.shape == K.twiddle.shape
    (True, True)
    >>> np.array_equal(km.vjp(K, X, G, workers=1)[0], dX)
    True
    """
    if not isinstance(K, KMatrix):
        raise TypeError(f"vjp expects a KMatrix as K; got {type(K).__name__}")
    if workers is not None:
        threads_for(workers)  # a bad value is reported whatever the batch size
    from ..cuda import is_device_array

    if is_device_array(X) or is_device_array(G):
        from ..cuda import vjp_device

        return vjp_device(K, X, G)
    if is_dask_array(X) or is_dask_array(G):
        from ..backends.dask import vjp as dask_vjp

        return dask_vjp(K, X, G)
    rows, cols = K.shape
    X = _check_array(X, "X", cols, f"({cols},) or ({cols}, k)")
    want = (rows,) if X.ndim == 1 else (rows, X.shape[1])
    G = _check_array(G, "G", rows, str(want))
    if G.shape != want:
        raise ValueError(f"vjp expects G with the shape of K @ X, {want}; got shape {G.shape}")
    # a real_matrix operator computes with its complex factors
    dtype = apply_dtype(K.twiddle.dtype, X.dtype, G.dtype, name="vjp")
    x2 = np.ascontiguousarray(X.reshape(cols, -1), dtype=dtype)
    g2 = np.ascontiguousarray(G.reshape(rows, -1), dtype=dtype)
    tw = K.twiddle.astype(dtype, copy=False)
    dx, dtw, _ = twiddle_vjp(tw, x2, g2, workers=workers)
    if K.twiddle.dtype.kind != "c" and dtw.dtype.kind == "c":
        dtw = dtw.real
    if K.real_matrix and X.dtype.kind != "c" and G.dtype.kind != "c":
        dx = dx.real  # K.H @ G is real: the imaginary parts are rounding
    return dx.reshape(X.shape), np.ascontiguousarray(dtw, dtype=K.twiddle.dtype)

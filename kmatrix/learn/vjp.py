"""Reverse-mode gradient of ``Y = K @ X`` with respect to ``X`` and the twiddle."""

__all__ = ["vjp", "twiddle_vjp"]

import numpy as np

from .._checks import apply_dtype, is_dask_array
from .._operator import KMatrix
from .._threads import run_shared, share, threads_for

# The tape of one column is 2w*m*N entries; tiles are sized so that a thread's tape
# stays near this many entries (8 MiB in float64), with 1 <= tile <= _MAX_TILE.
_TAPE_BUDGET = 1 << 20
_MAX_TILE = 32
# Below this much work (pair updates N/2 * factors * columns, x4 for complex) one
# thread is faster: measured on 2 cores, real n=256 x 256 columns (2^19) gains little
# from a second thread, complex n=256 x 256 (2^21) runs 1.6-1.8x faster.
_PARALLEL_MIN_WORK = 1 << 20


def _tile(nfactors, n, k):
    return int(max(1, min(_MAX_TILE, k, _TAPE_BUDGET // (nfactors * n))))


def twiddle_vjp(twiddle, x, g, *, residual=False, scale=1.0, workers=None):
    """Kernel dispatch shared by :func:`vjp` and :func:`~kmatrix.learn.fit`.

    ``twiddle`` (canonical layout), ``x`` (``cols x k``) and ``g`` (``rows x k``) must
    already share one supported dtype and be C-contiguous 2-D arrays.  With
    ``residual=True``, ``g`` is a target ``Y`` and the incoming gradient is
    ``scale * (K x - Y)``.

    Returns ``(dx, dtwiddle, sq)``: ``K^H g`` (``cols x k``), the twiddle gradient in
    the complex convention ``dL/dRe t + i dL/dIm t`` summed over columns, and
    ``||K x - Y||^2`` (``0.0`` unless ``residual``). ``workers``: as for
    :meth:`~kmatrix.KMatrix.matmat` (it sets how the columns are split, and so the
    rounding of the summed twiddle gradient; ``dx`` does not depend on it).
    """
    from ..kernels import cpu_grad  # imported on first use: Numba is not loaded by `import kmatrix`

    dtype = twiddle.dtype
    nb, m, half = twiddle.shape[:3]
    n = 2 * half
    k = x.shape[1]
    out = np.empty(x.shape, dtype=dtype)
    mode = cpu_grad.MODE_RESIDUAL if residual else cpu_grad.MODE_GIVEN
    complex_ = dtype.kind == "c"
    real_dtype = np.empty(0, dtype).real.dtype
    if complex_:
        tw = (np.ascontiguousarray(twiddle.real), np.ascontiguousarray(twiddle.imag))
    else:
        tw = (np.ascontiguousarray(twiddle),)

    work = half * nb * m * k * (4 if complex_ else 1)
    parts = 1 if work < _PARALLEL_MIN_WORK else min(threads_for(workers), k)
    step = max(1, -(-k // parts))
    bounds = [(c0, min(k, c0 + step)) for c0 in range(0, k, step)] or [(0, 0)]
    tile = _tile(nb * m, n, step)

    def run(c0, c1):
        acc = np.zeros(1)
        if complex_:
            dr = np.zeros(twiddle.shape, dtype=real_dtype)
            di = np.zeros(twiddle.shape, dtype=real_dtype)
            cpu_grad.vjp_complex(*tw, x, g, out, mode, scale, dr, di, acc, c0, c1, tile)
            return dr, di, acc[0]
        d = np.zeros(twiddle.shape, dtype=dtype)
        cpu_grad.vjp_real(*tw, x, g, out, mode, scale, d, acc, c0, c1, tile)
        return d, d, acc[0]

    if len(bounds) == 1:
        results = [run(*bounds[0])]
    else:
        # Each column range has its own accumulators; the kernels release the GIL, so
        # the threads compute the partial twiddle gradients concurrently, taking the
        # ranges one at a time, and they are summed in range order (the result does
        # not depend on which thread did which).
        results = [None] * len(bounds)
        counter = np.zeros(2, np.int64)

        def do(u):
            results[u] = run(*bounds[u])

        run_shared(lambda: share(counter, 0, len(bounds), do), len(bounds), [counter])
    dr, di, sq = results[0]
    for r in results[1:]:
        dr += r[0]
        if complex_:
            di += r[1]
        sq += r[2]
    if complex_:
        dtw = np.empty(twiddle.shape, dtype=dtype)
        dtw.real = dr
        dtw.imag = di
    else:
        dtw = dr
    return out, dtw, float(sq)


def _check_array(a, name, first, kind_msg):
    if hasattr(a, "__cuda_array_interface__") and not isinstance(a, np.ndarray):
        raise TypeError(f"vjp expects host arrays; {name} is a device array")
    a = np.asarray(a)
    if a.dtype.kind not in "biufc":
        raise TypeError(f"vjp expects a numeric {name}; got dtype {a.dtype}")
    if a.ndim not in (1, 2) or a.shape[0] != first:
        raise ValueError(f"vjp expects {name} of shape {kind_msg}; got shape {a.shape}")
    return a


def vjp(K, X, G, *, workers=None):
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

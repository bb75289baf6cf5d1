"""Host side of the GPU vector-Jacobian product; the twin of the CPU vjp."""

__all__ = ["vjp_device", "TAPE_BYTES"]

import numpy as np

from ..._checks import apply_dtype, is_device_array
from .device import as_numba_array, cuda_module, device_twiddle

_NUMERIC_KINDS = "biufc"
# Device memory for the vjp's tape of factor inputs; larger batches run in column chunks.
TAPE_BYTES = 1 << 30


def _vjp_operand(a, name, first, want):
    if not is_device_array(a):
        raise TypeError(
            f"vjp_device expects device arrays; {name} is a host {type(a).__name__} "
            "(use kmatrix.vjp for host arrays)"
        )
    shape = tuple(int(s) for s in a.shape)
    dtype = np.dtype(a.dtype)
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"vjp_device expects a numeric {name}; got dtype {dtype}")
    if len(shape) not in (1, 2) or shape[0] != first:
        raise ValueError(f"vjp_device expects {name} of shape {want}; got shape {shape}")
    return shape, dtype


def vjp_device(K, X, G):
    r"""Vector-Jacobian product of ``Y = K @ X`` on the GPU; the twin of :func:`kmatrix.vjp`.

    Parameters
    ----------
    K : KMatrix
    X : device array, shape ``(cols,)`` or ``(cols, k)``
        Input of the forward product.
    G : device array, shape of ``K @ X``
        Gradient of a real loss ``L`` with respect to ``Y``; for complex ``Y``,
        ``G = dL/dRe(Y) + 1j * dL/dIm(Y)``.

    Returns
    -------
    dX : device array, shape of ``X``
        ``K.H @ G``, of dtype ``numpy.result_type(K.dtype, X.dtype, G.dtype)``.
    dtwiddle : device array, shape and dtype of ``K.twiddle``
        ``dL/dRe(t) + 1j * dL/dIm(t)`` summed over the columns (the real part for a
        real ``K``).

    Notes
    -----
    For one factor ``y_p = t_{00} x_p + t_{01} x_q``, ``y_q = t_{10} x_p + t_{11} x_q``:

    .. math:: \frac{\partial L}{\partial t_{ab}} = \sum_{\text{columns}} g_a \overline{x_b},
              \qquad g_{\text{in}} = t^H g_{\text{out}}.

    The forward sweep stores every factor's input on a device tape (``2w m`` arrays of
    ``N x kc`` entries, ``kc`` columns at a time within ``TAPE_BYTES``), then the
    factors are swept in reverse, one launch each.

    Examples
    --------
    >>> import numpy as np, kmatrix as km, kmatrix.cuda
    >>> try:
    ...     kmatrix.cuda.vjp_device(km.identity(4), np.ones(4), np.ones(4))
    ... except TypeError as exc:
    ...     print(str(exc).split(";")[0])
    vjp_device expects device arrays
    """
    if K.real_matrix:
        raise TypeError(
            "vjp_device: this operator has complex factors whose product is real "
            "(real_matrix); use K.astype(numpy.complex128) on the GPU, or kmatrix.vjp"
        )
    rows, cols = K.shape
    xshape, xdt = _vjp_operand(X, "X", cols, f"({cols},) or ({cols}, k)")
    want = (rows,) if len(xshape) == 1 else (rows, xshape[1])
    gshape, gdt = _vjp_operand(G, "G", rows, str(want))
    if gshape != want:
        raise ValueError(
            f"vjp_device expects G with the shape of K @ X, {want}; got shape {gshape}"
        )
    dtype = apply_dtype(K.dtype, xdt, gdt, name="vjp_device")
    cuda = cuda_module()
    from . import plan
    from ...kernels import cuda as kern
    from ...kernels import cuda_grad as kgrad

    X = as_numba_array(X, cuda)
    G = as_numba_array(G, cuda)
    n = K.internal_size
    nb, m = K.twiddle.shape[:2]
    nf = nb * m
    k = 1 if len(xshape) == 1 else xshape[1]
    tw = device_twiddle(K, dtype)
    dtw = cuda.device_array(K.twiddle.shape, dtype=dtype)
    grid, block = plan.launch_shape(dtw.size)
    kgrad.fill_zero[grid, block](dtw.reshape(dtw.size))
    dx = cuda.device_array((cols, k), dtype=dtype)
    kc = int(max(1, min(k, TAPE_BYTES // (nf * n * dtype.itemsize))))
    tape = cuda.device_array((nf, n * kc), dtype=dtype) if k else None
    g = cuda.device_array(n * kc, dtype=dtype)
    for c0 in range(0, k, kc):
        w = min(kc, k - c0)
        x0 = tape[0, : n * w]
        grid, block = plan.launch_shape(n * w)
        if len(xshape) == 1:
            kern.pad_kernel(1)[grid, block](X, x0, cols)
            kern.pad_kernel(1)[grid, block](G, g[:n], rows)
        else:
            kern.pad_kernel(2)[grid, block](X[:, c0 : c0 + w], x0, cols, w)
            kern.pad_kernel(2)[grid, block](G[:, c0 : c0 + w], g[: n * w], rows, w)
        grid, block = plan.launch_shape(n // 2 * w)
        for f in range(nf - 1):
            kgrad.factor_forward[grid, block](tape[f, : n * w], tape[f + 1, : n * w], tw, f, m, w)
        bgrid, bblock, bshared = plan.backward_shape(n // 2, w)
        for f in range(nf - 1, -1, -1):
            kgrad.factor_backward[bgrid, bblock, 0, bshared * dtype.itemsize](
                tape[f, : n * w], g[: n * w], tw, dtw, f, m, w
            )
        grid, block = plan.launch_shape(cols * w)
        kgrad.copy_rows[grid, block](g[: n * w], dx, c0, w)
    dx = dx.reshape(cols) if len(xshape) == 1 else dx
    if dtype == K.dtype:
        return dx, dtw
    out = cuda.device_array(K.twiddle.shape, dtype=K.dtype)
    grid, block = plan.launch_shape(out.size)
    cast = kgrad.real_copy if K.dtype.kind != "c" else kgrad.cast_copy
    cast[grid, block](dtw.reshape(dtw.size), out.reshape(out.size))
    return dx, out

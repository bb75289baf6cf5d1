"""Host side of the GPU vector-Jacobian product; the twin of the CPU vjp."""

from __future__ import annotations

__all__ = ["vjp_device", "TAPE_BYTES"]

from typing import TYPE_CHECKING

import numpy as np

from ..._checks import apply_dtype, is_device_array
from ..._typing import DeviceArray, StreamLike
from . import buffers, device
from .device import check_same_device, cuda_module, current_device_id, device_twiddle
from .interop import as_caller_type, import_array, on_stream, order_after, resolve_stream

if TYPE_CHECKING:
    from ..._operator import KMatrix

_NUMERIC_KINDS = "biufc"
# Device memory for the vjp's tape of factor inputs; larger batches run in column chunks.
TAPE_BYTES = 1 << 30


def _require_device(a, name):
    if not is_device_array(a):
        raise TypeError(
            f"vjp_device expects device arrays; {name} is a host {type(a).__name__} "
            "(use kmatrix.vjp for host arrays)"
        )


def _vjp_operand(a, name, first, want):
    """Shape and dtype of the Numba view ``a`` of an operand, checked."""
    shape = tuple(int(s) for s in a.shape)
    dtype = np.dtype(a.dtype)
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"vjp_device expects a numeric {name}; got dtype {dtype}")
    if len(shape) not in (1, 2) or shape[0] != first:
        raise ValueError(f"vjp_device expects {name} of shape {want}; got shape {shape}")
    return shape, dtype


def vjp_device(K: KMatrix, X: DeviceArray, G: DeviceArray,
               stream: StreamLike = None) -> tuple[DeviceArray, DeviceArray]:
    r"""Vector-Jacobian product of ``Y = K @ X`` on the GPU; the twin of :func:`kmatrix.vjp`.

    Parameters
    ----------
    K : KMatrix
    X : device array, shape ``(cols,)`` or ``(cols, k)``
        Input of the forward product.
    G : device array, shape of ``K @ X``
        Gradient of a real loss ``L`` with respect to ``Y``; for complex ``Y``,
        ``G = dL/dRe(Y) + 1j * dL/dIm(Y)``.
    stream : numba.cuda stream, int or object with ``__cuda_stream__``, optional
        Where the work is enqueued; by default the stream ``X`` reports (see
        :func:`kmatrix.cuda.apply_device`).  When ``G`` reports another stream, the
        work waits for ``G``'s stream on the device (an event; the host does not wait).

    Returns
    -------
    dX : device array, shape of ``X``
        ``K.H @ G``, of dtype ``numpy.result_type(K.dtype, X.dtype, G.dtype)``.
    dtwiddle : device array, shape and dtype of ``K.twiddle``
        ``dL/dRe(t) + 1j * dL/dIm(t)`` summed over the columns (the real part for a
        real ``K``).

    Both are of ``X``'s array type (CuPy, torch or Numba, as for
    :func:`kmatrix.cuda.apply_device`), freshly allocated; the tape and other scratch
    memory are reused between calls on the same stream (:func:`kmatrix.cuda.free_buffers`
    releases them).

    Notes
    -----
    For one factor ``y_p = t_{00} x_p + t_{01} x_q``, ``y_q = t_{10} x_p + t_{11} x_q``:

    .. math:: \frac{\partial L}{\partial t_{ab}} = \sum_{\text{columns}} g_a \overline{x_b},
              \qquad g_{\text{in}} = t^H g_{\text{out}}.

    The forward sweep stores every factor's input on a device tape (``2w m`` arrays of
    ``N x kc`` entries, ``kc`` columns at a time within ``TAPE_BYTES``), then the
    factors are swept in reverse, one launch each.  With the single-launch plan
    (``kmatrix.backends.cuda.plan.SINGLE_LAUNCH``, see the GPU guide) and columns of
    ``N`` entries that fit one block's shared memory, both sweeps run in one launch
    per chunk of columns.

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
    _require_device(X, "X")
    _require_device(G, "G")
    cuda = cuda_module()
    dev = current_device_id(cuda)
    Xa, x_reported = import_array(X, cuda)
    Ga, g_reported = import_array(G, cuda)
    rows, cols = K.shape
    xshape, xdt = _vjp_operand(Xa, "X", cols, f"({cols},) or ({cols}, k)")
    want = (rows,) if len(xshape) == 1 else (rows, xshape[1])
    gshape, gdt = _vjp_operand(Ga, "G", rows, str(want))
    if gshape != want:
        raise ValueError(
            f"vjp_device expects G with the shape of K @ X, {want}; got shape {gshape}"
        )
    dtype = apply_dtype(K.dtype, xdt, gdt, name="vjp_device")
    from . import plan
    from ...kernels import cuda as kern
    from ...kernels import cuda_grad as kgrad
    from ...kernels import cuda_tile

    check_same_device(Xa, cuda, dev)
    check_same_device(Ga, cuda, dev)
    s = resolve_stream(stream, x_reported, cuda, dev)
    order_after(resolve_stream(None, g_reported, cuda, dev), s, cuda)

    def launch(kernel, grid, block, shared=0):
        return device.configured(kernel, grid, block, s, shared)

    n = K.internal_size
    nb, m = K.twiddle.shape[:2]
    nf = nb * m
    k = 1 if len(xshape) == 1 else xshape[1]
    tw = device_twiddle(K, dtype)
    cast = dtype != K.dtype
    dtw = (buffers.take(cuda, dev, s, K.twiddle.shape, dtype) if cast
           else cuda.device_array(K.twiddle.shape, dtype=dtype, stream=s))
    grid, block = plan.launch_shape(dtw.size)
    launch(kgrad.fill_zero, grid, block)(dtw.reshape(dtw.size))
    dx = cuda.device_array((cols, k), dtype=dtype, stream=s)
    kc = int(max(1, min(k, TAPE_BYTES // (nf * n * dtype.itemsize))))
    lanes, limit = 0, 0
    if plan.SINGLE_LAUNCH and (len(xshape) == 2 or (Xa.is_c_contiguous() and Ga.is_c_contiguous())):
        from .shared import optin_bytes

        limit = optin_bytes(cuda)
        lanes = plan.single_lanes(n, k, dtype.itemsize, limit)
    if lanes:
        if kc < k:  # chunks of whole blocks of columns
            kc = max(lanes, kc // lanes * lanes)
        # the tape holds each block's whole tile, its last block's unused columns too
        tape = buffers.take(cuda, dev, s, (nf, n * (-(-kc // lanes) * lanes)), dtype)
        flat = dtw.reshape(dtw.size)
        # the real view takes atomic adds (several blocks share a twiddle's gradient)
        dre = flat.view(np.empty(0, dtype).real.dtype) if dtype.kind == "c" else flat
        X2 = Xa if len(xshape) == 2 else Xa.reshape(cols, 1)
        G2 = Ga if len(xshape) == 2 else Ga.reshape(rows, 1)
        for c0 in range(0, k, kc):
            w = min(kc, k - c0)
            p = plan.plan_single(nb, m, w, dtype.itemsize, limit)
            launch(cuda_tile.tile_vjp_kernel, p.grid, p.threads, p.shared)(
                X2[:, c0 : c0 + w], cols, G2[:, c0 : c0 + w], rows, tape, flat, dre, dx, c0,
                tw, nf, m, p.lb_sh, w, int(p.grid > 1))
        buffers.give_back(tape, dev, s)
    elif k:
        tape = buffers.take(cuda, dev, s, (nf, n * kc), dtype)
        g = buffers.take(cuda, dev, s, (n * kc,), dtype)
        for c0 in range(0, k, kc):
            w = min(kc, k - c0)
            x0 = tape[0, : n * w]
            grid, block = plan.launch_shape(n * w)
            if len(xshape) == 1:
                launch(kern.pad_kernel(1), grid, block)(Xa, x0, cols)
                launch(kern.pad_kernel(1), grid, block)(Ga, g[:n], rows)
            else:
                launch(kern.pad_kernel(2), grid, block)(Xa[:, c0 : c0 + w], x0, cols, w)
                launch(kern.pad_kernel(2), grid, block)(Ga[:, c0 : c0 + w], g[: n * w], rows, w)
            grid, block = plan.launch_shape(n // 2 * w)
            forward = launch(kgrad.factor_forward, grid, block)
            for f in range(nf - 1):
                forward(tape[f, : n * w], tape[f + 1, : n * w], tw, f, m, w)
            bgrid, bblock, bshared = plan.backward_shape(n // 2, w)
            backward = launch(kgrad.factor_backward, bgrid, bblock, bshared * dtype.itemsize)
            for f in range(nf - 1, -1, -1):
                backward(tape[f, : n * w], g[: n * w], tw, dtw, f, m, w)
            grid, block = plan.launch_shape(cols * w)
            launch(kgrad.copy_rows, grid, block)(g[: n * w], dx, c0, w)
        buffers.give_back(tape, dev, s)
        buffers.give_back(g, dev, s)
    dx = on_stream(dx.reshape(cols) if len(xshape) == 1 else dx, s)
    if cast:
        out = cuda.device_array(K.twiddle.shape, dtype=K.dtype, stream=s)
        grid, block = plan.launch_shape(out.size)
        copy = kgrad.real_copy if K.dtype.kind != "c" else kgrad.cast_copy
        launch(copy, grid, block)(dtw.reshape(dtw.size), out.reshape(out.size))
        buffers.give_back(dtw, dev, s)
        dtw = out
    given = stream is not None
    return as_caller_type(dx, X, given), as_caller_type(on_stream(dtw, s), X, given)

"""Host side of the GPU apply: validation, work arrays and kernel launches.

The twin of the CPU apply: ``K @ x`` for a device array ``x`` allocates a flat ``(N, k)``
work array of the result dtype, and a few launches of the pass kernels of
:mod:`kmatrix.kernels.cuda` / :mod:`kmatrix.kernels.cuda_register` (planned by
:mod:`.plan`) apply every factor; the first launch reads the input itself, any strides
and numeric dtype, as zero-padded to ``N`` rows.
"""

from __future__ import annotations

__all__ = ["apply_device", "apply_internal"]

import numpy as np

import weakref
from typing import TYPE_CHECKING

from ..._checks import apply_dtype, is_device_array
from ..._layout import SUPPORTED_DTYPES
from ..._typing import DeviceArray, StreamLike
from . import device, plan
from .device import check_same_device, cuda_module, current_device_id, device_twiddle
from .interop import as_caller_type, import_array, on_stream, resolve_stream

if TYPE_CHECKING:
    from ..._operator import KMatrix

_NUMERIC_KINDS = "biufc"


# result dtype per (operator dtype, input dtype): np.result_type costs microseconds
_RESULT_DTYPES = {}


def _result_dtype(kdt, xdt):
    key = (kdt, xdt)
    out = _RESULT_DTYPES.get(key)
    if out is None:
        try:
            dtype = np.dtype(xdt)
        except TypeError:
            raise TypeError(f"expects a numeric device array; got dtype {xdt!r}") from None
        if dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"expects a numeric array; got dtype {dtype}")
        out = apply_dtype(kdt, dtype, name="expects a supported result type")
        _RESULT_DTYPES[key] = out
    return out


def _validate(K, x, name):
    shape = x.shape
    cols = K.shape[1]
    if len(shape) not in (1, 2) or shape[0] != cols:
        raise ValueError(
            f"{name} expects an array of shape ({cols},) or ({cols}, k); got shape "
            f"{tuple(int(s) for s in shape)}"
        )
    try:
        out = _result_dtype(K.dtype, x.dtype)
    except TypeError as exc:
        raise TypeError(f"{name} {exc}") from None
    return tuple(int(s) for s in shape), out


def apply_device(K: KMatrix, x: DeviceArray, name: str = "KMatrix @ x",
                 stream: StreamLike = None) -> DeviceArray:
    """Return ``K @ x`` for a device array ``x``, computed on the GPU; the result stays there.

    Parameters
    ----------
    K : KMatrix
    x : device array, shape ``(cols,)`` or ``(cols, k)``
        A Numba device array or any object with ``__cuda_array_interface__`` (CuPy,
        torch), of any strides and numeric dtype, on the current device.
    name : str
        How error messages name the operation.
    stream : numba.cuda stream, int or object with ``__cuda_stream__``, optional
        Where the work is enqueued.  By default, the stream ``x`` reports: a Numba
        array's bound stream, the ``stream`` key of its ``__cuda_array_interface__``
        (CuPy's current stream), or torch's current stream for a torch tensor.  An
        int is ``0`` (Numba's default stream), ``1`` (legacy default stream), ``2``
        (per-thread default stream) or a ``cudaStream_t`` pointer.

    Returns
    -------
    device array
        Shape ``(rows,)`` or ``(rows, k)``, dtype ``numpy.result_type(K.dtype,
        x.dtype)``, of the caller's type: a CuPy array for CuPy input, a torch tensor
        for torch input, else a Numba device array (bound to the stream, which its
        ``__cuda_array_interface__`` reports).  Zero-copy views of freshly allocated
        memory; nothing is synchronized: the result is ready once the stream reaches it.

    Raises
    ------
    TypeError
        ``x`` is a host array (use ``K @ x``), not numeric, the result type is not
        supported, or ``stream`` is not a stream.
    ValueError
        Wrong shape, or ``x`` is on another device.
    RuntimeError
        CUDA is not available.

    Notes
    -----
    With ``x`` zero-padded to ``N`` rows, every factor at stride ``st`` maps each pair
    ``(p, q = p + st)`` as

    .. math:: y_p = t_{00} x_p + t_{01} x_q, \\qquad y_q = t_{10} x_p + t_{11} x_q,

    and the first ``rows`` entries of the result are returned; ``K.H @ x`` runs the same
    kernels on the adjoint's twiddle.  The launches of each operator, dtype and batch
    width are planned once and kept with the operator.

    Examples
    --------
    >>> import numpy as np, kmatrix as km, kmatrix.cuda
    >>> K = km.identity(4)
    >>> try:
    ...     kmatrix.cuda.apply_device(K, np.ones(4))
    ... except TypeError as exc:
    ...     print(str(exc).split(";")[0])
    apply_device expects a device array
    """
    if not is_device_array(x):
        raise TypeError(
            "apply_device expects a device array; got a host "
            f"{type(x).__module__}.{type(x).__name__} (use K @ x for host arrays: nothing "
            "is copied to the GPU implicitly)"
        )
    if K.real_matrix:
        raise TypeError(
            f"{name}: this operator has complex factors whose product is real "
            "(real_matrix); on the GPU apply K.astype(numpy.complex128) (or complex64), "
            "the complex operator of the same matrix, and take the real part"
        )
    cuda = cuda_module()
    dev = current_device_id(cuda)
    arr, reported = import_array(x, cuda)
    check_same_device(arr, cuda, dev)
    s = resolve_stream(stream, reported, cuda, dev)
    shape, dtype = _validate(K, arr, name)
    rows = K.shape[0]
    n = K.internal_size
    k = 1 if len(shape) == 1 else shape[1]
    if n * k == 0:
        out_shape = (rows,) if len(shape) == 1 else (rows, k)
        empty = cuda.device_array(out_shape, dtype=dtype, stream=s)
        return as_caller_type(on_stream(empty, s), x, stream is not None)
    work = cuda.device_array(n * k, dtype=dtype, stream=s)
    if len(shape) == 2:
        src = arr
    elif arr.is_c_contiguous():
        src = arr.reshape(shape[0], 1)
    else:  # a strided vector has no 2-D view here: pad it into the work array first
        from ...kernels import cuda as kern

        grid, block = plan.launch_shape(n)
        device.configured(kern.pad_kernel(1), grid, block, s, 0)(arr, work, shape[0])
        src = None
    _launches(K, dtype, k, dev)(work, s, src, shape[0])
    result = work[:rows] if len(shape) == 1 else work.reshape(n, k)[:rows]
    return as_caller_type(on_stream(result, s), x, stream is not None)


def _plan_constants():
    return (plan.TILE_BYTES, plan.LANE_BYTES, plan.MAX_THREADS, plan.REGISTER_MIN_LANES,
            plan.REGISTER_MIN_ENTRIES, plan.REGISTER_WIDE_ROWS, plan.REGISTER_WIDE_LANES,
            plan.SINGLE_LAUNCH, plan.SINGLE_LANE_BYTES, plan.SINGLE_THREADS)


class _Launches:
    """The launches that apply every factor of one operator to ``(N, k)`` work of one
    dtype: kernel, geometry and the arguments that do not change between calls."""

    __slots__ = ("n", "k", "steps")

    def __init__(self, K, dtype, k):
        from ...kernels import cuda as kern
        from ...kernels import cuda_register as reg

        tw = device_twiddle(K, dtype)
        nblocks, m = K.twiddle.shape[:2]
        n = 1 << m
        k_sh = plan.ilog2_or_minus1(k)
        self.n, self.k = n, k
        single = None
        if plan.SINGLE_LAUNCH:
            from ...kernels import cuda_tile
            from .shared import optin_bytes

            single = plan.plan_single(nblocks, m, k, dtype.itemsize, optin_bytes(cuda_module()))
        if single is not None:
            self.steps = ((cuda_tile.tile_kernel, single.grid, single.threads, single.shared,
                           (tw, single.nf, m, single.lb_sh, k)),)
        elif plan.use_register_passes(m, k):
            grid, block = plan.register_launch(n, k)
            self.steps = tuple(
                (reg.register_pass_kernel, grid, block, 0, (tw, p.f0, p.nf, m, p.L, k, k_sh))
                for p in plan.plan_register_passes(nblocks, m)
            )
        else:
            self.steps = tuple(
                (kern.pass_kernel, p.grid, p.threads, p.shared,
                 (tw, p.f0, p.nf, m, p.h, p.s, p.lb_sh, p.nph, p.n_lanes, k, k_sh))
                for p in plan.plan_passes(nblocks, m, k, dtype.itemsize)
            )

    def __call__(self, work, stream, src=None, src_rows=0):
        """``work <- E @ pad(src)`` (``src`` is ``work`` itself when None); ``work`` flat."""
        n = self.n
        work2d = work.reshape(n, self.k)
        for i, (kernel, grid, block, shared, tail) in enumerate(self.steps):
            first = i == 0 and src is not None
            device.configured(kernel, grid, block, stream, shared)(
                src if first else work2d, src_rows if first else n, work, *tail
            )


# Planned launches per operator, dropped with it: {(dtype, k, device, constants): _Launches}
_PLANNED = weakref.WeakKeyDictionary()


def _launches(K, dtype, k, device_id):
    key = (dtype.str, k, device_id, _plan_constants())
    per_op = _PLANNED.get(K)
    if per_op is None:
        per_op = _PLANNED[K] = {}
    launches = per_op.get(key)
    if launches is None:
        if len(per_op) >= 64:
            per_op.clear()
        launches = per_op[key] = _Launches(K, dtype, k)
    return launches


def apply_internal(K: KMatrix, work: DeviceArray, stream: StreamLike = None) -> DeviceArray:
    """Apply the internal ``N x N`` operator ``E`` of ``K`` in place: ``work <- E @ work``.

    The allocation-free core of :func:`apply_device`, for callers that keep their own
    buffers: ``work`` is a C-contiguous device array of shape ``(N,)`` or ``(N, k)``
    (``N = K.internal_size``) whose dtype is one of the four supported ones and can
    hold ``K``'s entries (``numpy.result_type(K.dtype, work.dtype) == work.dtype``).
    ``K @ x`` equals ``apply_internal`` on ``x`` zero-padded to ``N`` rows, first ``rows``
    rows kept.  ``stream`` as for :func:`apply_device` (by default the stream ``work``
    reports).  Returns ``work`` itself.

    Notes
    -----
    Every factor at stride ``st`` maps each pair ``(p, q = p + st)`` of ``work`` as
    ``(p, q) <- (t00 p + t01 q, t10 p + t11 q)``, factors in application order.

    Examples
    --------
    >>> import numpy as np, kmatrix as km, kmatrix.cuda
    >>> try:
    ...     kmatrix.cuda.apply_internal(km.identity(4), np.ones(4))
    ... except TypeError as exc:
    ...     print(str(exc).split(";")[0])
    apply_internal expects a device array
    """
    if not is_device_array(work):
        raise TypeError(
            f"apply_internal expects a device array; got a host {type(work).__name__}"
        )
    cuda = cuda_module()
    dev = current_device_id(cuda)
    arr, reported = import_array(work, cuda)
    check_same_device(arr, cuda, dev)
    s = resolve_stream(stream, reported, cuda, dev)
    n = K.internal_size
    shape = tuple(int(d) for d in arr.shape)
    dtype = np.dtype(arr.dtype)
    if len(shape) not in (1, 2) or shape[0] != n:
        raise ValueError(
            f"apply_internal expects work of shape ({n},) or ({n}, k); got shape {shape}"
        )
    if dtype not in SUPPORTED_DTYPES or np.result_type(K.dtype, dtype) != dtype:
        raise TypeError(
            f"apply_internal needs work of a supported dtype that holds {K.dtype} "
            f"entries; got {dtype}"
        )
    if not arr.is_c_contiguous():
        raise ValueError("apply_internal expects a C-contiguous work array")
    k = 1 if len(shape) == 1 else shape[1]
    if n * k:
        _launches(K, dtype, k, dev)(arr.reshape(n * k), s)
    return work

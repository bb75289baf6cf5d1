"""Host side of the GPU apply: validation, work arrays and kernel launches.

The twin of the CPU apply: ``K @ x`` for a device array ``x`` allocates a flat ``(N, k)``
work array of the result dtype, and a few launches of the pass kernels of
:mod:`kmatrix.kernels.cuda` / :mod:`kmatrix.kernels.cuda_register` (planned by
:mod:`.plan`) apply every factor; the first launch reads the input itself, any strides
and numeric dtype, as zero-padded to ``N`` rows.
"""

__all__ = ["apply_device", "apply_internal"]

import numpy as np

from ..._checks import apply_dtype, is_device_array
from ..._layout import SUPPORTED_DTYPES
from .device import as_numba_array, cuda_module, device_twiddle, simulating

_NUMERIC_KINDS = "biufc"


def _validate(K, x, name):
    shape = tuple(int(s) for s in x.shape)
    try:
        dtype = np.dtype(x.dtype)
    except TypeError:
        raise TypeError(f"{name} expects a numeric device array; got dtype {x.dtype!r}") from None
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} expects a numeric array; got dtype {dtype}")
    cols = K.shape[1]
    if len(shape) not in (1, 2) or shape[0] != cols:
        raise ValueError(
            f"{name} expects an array of shape ({cols},) or ({cols}, k); got shape {shape}"
        )
    return shape, apply_dtype(K.dtype, dtype, name=name)


def apply_device(K, x, name="KMatrix @ x"):
    """Return ``K @ x`` for a device array ``x``, computed on the GPU; the result stays there.

    Parameters
    ----------
    K : KMatrix
    x : device array, shape ``(cols,)`` or ``(cols, k)``
        A Numba device array or any object with ``__cuda_array_interface__`` (CuPy,
        torch), of any strides and numeric dtype, on the current device.
    name : str
        How error messages name the operation.

    Returns
    -------
    numba.cuda.cudadrv.devicearray.DeviceNDArray
        Shape ``(rows,)`` or ``(rows, k)``, dtype ``numpy.result_type(K.dtype, x.dtype)``;
        a C-contiguous view of the leading rows of the work array.

    Raises
    ------
    TypeError
        ``x`` is a host array (use ``K @ x``), not numeric, or the result type is not
        supported.
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
    kernels on the adjoint's twiddle.

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
    from . import plan
    from ...kernels import cuda as kern

    x = as_numba_array(x, cuda)
    shape, dtype = _validate(K, x, name)
    rows = K.shape[0]
    n = K.internal_size
    k = 1 if len(shape) == 1 else shape[1]
    out_shape = (rows,) if len(shape) == 1 else (rows, k)
    if n * k == 0:
        return cuda.device_array(out_shape, dtype=dtype)
    work = cuda.device_array(n * k, dtype=dtype)
    if len(shape) == 2:
        src = x
    elif x.is_c_contiguous():
        src = x.reshape(shape[0], 1)
    else:  # a strided vector has no 2-D view here: pad it into the work array first
        grid, block = plan.launch_shape(n)
        kern.pad_kernel(1)[grid, block](x, work, shape[0])
        src = None
    _run_passes(K, work, k, dtype, src, shape[0])
    if len(shape) == 1:
        return work[:rows]
    return work.reshape(n, k)[:rows]


def _run_passes(K, work, k, dtype, src=None, src_rows=0):
    """``work <- E @ pad(src)`` (``src`` is ``work`` itself when None); ``work`` flat."""
    from . import plan
    from ...kernels import cuda as kern
    from ...kernels import cuda_register as reg

    tw = device_twiddle(K, dtype)
    nblocks, m = K.twiddle.shape[:2]
    n = 1 << m
    k_sh = plan.ilog2_or_minus1(k)
    work2d = work.reshape(n, k)
    if plan.use_register_passes(m, k):
        grid, block = plan.register_launch(n, k)
        launch = _configured(reg.register_pass_kernel, grid, block, 0)
        for i, p in enumerate(plan.plan_register_passes(nblocks, m)):
            first = i == 0 and src is not None
            launch(src if first else work2d, src_rows if first else n, work, tw,
                   p.f0, p.nf, m, p.L, k, k_sh)
        return
    for i, p in enumerate(plan.plan_passes(nblocks, m, k, dtype.itemsize)):
        first = i == 0 and src is not None
        _configured(kern.pass_kernel, p.grid, p.threads, p.shared)(
            src if first else work2d, src_rows if first else n, work, tw,
            p.f0, p.nf, m, p.h, p.s, p.lb_sh, p.nph, p.n_lanes, k, k_sh,
        )


_LAUNCHERS = {}


def _configured(kernel, grid, block, shared):
    """``kernel[grid, block, 0, shared]``, kept per geometry: configuring a launch builds
    an object and checks the grid size on every call.  (The simulator's kernel object
    stores its configuration in itself: not kept.)"""
    if simulating():
        return kernel[grid, block, 0, shared]
    key = (kernel, grid, block, shared)
    launch = _LAUNCHERS.get(key)
    if launch is None:
        if len(_LAUNCHERS) >= 1024:
            _LAUNCHERS.clear()
        launch = _LAUNCHERS[key] = kernel[grid, block, 0, shared]
    return launch


def apply_internal(K, work):
    """Apply the internal ``N x N`` operator ``E`` of ``K`` in place: ``work <- E @ work``.

    The allocation-free core of :func:`apply_device`, for callers that keep their own
    buffers: ``work`` is a C-contiguous device array of shape ``(N,)`` or ``(N, k)``
    (``N = K.internal_size``) whose dtype is one of the four supported ones and can
    hold ``K``'s entries (``numpy.result_type(K.dtype, work.dtype) == work.dtype``).
    ``K @ x`` equals ``apply_internal`` on ``x`` zero-padded to ``N`` rows, first ``rows``
    rows kept.

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
    work = as_numba_array(work, cuda)
    n = K.internal_size
    shape = tuple(int(s) for s in work.shape)
    dtype = np.dtype(work.dtype)
    if len(shape) not in (1, 2) or shape[0] != n:
        raise ValueError(
            f"apply_internal expects work of shape ({n},) or ({n}, k); got shape {shape}"
        )
    if dtype not in SUPPORTED_DTYPES or np.result_type(K.dtype, dtype) != dtype:
        raise TypeError(
            f"apply_internal needs work of a supported dtype that holds {K.dtype} "
            f"entries; got {dtype}"
        )
    if not work.is_c_contiguous():
        raise ValueError("apply_internal expects a C-contiguous work array")
    k = 1 if len(shape) == 1 else shape[1]
    if n * k:
        _run_passes(K, work.reshape(n * k), k, dtype)
    return work

"""GPU dispatch: ``KMatrix @ x`` for arrays that live on an NVIDIA GPU.

``KMatrix.matvec/matmat/rmatvec/rmatmat`` and ``@`` send every object that exposes
``__cuda_array_interface__`` (Numba device arrays, CuPy arrays, torch CUDA tensors) or
is a Numba device array (the CUDA simulator's included) to :func:`apply_device`.  The
input is validated, a flat ``(N, k)`` work array of the result dtype is allocated, the
factors are applied by a few launches of the pass kernel of :mod:`kmatrix.kernels.cuda`
(the first launch reads the input itself, any strides and numeric dtype, as zero-padded
to ``N`` rows), and the first ``rows`` rows come back as a Numba device array (wrap
it with ``cupy.asarray(y)`` or ``torch.as_tensor(y, device="cuda")``: both are
zero-copy).  Twiddles are copied to the device once per operator, dtype and device,
and kept in the operator's cache.  Host arrays are never copied to the device here.

Importing this module imports nothing from ``numba.cuda`` and compiles nothing.
"""

__all__ = [
    "is_available",
    "is_device_array",
    "apply_device",
    "apply_internal",
    "vjp_device",
    "device_twiddle",
]

import numpy as np

from ._layout import SUPPORTED_DTYPES

_NUMERIC_KINDS = "biufc"
# Device memory for the vjp's tape of factor inputs; larger batches run in column chunks.
TAPE_BYTES = 1 << 30


def is_available():
    """Whether ``numba.cuda`` can run kernels here (a GPU, or ``NUMBA_ENABLE_CUDASIM=1``).

    Returns ``False`` instead of raising when ``numba-cuda``, the driver or a device is
    missing.

    Examples
    --------
    >>> import kmatrix.cuda
    >>> isinstance(kmatrix.cuda.is_available(), bool)
    True
    """
    try:
        from numba import cuda
    except Exception:  # noqa: BLE001 - any import failure means "no CUDA"
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def is_device_array(x):
    """Whether ``x`` is a GPU array: ``__cuda_array_interface__`` or a Numba device array.

    Examples
    --------
    >>> import numpy as np, kmatrix.cuda
    >>> kmatrix.cuda.is_device_array(np.ones(3))
    False
    """
    if isinstance(x, np.ndarray):
        return False
    return hasattr(x, "__cuda_array_interface__") or getattr(x, "__cuda_ndarray__", False) is True


def _cuda_module():
    if not is_available():
        raise RuntimeError(
            "CUDA is not available: numba.cuda found no usable GPU (install the 'cuda' "
            "extra, numba-cuda, and an NVIDIA driver, or set NUMBA_ENABLE_CUDASIM=1 "
            "before importing numba to use the simulator)"
        )
    from numba import cuda

    if not _simulating():
        _check_kernel_support()
    return cuda


_kernel_support_checked = False


def _check_kernel_support():
    """Raise a clear error where numba-cuda cannot compile kernels with this NumPy.

    numba-cuda up to at least 0.30.4 registers an overload of ``numpy.row_stack``
    when its target first loads, and NumPy 2.5 removed that function: every kernel
    launch then fails with an ``AttributeError`` from numba-cuda's internals.
    """
    global _kernel_support_checked
    if _kernel_support_checked or hasattr(np, "row_stack"):
        return
    try:
        import numba.cuda.np.arrayobj  # noqa: F401  (what the first compile imports)
    except AttributeError as exc:
        if "row_stack" not in str(exc):
            raise
        raise RuntimeError(
            f"numba-cuda cannot compile kernels with NumPy {np.__version__}: it refers to "
            "numpy.row_stack, which NumPy 2.5 removed; install numpy<2.5 or a numba-cuda "
            "release that supports this NumPy"
        ) from exc
    _kernel_support_checked = True


def _simulating():
    from numba.core.config import ENABLE_CUDASIM

    return bool(ENABLE_CUDASIM)


def _current_device_id(cuda):
    return getattr(cuda.get_current_device(), "id", 0)


def _as_numba_array(x, cuda):
    """A Numba device array viewing ``x``'s memory (zero-copy), on the current device."""
    if getattr(x, "__cuda_ndarray__", False) is True:
        arr = x
    elif _simulating():
        raise TypeError(
            f"the CUDA simulator can only read Numba (simulated) device arrays; got "
            f"{type(x).__name__}"
        )
    else:
        arr = cuda.as_cuda_array(x)
    if not _simulating():
        _check_same_device(arr, cuda)
    return arr


def _check_same_device(arr, cuda):
    ptr = arr.__cuda_array_interface__["data"][0]
    if not ptr:
        return
    from numba.cuda.cudadrv import driver

    try:
        attr = driver.binding.CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL
        ordinal = int(driver.driver.cuPointerGetAttribute(attr, driver.binding.CUdeviceptr(ptr)))
    except driver.CudaAPIError as exc:
        raise ValueError(
            f"the input's __cuda_array_interface__ pointer {ptr:#x} is not CUDA device "
            f"memory ({exc})"
        ) from None
    except Exception:  # noqa: BLE001 - a driver binding without this query: the launch
        return  # itself still fails with a CUDA error (not a crash) on foreign memory
    current = _current_device_id(cuda)
    if ordinal != current:
        raise ValueError(
            f"the input lives on CUDA device {ordinal} but the current device is {current}; "
            f"call numba.cuda.select_device({ordinal}) (or move the array) first"
        )


def device_twiddle(K, dtype):
    """The twiddle of ``K`` as a ``(2w*m, 4, N/2)`` device array of ``dtype``, cached on ``K``.

    One host-to-device copy per operator, dtype and device; later calls return the
    same array.  Entry ``[f, 2*a + b, i]`` is ``t[a, b]`` of pair ``i`` of flat factor
    ``f = block * m + j``.
    """
    from .kernels.cuda import device_twiddle_layout

    cuda = _cuda_module()
    dtype = np.dtype(dtype)
    key = ("cuda", dtype.str, _current_device_id(cuda))
    tw = K._cache.get(key)
    if tw is None:
        tw = cuda.to_device(device_twiddle_layout(K.twiddle, dtype))
        K._cache[key] = tw
    return tw


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
    out = np.result_type(K.dtype, dtype)
    if out not in SUPPORTED_DTYPES:
        raise TypeError(
            f"cannot apply a {K.dtype} KMatrix to {dtype} input: the result type {out} is "
            "not one of float32, float64, complex64, complex128"
        )
    return shape, out


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
    cuda = _cuda_module()
    from .kernels import cuda as kern

    x = _as_numba_array(x, cuda)
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
        grid, block = kern.launch_shape(n)
        kern.pad_kernel(1)[grid, block](x, work, shape[0])
        src = None
    _run_passes(K, work, k, dtype, src, shape[0])
    if len(shape) == 1:
        return work[:rows]
    return work.reshape(n, k)[:rows]


def _run_passes(K, work, k, dtype, src=None, src_rows=0):
    """``work <- E @ pad(src)`` (``src`` is ``work`` itself when None); ``work`` flat."""
    from .kernels import cuda as kern
    from .kernels import cuda_register as reg

    tw = device_twiddle(K, dtype)
    nblocks, m = K.twiddle.shape[:2]
    n = 1 << m
    k_sh = kern.ilog2_or_minus1(k)
    work2d = work.reshape(n, k)
    if reg.use_register_passes(m, k):
        grid, block = reg.register_launch(n, k)
        launch = _configured(reg.register_pass_kernel, grid, block, 0)
        for i, p in enumerate(reg.plan_register_passes(nblocks, m)):
            first = i == 0 and src is not None
            launch(src if first else work2d, src_rows if first else n, work, tw,
                   p.f0, p.nf, m, p.L, k, k_sh)
        return
    for i, p in enumerate(kern.plan_passes(nblocks, m, k, dtype.itemsize)):
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
    if _simulating():
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
    cuda = _cuda_module()
    work = _as_numba_array(work, cuda)
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
    dtype = np.result_type(K.dtype, xdt, gdt)
    if dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            f"vjp_device: result type {dtype} of K ({K.dtype}), X ({xdt}) and G ({gdt}) is "
            "not one of float32, float64, complex64, complex128"
        )
    cuda = _cuda_module()
    from .kernels import cuda as kern
    from .kernels import cuda_grad as kgrad

    X = _as_numba_array(X, cuda)
    G = _as_numba_array(G, cuda)
    n = K.internal_size
    nb, m = K.twiddle.shape[:2]
    nf = nb * m
    k = 1 if len(xshape) == 1 else xshape[1]
    tw = device_twiddle(K, dtype)
    dtw = cuda.device_array(K.twiddle.shape, dtype=dtype)
    grid, block = kern.launch_shape(dtw.size)
    kgrad.fill_zero[grid, block](dtw.reshape(dtw.size))
    dx = cuda.device_array((cols, k), dtype=dtype)
    kc = int(max(1, min(k, TAPE_BYTES // (nf * n * dtype.itemsize))))
    tape = cuda.device_array((nf, n * kc), dtype=dtype) if k else None
    g = cuda.device_array(n * kc, dtype=dtype)
    for c0 in range(0, k, kc):
        w = min(kc, k - c0)
        x0 = tape[0, : n * w]
        grid, block = kern.launch_shape(n * w)
        if len(xshape) == 1:
            kern.pad_kernel(1)[grid, block](X, x0, cols)
            kern.pad_kernel(1)[grid, block](G, g[:n], rows)
        else:
            kern.pad_kernel(2)[grid, block](X[:, c0 : c0 + w], x0, cols, w)
            kern.pad_kernel(2)[grid, block](G[:, c0 : c0 + w], g[: n * w], rows, w)
        grid, block = kern.launch_shape(n // 2 * w)
        for f in range(nf - 1):
            kgrad.factor_forward[grid, block](tape[f, : n * w], tape[f + 1, : n * w], tw, f, m, w)
        bgrid, bblock, bshared = kgrad.backward_shape(n // 2, w)
        for f in range(nf - 1, -1, -1):
            kgrad.factor_backward[bgrid, bblock, 0, bshared * dtype.itemsize](
                tape[f, : n * w], g[: n * w], tw, dtw, f, m, w
            )
        grid, block = kern.launch_shape(cols * w)
        kgrad.copy_rows[grid, block](g[: n * w], dx, c0, w)
    dx = dx.reshape(cols) if len(xshape) == 1 else dx
    if dtype == K.dtype:
        return dx, dtw
    out = cuda.device_array(K.twiddle.shape, dtype=K.dtype)
    grid, block = kern.launch_shape(out.size)
    cast = kgrad.real_copy if K.dtype.kind != "c" else kgrad.cast_copy
    cast[grid, block](dtw.reshape(dtw.size), out.reshape(out.size))
    return dx, out

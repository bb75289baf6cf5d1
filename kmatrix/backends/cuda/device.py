"""numba.cuda plumbing: availability, device arrays, and twiddles kept on the device.

Importing this module imports nothing from ``numba.cuda``; :func:`cuda_module` does,
on first use, after checking that kernels can run.
"""

from __future__ import annotations

__all__ = [
    "is_available",
    "cuda_module",
    "check_kernel_support",
    "simulating",
    "current_device_id",
    "check_same_device",
    "device_twiddle",
    "cached_twiddles",
    "configured",
]

import weakref
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import DTypeLike

from ..._typing import DeviceArray

if TYPE_CHECKING:
    from ..._operator import KMatrix


def is_available() -> bool:
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


_CUDA = []  # numba.cuda, once it was found usable


def cuda_module():
    """``numba.cuda``, after checking (once) that kernels can run here."""
    if _CUDA:
        return _CUDA[0]
    if not is_available():
        raise RuntimeError(
            "CUDA is not available: numba.cuda found no usable GPU (install the 'cuda' "
            "extra, numba-cuda, and an NVIDIA driver, or set NUMBA_ENABLE_CUDASIM=1 "
            "before importing numba to use the simulator)"
        )
    from numba import cuda

    if not simulating():
        check_kernel_support()
    _CUDA.append(cuda)
    return cuda


_kernel_support_checked = False


def check_kernel_support():
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


_SIMULATING = []


def simulating():
    """Whether numba.cuda is the CUDA simulator (fixed when numba is first imported)."""
    if not _SIMULATING:
        from numba.core.config import ENABLE_CUDASIM

        _SIMULATING.append(bool(ENABLE_CUDASIM))
    return _SIMULATING[0]


def current_device_id(cuda):
    """Ordinal of the current CUDA device (0 in the simulator)."""
    return getattr(cuda.get_current_device(), "id", 0)


def check_same_device(arr, cuda, current):
    """Raise ``ValueError`` when ``arr`` lives on another device than ``current``."""
    if not simulating():
        _check_same_device(arr, current)


def _check_same_device(arr, current):
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
    if ordinal != current:
        raise ValueError(
            f"the input lives on CUDA device {ordinal} but the current device is {current}; "
            f"call numba.cuda.select_device({ordinal}) (or move the array) first"
        )


# Device copies of each operator's twiddles, dropped with the operator (its twiddle is
# read-only, so a copy never goes stale).
_DEVICE_TWIDDLES = weakref.WeakKeyDictionary()


def device_twiddle(K: KMatrix, dtype: DTypeLike) -> DeviceArray:
    """The twiddle of ``K`` as a ``(2w*m, 4, N/2)`` device array of ``dtype``, cached for ``K``.

    One host-to-device copy per operator, dtype and device; later calls return the
    same array.  Entry ``[f, 2*a + b, i]`` is ``t[a, b]`` of pair ``i`` of flat factor
    ``f = block * m + j``.
    """
    from .plan import device_twiddle_layout

    cuda = cuda_module()
    dtype = np.dtype(dtype)
    key = (dtype.str, current_device_id(cuda))
    per_op = _DEVICE_TWIDDLES.setdefault(K, {})
    tw = per_op.get(key)
    if tw is None:
        tw = cuda.to_device(device_twiddle_layout(K.twiddle, dtype))
        # once per operator: the copy is complete before work on any stream reads it
        cuda.synchronize()
        tw = per_op[key] = tw
    return tw


def cached_twiddles(K):
    """The device copies of ``K``'s twiddles made so far, keyed by ``(dtype, device)``."""
    return dict(_DEVICE_TWIDDLES.get(K, {}))


_LAUNCHERS = {}


def configured(kernel, grid, block, stream, shared):
    """``kernel[grid, block, stream, shared]``, kept per geometry and stream: configuring
    a launch builds an object and checks the grid size on every call.  (The simulator's
    kernel object stores its configuration in itself: not kept.)  Every launch of the
    backend goes through here; one that takes more than 48 KiB of dynamic shared memory
    raises the kernel's limit first (:mod:`.shared`)."""
    if simulating():
        return kernel[grid, block, stream, shared]
    key = (kernel, grid, block, stream if type(stream) is int else int(stream), shared)
    launch = _LAUNCHERS.get(key)
    if launch is None:
        if len(_LAUNCHERS) >= 1024:
            _LAUNCHERS.clear()
        launch = kernel[grid, block, stream, shared]
        if shared > 48 * 1024:  # beyond the portable limit: raise the kernel's own
            from .shared import allow_large

            launch = allow_large(launch, shared)
        _LAUNCHERS[key] = launch
    return launch

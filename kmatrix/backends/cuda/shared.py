"""Dynamic shared memory beyond the 48 KiB that any launch may take without asking.

A kernel launch may request at most 48 KiB of dynamic shared memory unless the kernel's
``CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES`` was raised first, up to the device's
``MAX_SHARED_MEMORY_PER_BLOCK_OPTIN`` (227 KiB on an H100 or H200).  numba-cuda (up to at
least 0.30) has no option for that attribute, so :func:`raise_limit` sets it on each
compiled specialization of a kernel through the driver, once per specialization and
device, just before its first launch (a launch configured by :func:`allow_large`).

:func:`optin_bytes` is what the planner may use: the device's opt-in limit where the
attribute can be set, else the portable 48 KiB (a launch is never planned above what
can be granted).  In the CUDA simulator shared memory is a NumPy array of any size:
:data:`SIMULATED_OPTIN_BYTES` stands for the device limit and nothing is set.
"""

__all__ = [
    "PORTABLE_BYTES", "SIMULATED_OPTIN_BYTES", "optin_bytes", "allow_large", "raise_limit",
]

import threading

from .device import current_device_id, simulating

PORTABLE_BYTES = 48 * 1024
SIMULATED_OPTIN_BYTES = 227 * 1024  # an H100's or H200's per-block opt-in limit

_OPTIN = {}  # device ordinal -> bytes a launch may take
_RAISED = set()  # (id of a compiled specialization, device ordinal)
_KEEP = []  # the specializations in _RAISED, kept alive so that their ids stay unique
_LOCK = threading.Lock()


def optin_bytes(cuda):
    """Dynamic shared memory one block of a kernel launch may take on the current device.

    The device's ``MAX_SHARED_MEMORY_PER_BLOCK_OPTIN`` where this numba-cuda lets the
    kernel attribute be raised, else ``PORTABLE_BYTES``; ``SIMULATED_OPTIN_BYTES`` in
    the simulator.  Cached per device.
    """
    if simulating():
        return SIMULATED_OPTIN_BYTES
    dev = current_device_id(cuda)
    limit = _OPTIN.get(dev)
    if limit is None:
        limit = _OPTIN[dev] = _query(cuda)
    return limit


def _query(cuda):
    try:
        from numba.cuda.cudadrv import driver

        binding = driver.binding
        binding.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
        if not (hasattr(binding, "cuKernelSetAttribute") or hasattr(binding, "cuFuncSetAttribute")):
            return PORTABLE_BYTES
        from numba.cuda.dispatcher import _LaunchConfiguration

        # the hook that raise_limit needs (absent from older numba-cuda releases)
        if "pre_launch_callbacks" not in _LaunchConfiguration.__init__.__code__.co_names:
            return PORTABLE_BYTES
        limit = int(cuda.get_current_device().MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)
    except Exception:  # noqa: BLE001 - an older numba-cuda or driver: stay portable
        return PORTABLE_BYTES
    return max(PORTABLE_BYTES, limit)


def allow_large(launch, shared):
    """Let the configured ``launch`` (``kernel[grid, block, stream, shared]``) take
    ``shared`` bytes above the portable limit; returns ``launch``.  A no-op at or
    below 48 KiB and in the simulator."""
    if shared > PORTABLE_BYTES and not simulating():
        launch.pre_launch_callbacks.append(raise_limit)
    return launch


def raise_limit(kernel, launch_config):
    """Pre-launch callback: raise the compiled ``kernel``'s dynamic shared memory limit
    to the device's opt-in limit, once per specialization and device.

    The callback runs after numba-cuda picked (or compiled) the specialization for the
    launch's arguments, the only place where it is known.  The attribute is a property
    of the compiled function, set by a synchronous driver call that enqueues no work.
    """
    cufunc = kernel._codelibrary.get_cufunc()
    dev = cufunc.device.id
    key = (id(kernel), dev)
    if key in _RAISED:
        return
    from numba.cuda.cudadrv import driver

    binding = driver.binding
    attr = binding.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
    # the static shared memory of the kernel counts against the same per-block limit
    value = int(cufunc.device.MAX_SHARED_MEMORY_PER_BLOCK_OPTIN) - int(cufunc.attrs.shared)
    if hasattr(binding, "cuKernelSetAttribute"):
        try:
            driver.driver.cuKernelSetAttribute(attr, value, cufunc.handle, dev)
        except TypeError:  # a module-based function handle (older numba-cuda)
            driver.driver.cuFuncSetAttribute(cufunc.handle, attr, value)
    else:
        driver.driver.cuFuncSetAttribute(cufunc.handle, attr, value)
    with _LOCK:
        _RAISED.add(key)
        _KEEP.append(kernel)

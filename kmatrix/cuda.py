"""GPU dispatch: ``KMatrix @ x`` for arrays that live on an NVIDIA GPU.

``KMatrix.matvec/matmat/rmatvec/rmatmat`` and ``@`` send every object that exposes
``__cuda_array_interface__`` (Numba device arrays, CuPy arrays, torch CUDA tensors) or
is a Numba device array (the CUDA simulator's included) to :func:`apply_device`.  The
input is validated, a flat ``(N, k)`` work array of the result dtype is allocated, the
factors are applied by a few launches of the pass kernels of :mod:`kmatrix.kernels.cuda`
(the first launch reads the input itself, any strides and numeric dtype, as zero-padded
to ``N`` rows), and the first ``rows`` rows come back, without a copy, as the
caller's array type: CuPy for CuPy input, torch for torch input, else a Numba device
array.  The work is enqueued on the caller's stream (the one its array reports, or
``stream=``) and nothing is synchronized.  Twiddles are copied to the device once per
operator, dtype and device, and kept while the operator lives, as are the planned
launches.  Host arrays are never copied to the device here.

Importing this module imports nothing from ``numba.cuda`` and compiles nothing.
"""

__all__ = [
    "is_available",
    "is_device_array",
    "apply_device",
    "apply_internal",
    "vjp_device",
    "device_twiddle",
    "free_buffers",
    "pooled_bytes",
]

from ._checks import is_device_array
from .backends.cuda.apply import apply_device, apply_internal
from .backends.cuda.buffers import free_buffers, pooled_bytes
from .backends.cuda.device import device_twiddle, is_available
from .backends.cuda.vjp import vjp_device

"""The caller's side of a GPU call: its stream, its array type, zero-copy both ways.

* :func:`import_array` views any device input as a Numba device array without a copy
  and without synchronizing, and tells which stream the input reported: a Numba
  array's bound stream, the ``stream`` key of ``__cuda_array_interface__`` (version 3:
  ``None``, 1 = legacy default stream, 2 = per-thread default stream, or a
  ``cudaStream_t`` pointer; CuPy reports its current stream there), or for a torch
  tensor, which reports none, torch's current stream on the tensor's device.
* :func:`resolve_stream` turns that (or a ``stream=`` argument, which wins) into what
  numba launches and allocates on: ``0`` (Numba's default stream) or a stream object.
* :func:`as_caller_type` hands the result back as the caller's type: a CuPy array for
  CuPy input, a torch tensor for torch input, else the Numba device array.  CuPy and
  torch are never imported here: their module is taken from ``sys.modules``, where it
  is whenever one of their arrays exists.

The CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) runs every launch synchronously on the
host: stream objects are stand-ins, and it cannot read foreign device memory.  There,
and only there, an object exposing ``__cuda_array_interface__`` is read through the
simulated device array it names in ``__simulated_device_array__`` (test doubles of
CuPy arrays set it), and results handed to CuPy or torch carry that attribute too;
on a GPU the attribute is ignored.
"""

__all__ = [
    "SIMULATED_ARRAY_ATTR",
    "caller_library",
    "import_array",
    "resolve_stream",
    "stream_key",
    "on_stream",
    "order_after",
    "as_caller_type",
]

import sys

import numpy as np

from .device import simulating

SIMULATED_ARRAY_ATTR = "__simulated_device_array__"

_STREAM_RULE = (
    "stream must be a numba.cuda stream, an object with __cuda_stream__ (a CuPy or "
    "cuda.core stream), or an int: 0 (default stream), 1 (legacy default stream), 2 "
    "(per-thread default stream) or a cudaStream_t pointer"
)


def caller_library(x):
    """``"numba"``, ``"cupy"``, ``"torch"`` or ``"cai"`` (any other CUDA array)."""
    if getattr(x, "__cuda_ndarray__", False) is True:
        return "numba"
    top = type(x).__module__.partition(".")[0]
    if top in ("cupy", "torch") and top in sys.modules:
        return top
    return "cai"


def import_array(x, cuda):
    """``(arr, reported)``: a zero-copy Numba view of ``x`` and the stream ``x`` reported
    (``0``, a stream object, or an int key of ``__cuda_array_interface__``)."""
    if getattr(x, "__cuda_ndarray__", False) is True:
        return x, x.stream
    lib = caller_library(x)
    desc = x.__cuda_array_interface__
    if lib == "torch":
        torch = sys.modules["torch"]
        reported = int(torch.cuda.current_stream(x.device).cuda_stream)
    else:
        reported = desc.get("stream") if desc.get("version", 0) >= 3 else None
        if reported == 0:
            raise ValueError(
                f"the input's __cuda_array_interface__ has stream 0, which the interface "
                f"does not allow (None, 1, 2 or a stream pointer); got it from "
                f"{type(x).__module__}.{type(x).__name__}"
            )
    if simulating():
        arr = getattr(x, SIMULATED_ARRAY_ATTR, None)
        if getattr(arr, "__cuda_ndarray__", False) is not True:
            raise TypeError(
                f"the CUDA simulator can only read Numba (simulated) device arrays; got "
                f"{type(x).__name__}"
            )
    else:
        # sync=False: the work is enqueued on the reported stream itself (no host wait)
        arr = cuda.from_cuda_array_interface(desc, owner=x, sync=False)
    return arr, (0 if reported is None else reported)


# Numba stream objects for stream handles, per device: creating one costs a few
# microseconds and they hold nothing but the handle.
_STREAMS = {}


def _stream_for_handle(ptr, cuda, device_id):
    key = (device_id, ptr)
    s = _STREAMS.get(key)
    if s is None:
        if len(_STREAMS) >= 256:
            _STREAMS.clear()
        if simulating():
            s = _simulated_stream(ptr, cuda)
        elif ptr == 1:
            s = cuda.legacy_default_stream()
        elif ptr == 2:
            s = cuda.per_thread_default_stream()
        else:
            s = cuda.external_stream(ptr)
        _STREAMS[key] = s
    return s


_SIMULATED_STREAM = []


def _simulated_stream(ptr, cuda):
    """The simulator's stand-in for stream handle ``ptr``: a simulator stream (launches
    there run synchronously, so any stream orders the work) that remembers ``ptr``."""
    if not _SIMULATED_STREAM:

        class SimulatedStream(type(cuda.stream())):
            def __init__(self, handle):
                self.handle = handle

            def __int__(self):
                return self.handle

            def __repr__(self):
                return f"<simulated CUDA stream {self.handle:#x}>"

        _SIMULATED_STREAM.append(SimulatedStream)
    return _SIMULATED_STREAM[0](ptr)


def _is_numba_stream(s, cuda):
    if simulating():
        return isinstance(s, type(cuda.stream()))
    from numba.cuda.cudadrv.driver import Stream

    return isinstance(s, Stream)


def resolve_stream(stream, reported, cuda, device_id):
    """The stream to launch on: ``stream`` when given (checked), else ``reported``."""
    s = reported if stream is None else stream
    if type(s) is int and s == 0:  # the common case first
        return 0
    if isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)):
        ptr = int(s)
        if ptr < 0:
            raise ValueError(f"stream must be a non-negative stream handle; got {ptr}")
        return 0 if ptr == 0 else _stream_for_handle(ptr, cuda, device_id)
    if _is_numba_stream(s, cuda):
        return s
    proto = getattr(s, "__cuda_stream__", None)
    if proto is not None:
        if callable(proto):
            proto = proto()
        return resolve_stream(int(proto[1]), None, cuda, device_id)
    raise TypeError(f"{_STREAM_RULE}; got {type(s).__module__}.{type(s).__name__}")


def stream_key(s):
    """A hashable key of stream ``s`` (``0`` for Numba's default stream)."""
    if type(s) is int:
        return s
    try:
        return int(s)
    except TypeError:  # a simulator stream object: no handle
        return s


def on_stream(arr, s):
    """``arr`` bound to stream ``s`` (views and reshapes forget it in Numba)."""
    return arr if arr.stream is s else arr.bind(s)


def order_after(other, s, cuda):
    """Make stream ``s`` wait for the work queued so far on ``other`` (no host wait)."""
    if other is s or stream_key(other) == stream_key(s):
        return
    event = cuda.event(timing=False)
    event.record(stream=other)
    event.wait(stream=s)


class _Exported:
    """A Numba result seen through ``__cuda_array_interface__`` by another library;
    keeps the result (the memory's owner) alive."""

    __slots__ = ("__cuda_array_interface__", "owner", SIMULATED_ARRAY_ATTR)

    def __init__(self, result, stream_value):
        if simulating():
            desc = dict(result._ary.__array_interface__)
            setattr(self, SIMULATED_ARRAY_ATTR, result)
        else:
            desc = dict(result.__cuda_array_interface__)
            setattr(self, SIMULATED_ARRAY_ATTR, None)
        desc["stream"] = stream_value
        desc["version"] = 3
        self.__cuda_array_interface__ = desc
        self.owner = result


def as_caller_type(result, like, stream_given):
    """``result`` (a Numba device array bound to the stream the work ran on) as the type
    of ``like``: CuPy in, CuPy out; torch in, torch out; Numba arrays otherwise.

    The CuPy array or tensor views the same memory.  When no ``stream=`` was given the
    work ran on the stream the caller's array reported, which the caller keeps using:
    the hand-over reports no stream, so the consumer does not synchronize.
    """
    lib = caller_library(like)
    if lib == "numba" or lib == "cai":
        return result
    key = stream_key(result.stream)
    # (a simulator stream object has no handle to report)
    stream_value = key if stream_given and type(key) is int and key else None
    exported = _Exported(result, stream_value)
    if lib == "cupy":
        return sys.modules["cupy"].asarray(exported)
    return sys.modules["torch"].as_tensor(exported, device=like.device)

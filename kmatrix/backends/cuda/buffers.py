"""Scratch device buffers kept per stream, so that repeated calls allocate nothing.

A buffer is *taken* for one call and *given back* once every launch that uses it has
been enqueued.  On one stream, launches run in the order they were enqueued, so the
next call that takes the buffer is ordered after the previous user; two calls that
overlap in Python (threads sharing a stream) never share a buffer, because a taken
buffer is out of the pool until given back.  Only scratch memory lives here: nothing
handed to the caller (results, views of results) is ever a pooled buffer.

The pool is small: at most ``MAX_BYTES`` in all (larger requests are allocated for
the call and dropped), emptied by :func:`free_buffers`.
"""

from __future__ import annotations

__all__ = ["MAX_BYTES", "take", "give_back", "free_buffers", "pooled_bytes"]

import threading

import numpy as np

from .interop import stream_key

MAX_BYTES = 256 << 20

# (device, stream key, shape, dtype) -> list of (buffer, stream object)
_POOL = {}
_LOCK = threading.Lock()
_BYTES = [0]


def take(cuda, device_id, stream, shape, dtype):
    """A device array of ``shape`` and ``dtype`` for scratch work on ``stream``.

    Its contents are undefined.  Give it back with :func:`give_back` after the last
    launch that uses it has been enqueued.
    """
    dtype = np.dtype(dtype)
    key = (device_id, stream_key(stream), tuple(shape), dtype.str)
    with _LOCK:
        free = _POOL.get(key)
        if free:
            buf, _ = free.pop()
            _BYTES[0] -= buf.nbytes
            return buf
    return cuda.device_array(shape, dtype=dtype, stream=stream)


def give_back(buf, device_id, stream):
    """Return ``buf`` (from :func:`take` on ``stream``) to the pool, if it fits."""
    nbytes = buf.nbytes
    key = (device_id, stream_key(stream), tuple(int(s) for s in buf.shape), buf.dtype.str)
    with _LOCK:
        if _BYTES[0] + nbytes > MAX_BYTES:
            return
        # the stream object is kept with the buffer: its handle cannot be reused by a
        # new stream while the buffer may still be in use on it
        _POOL.setdefault(key, []).append((buf, stream))
        _BYTES[0] += nbytes


def pooled_bytes() -> int:
    """Bytes of device memory held by the pool of scratch buffers now.

    Examples
    --------
    >>> import kmatrix.cuda
    >>> kmatrix.cuda.pooled_bytes() >= 0
    True
    """
    return _BYTES[0]


def free_buffers() -> None:
    """Drop every pooled scratch buffer (the memory is freed once no launch uses it).

    Examples
    --------
    >>> import kmatrix.cuda
    >>> kmatrix.cuda.free_buffers()
    >>> kmatrix.cuda.pooled_bytes()
    0
    """
    with _LOCK:
        _POOL.clear()
        _BYTES[0] = 0

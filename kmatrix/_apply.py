"""Host-side dispatch: embed the input, run one kernel call, return the output.

This is the only place where user arrays meet the kernels.  The input ``(cols,)`` or
``(cols, k)`` is copied into a zero-padded ``(N, k)`` work array of the compute dtype
(one allocation per call), the kernel applies every factor in place, and the first
``rows`` entries are returned.  Large batches are split into column ranges that run
on a small thread pool; the kernels release the GIL, so this is real parallelism and
it stays safe when several Python threads apply the same operator at once.
"""

__all__ = ["apply_twiddle", "n_threads"]

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np


# Work arrays smaller than this run on the calling thread: splitting costs more.
_PARALLEL_MIN_BYTES = 1 << 18
_pool = None
_pool_lock = threading.Lock()


def _cpu():
    # Imported on first apply: importing Numba costs ~0.3 s, and `import kmatrix` should not.
    from .kernels import cpu

    return cpu


def n_threads():
    """Number of worker threads used for large batches (the usable cores)."""
    env = os.environ.get("KMATRIX_NUM_THREADS")
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _get_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=n_threads(), thread_name_prefix="kmatrix")
        return _pool


def _slab_rows(n, chunk, width_bytes):
    """Rows ``L`` per slab so that a slab ((N/C) * L rows of one tile) stays near L2 size."""
    budget = 1 << 16
    per_row = (n // chunk) * width_bytes
    slab = 1
    while slab < chunk and 2 * slab * per_row <= budget:
        slab *= 2
    return slab


def _run_columns(kernel, args, k, nbytes):
    """Run ``kernel(*args, c0, c1, tile)`` over column ranges covering ``0:k``."""
    cpu = _cpu()
    nt = n_threads()
    if nt == 1 or nbytes < _PARALLEL_MIN_BYTES or k < 16:
        kernel(*args, 0, k, min(cpu.TILE, k))
        return
    nt = min(nt, k // 8)
    # Chunks are multiples of 8 columns so threads never share a cache line.
    step = -(-k // nt)
    step = -(-step // 8) * 8
    bounds = [(c0, min(k, c0 + step)) for c0 in range(0, k, step)]
    tile = min(cpu.TILE, step)
    futures = [_get_pool().submit(kernel, *args, c0, c1, tile) for c0, c1 in bounds[1:]]
    c0, c1 = bounds[0]
    kernel(*args, c0, c1, tile)
    for f in futures:
        f.result()


def apply_twiddle(packed, plan, x, rows, dtype, dense=None):
    """Return ``S_rows E S_cols^T x`` for a planned twiddle.

    ``packed`` is :func:`~kmatrix._plan.pack` of the twiddle cast to ``dtype`` -- for a
    complex ``dtype`` a pair ``(real, imag)`` of packed arrays; ``plan`` its
    :class:`~kmatrix._plan.Plan`. ``x`` is a host array of shape ``(cols,)`` or
    ``(cols, k)``, ``cols <= N``. ``dense``, when given, is the ``(rows, cols)`` matrix,
    used instead of the kernel (small operators, where BLAS wins).
    """
    if dense is not None:
        return dense @ x.astype(dtype, copy=False)
    n = plan.size
    cols = x.shape[0]
    complex_ = dtype.kind == "c"
    real_dtype = np.finfo(dtype).dtype
    parts = 2 if complex_ else 1
    work = [np.zeros((n,) + x.shape[1:], dtype=real_dtype) for _ in range(parts)]
    srcs = (x.real, x.imag) if complex_ else (x,)
    for w, src in zip(work, srcs):
        if plan.gather_in is None:
            w[:cols] = src
        else:
            g = plan.gather_in
            sel = g < cols
            w[sel] = src[g[sel]]
    cpu = _cpu() if plan.segments else None
    for seg in plan.segments:
        if not isinstance(seg, tuple):
            work = [w[seg] for w in work]
            continue
        steps, phases = seg
        if x.ndim == 1:
            if complex_:
                cpu.apply_complex_vec(packed[0], packed[1], steps, work[0], work[1])
            else:
                cpu.apply_real_vec(packed, steps, work[0])
        elif x.shape[1]:
            k = x.shape[1]
            tile_bytes = min(cpu.TILE, k) * real_dtype.itemsize * parts
            slab = _slab_rows(n, plan.chunk, tile_bytes)
            head = (steps, phases, plan.chunk, slab)
            if complex_:
                args = (packed[0], packed[1]) + head + (work[0], work[1])
                _run_columns(cpu.apply_complex, args, k, work[0].nbytes * parts)
            else:
                _run_columns(cpu.apply_real, (packed,) + head + (work[0],), k, work[0].nbytes)
    out_rows = slice(0, rows) if plan.gather_out is None else plan.gather_out[:rows]
    if complex_:
        out = np.empty((rows,) + x.shape[1:], dtype=dtype)
        out.real = work[0][out_rows]
        out.imag = work[1][out_rows]
        return out
    return work[0][out_rows]


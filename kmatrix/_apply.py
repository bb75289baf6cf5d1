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

from .kernels import cpu

# Work below this many entries (N * k) runs on the calling thread: splitting costs more.
_PARALLEL_MIN_WORK = 1 << 15
_pool = None
_pool_lock = threading.Lock()


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


def _run_columns(kernel, args, work, k):
    """Run ``kernel(*args, work, c0, c1, tile)`` over column ranges covering ``0:k``."""
    nt = n_threads()
    if nt == 1 or work.size < _PARALLEL_MIN_WORK or k < 2 * 8:
        kernel(*args, work, 0, k, min(cpu.TILE, k))
        return
    nt = min(nt, k // 8)
    # Chunks are multiples of 8 columns so each stays whole cache lines.
    step = -(-k // nt)
    step = -(-step // 8) * 8
    bounds = [(c0, min(k, c0 + step)) for c0 in range(0, k, step)]
    tile = min(cpu.TILE, step)
    futures = [_get_pool().submit(kernel, *args, work, c0, c1, tile) for c0, c1 in bounds[1:]]
    c0, c1 = bounds[0]
    kernel(*args, work, c0, c1, tile)
    for f in futures:
        f.result()


def apply_twiddle(tw, plan, x, rows, dtype, dense=None):
    """Return ``S_rows E S_cols^T x`` for the twiddle ``tw`` (already of ``dtype``).

    ``tw`` is either a real twiddle or a pair ``(real, imag)`` of split complex twiddles,
    ``plan`` its :class:`~kmatrix._plan.Plan`. ``x`` is a host array of shape ``(cols,)``
    or ``(cols, k)`` with ``cols <= N``. ``dense``, when given, is the ``(rows, cols)``
    matrix, used instead of the kernel (small operators, where BLAS wins).
    """
    if dense is not None:
        return dense @ x.astype(dtype, copy=False)
    split = isinstance(tw, tuple)
    n = 2 * (tw[0] if split else tw).shape[2]
    cols = x.shape[0]
    work = np.zeros((n,) + x.shape[1:], dtype=dtype)
    if plan.gather_in is None:
        work[:cols] = x
    else:
        g = plan.gather_in
        sel = g < cols
        work[sel] = x[g[sel]]
    if plan.steps.shape[0]:
        if x.ndim == 1:
            if split:
                cpu.apply_complex_vec(tw[0], tw[1], plan.steps, work)
            else:
                cpu.apply_real_vec(tw, plan.steps, work)
        elif x.shape[1]:
            if split:
                _run_columns(cpu.apply_complex, (tw[0], tw[1], plan.steps), work, x.shape[1])
            else:
                _run_columns(cpu.apply_real, (tw, plan.steps), work, x.shape[1])
    if plan.gather_out is None:
        return work[:rows]
    return work[plan.gather_out[:rows]]

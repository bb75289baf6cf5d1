"""Host side of the CPU vector-Jacobian product; the twin of :mod:`kmatrix.backends.cuda.vjp`.

:func:`twiddle_vjp` runs the reverse sweep of :mod:`kmatrix.kernels.cpu_grad` over
column tiles, split across the kernel threads.
"""

__all__ = ["twiddle_vjp"]

import numpy as np

from ..._threads import counters, run_shared, share, threads_for

# The tape of one column is 2w*m*N entries; tiles are sized so that a thread's tape
# stays near this many entries (8 MiB in float64), with 1 <= tile <= _MAX_TILE.
_TAPE_BUDGET = 1 << 20
_MAX_TILE = 32
# Below this much work (pair updates N/2 * factors * columns, x4 for complex) one
# thread is faster: measured on 2 cores, real n=256 x 256 columns (2^19) gains little
# from a second thread, complex n=256 x 256 (2^21) runs 1.6-1.8x faster.
_PARALLEL_MIN_WORK = 1 << 20


def _tile(nfactors, n, k):
    return int(max(1, min(_MAX_TILE, k, _TAPE_BUDGET // (nfactors * n))))


def twiddle_vjp(twiddle, x, g, *, residual=False, scale=1.0, workers=None):
    """Kernel dispatch shared by :func:`kmatrix.vjp` and :func:`kmatrix.fit`.

    ``twiddle`` (canonical layout), ``x`` (``cols x k``) and ``g`` (``rows x k``) must
    already share one supported dtype and be C-contiguous 2-D arrays.  With
    ``residual=True``, ``g`` is a target ``Y`` and the incoming gradient is
    ``scale * (K x - Y)``.

    Returns ``(dx, dtwiddle, sq)``: ``K^H g`` (``cols x k``), the twiddle gradient in
    the complex convention ``dL/dRe t + i dL/dIm t`` summed over columns, and
    ``||K x - Y||^2`` (``0.0`` unless ``residual``). ``workers``: as for
    :meth:`~kmatrix.KMatrix.matmat` (it sets how the columns are split, and so the
    rounding of the summed twiddle gradient; ``dx`` does not depend on it).
    """
    from ...kernels import cpu_grad  # imported on first use: Numba is not loaded by `import kmatrix`

    dtype = twiddle.dtype
    nb, m, half = twiddle.shape[:3]
    n = 2 * half
    k = x.shape[1]
    out = np.empty(x.shape, dtype=dtype)
    mode = cpu_grad.MODE_RESIDUAL if residual else cpu_grad.MODE_GIVEN
    complex_ = dtype.kind == "c"
    real_dtype = np.empty(0, dtype).real.dtype
    if complex_:
        tw = (np.ascontiguousarray(twiddle.real), np.ascontiguousarray(twiddle.imag))
    else:
        tw = (np.ascontiguousarray(twiddle),)

    work = half * nb * m * k * (4 if complex_ else 1)
    parts = 1 if work < _PARALLEL_MIN_WORK else min(threads_for(workers), k)
    step = max(1, -(-k // parts))
    bounds = [(c0, min(k, c0 + step)) for c0 in range(0, k, step)] or [(0, 0)]
    tile = _tile(nb * m, n, step)

    def run(c0, c1):
        acc = np.zeros(1)
        if complex_:
            dr = np.zeros(twiddle.shape, dtype=real_dtype)
            di = np.zeros(twiddle.shape, dtype=real_dtype)
            cpu_grad.vjp_complex(*tw, x, g, out, mode, scale, dr, di, acc, c0, c1, tile)
            return dr, di, acc[0]
        d = np.zeros(twiddle.shape, dtype=dtype)
        cpu_grad.vjp_real(*tw, x, g, out, mode, scale, d, acc, c0, c1, tile)
        return d, d, acc[0]

    if len(bounds) == 1:
        results = [run(*bounds[0])]
    else:
        # Each column range has its own accumulators; the kernels release the GIL, so
        # the threads compute the partial twiddle gradients concurrently, taking the
        # ranges one at a time, and they are summed in range order (the result does
        # not depend on which thread did which).
        results = [None] * len(bounds)
        counter = counters(1, len(bounds))[0]

        def do(u):
            results[u] = run(*bounds[u])

        run_shared(lambda part: share(counter, 0, len(bounds), do, part, len(bounds)),
                   len(bounds), [counter])
    dr, di, sq = results[0]
    for r in results[1:]:
        dr += r[0]
        if complex_:
            di += r[1]
        sq += r[2]
    if complex_:
        dtw = np.empty(twiddle.shape, dtype=dtype)
        dtw.real = dr
        dtw.imag = di
    else:
        dtw = dr
    return out, dtw, float(sq)

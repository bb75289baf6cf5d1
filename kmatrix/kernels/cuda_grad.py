"""numba.cuda kernels for the vector-Jacobian product; the twins of :mod:`.cpu_grad`.

Reverse mode keeps the input of every factor on a device *tape* (``2w*m`` flat
``(N, kc)`` arrays, filled by one :func:`factor_forward` launch per factor), then sweeps
the factors backwards with :func:`factor_backward`.  For the factor ``y_p = t00 x_p +
t01 x_q``, ``y_q = t10 x_p + t11 x_q`` with input ``(x_p, x_q)`` and incoming gradient
``(g_p, g_q)`` (complex convention ``g = dL/dRe y + i dL/dIm y``)::

    dt_ab += sum over columns of g_a conj(x_b)
    (g_p, g_q) <- t^H (g_p, g_q)

The column sums are tree reductions in shared memory with ``syncthreads`` (no warp
shuffles); each block owns its pairs, so no atomics are needed.  These launches are
global-memory radix-2 passes, simpler and slower than the fused apply of
:mod:`.cuda`.  Nothing compiles at import.
"""

__all__ = [
    "factor_forward",
    "factor_backward",
    "fill_zero",
    "copy_rows",
    "cast_copy",
    "real_copy",
]

from numba import cuda

from .cuda import insert_zero, stride_bit


@cuda.jit(cache=True)
def factor_forward(src, dst, tw, f, m, k):
    """``dst = factor_f(src)`` on flat ``(N, k)`` arrays, one pair and column per thread
    (global memory: the vjp keeps every factor's input on a tape)."""
    b = stride_bit(f, m)
    n_ops = tw.shape[2] * k
    start, step = cuda.grid(1), cuda.gridsize(1)
    for e in range(start, n_ops, step):
        i = e // k
        c = e - i * k
        p = insert_zero(i, b) * k + c
        q = p + (k << b)
        vp = src[p]
        vq = src[q]
        dst[p] = tw[f, 0, i] * vp + tw[f, 1, i] * vq
        dst[q] = tw[f, 2, i] * vp + tw[f, 3, i] * vq


@cuda.jit(cache=True)
def factor_backward(x, g, tw, dtw, f, m, k):
    """Reverse step of factor ``f``: ``dtw[blk, j, i, a, b] += sum_c g_a conj(x_b)`` and
    ``g <- t^H g`` in place, for ``x`` the factor's input (flat ``(N, k)`` arrays).

    Block ``(Tc, Tp)``: ``threadIdx.y`` picks a pair, ``threadIdx.x`` strides over the
    columns; the four sums are reduced over ``threadIdx.x`` in dynamic shared memory
    (``4 * Tc * Tp`` entries), a tree with ``syncthreads`` (no shuffles).
    """
    sh = cuda.shared.array(0, g.dtype)
    tc = cuda.threadIdx.x
    tp = cuda.threadIdx.y
    nc = cuda.blockDim.x
    npb = cuda.blockDim.y
    half = tw.shape[2]
    b = stride_bit(f, m)
    blk = f // m
    j = f - blk * m
    slot = tp * nc + tc
    plane = npb * nc
    for i0 in range(cuda.blockIdx.x * npb, half, cuda.gridDim.x * npb):
        i = i0 + tp
        for a in range(4):
            sh[a * plane + slot] = 0
        if i < half:
            t00 = tw[f, 0, i].conjugate()
            t01 = tw[f, 1, i].conjugate()
            t10 = tw[f, 2, i].conjugate()
            t11 = tw[f, 3, i].conjugate()
            p0 = insert_zero(i, b) * k
            q0 = p0 + (k << b)
            for c in range(tc, k, nc):
                xp = x[p0 + c].conjugate()
                xq = x[q0 + c].conjugate()
                gp = g[p0 + c]
                gq = g[q0 + c]
                sh[slot] += gp * xp
                sh[plane + slot] += gp * xq
                sh[2 * plane + slot] += gq * xp
                sh[3 * plane + slot] += gq * xq
                g[p0 + c] = t00 * gp + t10 * gq
                g[q0 + c] = t01 * gp + t11 * gq
        cuda.syncthreads()
        width = nc // 2
        while width > 0:
            if tc < width:
                for a in range(4):
                    sh[a * plane + slot] += sh[a * plane + slot + width]
            cuda.syncthreads()
            width //= 2
        if tc == 0 and i < half:
            dtw[blk, j, i, 0, 0] += sh[slot]
            dtw[blk, j, i, 0, 1] += sh[plane + slot]
            dtw[blk, j, i, 1, 0] += sh[2 * plane + slot]
            dtw[blk, j, i, 1, 1] += sh[3 * plane + slot]
        cuda.syncthreads()


@cuda.jit(cache=True)
def fill_zero(a):
    """``a[:] = 0`` for a flat array."""
    start, step = cuda.grid(1), cuda.gridsize(1)
    for e in range(start, a.size, step):
        a[e] = 0


@cuda.jit(cache=True)
def copy_rows(src, dst, c0, kc):
    """``dst[r, c0 + c] = src[r * kc + c]`` for ``r < dst.shape[0]``, ``c < kc``."""
    start, step = cuda.grid(1), cuda.gridsize(1)
    rows = dst.shape[0]
    for e in range(start, rows * kc, step):
        r = e // kc
        dst[r, c0 + e - r * kc] = src[e]


@cuda.jit(cache=True)
def cast_copy(src, dst):
    """``dst[:] = src[:]`` on flat arrays of possibly different dtypes (narrowing casts)."""
    start, step = cuda.grid(1), cuda.gridsize(1)
    for e in range(start, dst.size, step):
        dst[e] = src[e]


@cuda.jit(cache=True)
def real_copy(src, dst):
    """``dst[:] = src[:].real`` on flat arrays (a real parameter's gradient)."""
    start, step = cuda.grid(1), cuda.gridsize(1)
    for e in range(start, dst.size, step):
        dst[e] = src[e].real

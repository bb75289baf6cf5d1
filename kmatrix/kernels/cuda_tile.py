"""numba.cuda single-launch kernels: every factor in one launch, whole columns in shared memory.

Where a column of ``N`` entries fits one block's dynamic shared memory (with the
device's opt-in limit, up to 227 KiB), one launch applies the whole operator: block
``c`` loads ``Lb = 2**lb_sh`` consecutive columns into a tile of ``N * Lb`` entries
(row ``r``, column ``c0 + l`` at ``r * Lb + l``: a row segment per load, coalesced),
applies every factor back to back (two per sweep, radix 4, ``syncthreads`` between
sweeps) and stores the tile: one read and one write of the array, against two or
three of each for the multi-launch plan of :mod:`.cuda` at N >= 2048.

The index arithmetic is simpler than the general pass kernel's: the tile holds every
row, so the pair index of a radix-2 op is its group index itself and no row bits come
from lanes or outer chunks (no ``lane // k``).  Twiddles are read from global memory,
which the L1 cache serves on Volta and later (the read-only data cache shares its
storage); numba-cuda has no ``__ldg``.

:func:`tile_vjp_kernel` is the vector-Jacobian product in one launch: the forward
sweep runs in shared memory, storing each factor's input on the tape as it goes; the
backward sweep reads the tape, updates the incoming gradient in shared memory and
sums the twiddle gradient over the block's columns in registers.

Nothing is compiled at import; the kernels compile on first launch per dtype and are
cached on disk (``cache=True``).
"""

__all__ = ["tile_kernel", "tile_vjp_kernel"]

from numba import cuda, uint64

from .cuda import insert_zero, pair_index, stride_bit


@cuda.jit(device=True)
def _radix2(sh, tw, f, b, m, lb_sh, nlane):
    lbm = (1 << lb_sh) - 1
    step = 1 << (b + lb_sh)
    t00 = tw[f, 0]
    t01 = tw[f, 1]
    t10 = tw[f, 2]
    t11 = tw[f, 3]
    for o in range(cuda.threadIdx.x, 1 << (m - 1 + lb_sh), cuda.blockDim.x):
        lane = o & lbm
        if lane < nlane:
            g = o >> lb_sh  # the pair index: the row of p with bit b dropped
            ep = uint64((insert_zero(g, b) << lb_sh) + lane)
            eq = uint64(ep + step)
            i = uint64(g)
            vp = sh[ep]
            vq = sh[eq]
            sh[ep] = t00[i] * vp + t01[i] * vq
            sh[eq] = t10[i] * vp + t11[i] * vq


@cuda.jit(device=True)
def _radix4(sh, tw, f, ba, bb, m, lb_sh, nlane):
    """Factors ``f`` (bit ``ba``) then ``f + 1`` (bit ``bb != ba``): four entries per op."""
    lbm = (1 << lb_sh) - 1
    lo_b = min(ba, bb)
    hi_b = max(ba, bb)
    da = 1 << (ba + lb_sh)
    db = 1 << (bb + lb_sh)
    # pair indices of rows r0 + 2**bb (first factor) and r0 + 2**ba (second) differ
    # from those of r0 by a constant
    di = 1 << (bb - 1) if bb > ba else 1 << bb
    dj = 1 << (ba - 1) if ba > bb else 1 << ba
    a00 = tw[f, 0]
    a01 = tw[f, 1]
    a10 = tw[f, 2]
    a11 = tw[f, 3]
    b00 = tw[f + 1, 0]
    b01 = tw[f + 1, 1]
    b10 = tw[f + 1, 2]
    b11 = tw[f + 1, 3]
    for o in range(cuda.threadIdx.x, 1 << (m - 2 + lb_sh), cuda.blockDim.x):
        lane = o & lbm
        if lane < nlane:
            r0 = insert_zero(insert_zero(o >> lb_sh, lo_b), hi_b)
            e = (r0 << lb_sh) + lane
            e0 = uint64(e)
            e1 = uint64(e + da)
            e2 = uint64(e + db)
            e3 = uint64(e + da + db)
            i = pair_index(r0, ba)
            i0 = uint64(i)
            i1 = uint64(i + di)
            j = pair_index(r0, bb)
            j0 = uint64(j)
            j1 = uint64(j + dj)
            v0 = sh[e0]
            v1 = sh[e1]
            v2 = sh[e2]
            v3 = sh[e3]
            u0 = a00[i0] * v0 + a01[i0] * v1
            u1 = a10[i0] * v0 + a11[i0] * v1
            u2 = a00[i1] * v2 + a01[i1] * v3
            u3 = a10[i1] * v2 + a11[i1] * v3
            sh[e0] = b00[j0] * u0 + b01[j0] * u2
            sh[e2] = b10[j0] * u0 + b11[j0] * u2
            sh[e1] = b00[j1] * u1 + b01[j1] * u3
            sh[e3] = b10[j1] * u1 + b11[j1] * u3


@cuda.jit(device=True)
def _load(sh, src, src_rows, m, lb_sh, c0, nlane):
    """Tile <- columns ``c0 : c0 + nlane`` of ``src`` read as zero-padded to ``2**m`` rows."""
    lbm = (1 << lb_sh) - 1
    for e in range(cuda.threadIdx.x, 1 << (m + lb_sh), cuda.blockDim.x):
        lane = e & lbm
        row = e >> lb_sh
        sh[e] = 0
        if lane < nlane and row < src_rows:
            sh[e] = src[row, c0 + lane]


@cuda.jit(cache=True)
def tile_kernel(src, src_rows, x, tw, nf, m, lb_sh, k):
    """Apply all ``nf`` factors of ``tw`` (``(F, 4, N/2)``) to ``src`` (``(src_rows,
    k)``, any strides and numeric dtype, read as zero-padded to ``N = 2**m`` rows) and
    store into the flat ``(N, k)`` work array ``x`` (``src`` may be its 2-D view: a
    block reads its columns before it writes them).  ``ceil(k / 2**lb_sh)`` blocks, each
    with ``2**(m + lb_sh)`` entries of dynamic shared memory.
    """
    sh = cuda.shared.array(0, x.dtype)
    lbm = (1 << lb_sh) - 1
    c0 = cuda.blockIdx.x << lb_sh
    nlane = min(lbm + 1, k - c0)
    _load(sh, src, src_rows, m, lb_sh, c0, nlane)
    cuda.syncthreads()
    f = 0
    while f < nf:
        ba = stride_bit(f, m)
        if f + 1 < nf and stride_bit(f + 1, m) != ba:
            _radix4(sh, tw, f, ba, stride_bit(f + 1, m), m, lb_sh, nlane)
            f += 2
        else:
            _radix2(sh, tw, f, ba, m, lb_sh, nlane)
            f += 1
        cuda.syncthreads()
    for e in range(cuda.threadIdx.x, 1 << (m + lb_sh), cuda.blockDim.x):
        lane = e & lbm
        if lane < nlane:
            x[uint64((e >> lb_sh) * k + c0 + lane)] = sh[e]


@cuda.jit(device=True)
def _accumulate(dtw, dre, idx, v, atomic):
    """``dtw[idx] += v``; with ``atomic``, by atomic adds on the real view ``dre``."""
    if atomic:
        if dre.size == dtw.size:  # a real gradient
            cuda.atomic.add(dre, idx, v.real)
        else:
            cuda.atomic.add(dre, 2 * idx, v.real)
            cuda.atomic.add(dre, 2 * idx + 1, v.imag)
    else:
        dtw[idx] += v


@cuda.jit(cache=True)
def tile_vjp_kernel(X, x_rows, G, g_rows, tape, dtw, dre, dx, c_base, tw, nf, m, lb_sh, k,
                    atomic):
    """Vector-Jacobian product of all ``nf`` factors in one launch.

    ``X`` (``(x_rows, k)``) and ``G`` (``(g_rows, k)``) are the input and the incoming
    gradient, any strides and numeric dtype, read as zero-padded to ``N = 2**m`` rows;
    block ``c`` owns columns ``c0 = c * 2**lb_sh`` onwards.  ``tape`` (``(nf, grid *
    N * 2**lb_sh)``) receives each factor's input in the block's tile layout;
    ``dtw`` (flat ``(F, N/2, 2, 2)``, ``dre`` its real view) accumulates the twiddle
    gradient, by atomic adds when ``atomic`` (several blocks); ``dx[r, c_base + c0 +
    l]`` receives ``K^H g`` for ``r < dx.shape[0]``.
    """
    sh = cuda.shared.array(0, dtw.dtype)
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    lbm = (1 << lb_sh) - 1
    c0 = cuda.blockIdx.x << lb_sh
    nlane = min(lbm + 1, k - c0)
    tile = 1 << (m + lb_sh)
    base = cuda.blockIdx.x * tile
    half = 1 << (m - 1)
    _load(sh, X, x_rows, m, lb_sh, c0, nlane)
    cuda.syncthreads()
    # forward: each op stores its pair's input on the tape, then applies the factor
    for f in range(nf):
        b = stride_bit(f, m)
        t00 = tw[f, 0]
        t01 = tw[f, 1]
        t10 = tw[f, 2]
        t11 = tw[f, 3]
        tp = tape[f]
        for o in range(tid, half << lb_sh, nt):
            lane = o & lbm
            g = o >> lb_sh
            ep = uint64((insert_zero(g, b) << lb_sh) + lane)
            eq = uint64(ep + (1 << (b + lb_sh)))
            i = uint64(g)
            vp = sh[ep]
            vq = sh[eq]
            tp[base + ep] = vp
            tp[base + eq] = vq
            sh[ep] = t00[i] * vp + t01[i] * vq
            sh[eq] = t10[i] * vp + t11[i] * vq
        cuda.syncthreads()
    _load(sh, G, g_rows, m, lb_sh, c0, nlane)
    cuda.syncthreads()
    # backward: one thread per pair sums over the block's columns in registers
    for f in range(nf - 1, -1, -1):
        b = stride_bit(f, m)
        tp = tape[f]
        for i in range(tid, half, nt):
            ep0 = insert_zero(i, b) << lb_sh
            eq0 = ep0 + (1 << (b + lb_sh))
            c00 = tw[f, 0, i].conjugate()
            c01 = tw[f, 1, i].conjugate()
            c10 = tw[f, 2, i].conjugate()
            c11 = tw[f, 3, i].conjugate()
            s00 = sh[0] * 0
            s01 = s00
            s10 = s00
            s11 = s00
            for lane in range(nlane):
                ep = uint64(ep0 + lane)
                eq = uint64(eq0 + lane)
                xp = tp[base + ep].conjugate()
                xq = tp[base + eq].conjugate()
                gp = sh[ep]
                gq = sh[eq]
                s00 += gp * xp
                s01 += gp * xq
                s10 += gq * xp
                s11 += gq * xq
                sh[ep] = c00 * gp + c10 * gq
                sh[eq] = c01 * gp + c11 * gq
            idx = (f * half + i) * 4
            _accumulate(dtw, dre, idx, s00, atomic)
            _accumulate(dtw, dre, idx + 1, s01, atomic)
            _accumulate(dtw, dre, idx + 2, s10, atomic)
            _accumulate(dtw, dre, idx + 3, s11, atomic)
        cuda.syncthreads()
    rows = dx.shape[0]
    for e in range(tid, tile, nt):
        lane = e & lbm
        row = e >> lb_sh
        if lane < nlane and row < rows:
            dx[row, c_base + c0 + lane] = sh[e]

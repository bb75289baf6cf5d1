"""numba.cuda kernels that apply the factors of a twiddle to a batch on the GPU.

The twins of :mod:`kmatrix.kernels.cpu`.  A work array of ``N * k`` entries (the
zero-padded ``(N, k)`` input, C order) is updated in place by a few launches of one
*pass* kernel; each launch applies a run of consecutive factors whose strides lie in
one window of index bits ``[h, h + s)``:

* Read the work array as ``(N >> (h + s), 2**s, L)`` with ``L = 2**h * k`` "lanes": the
  row bits below ``h`` and the batch column together index a contiguous lane, so a
  factor whose stride bit lies in the window pairs entries of the middle axis only.
* One thread block owns ``2**s`` window positions times ``Lb`` consecutive lanes (for
  a small ``N`` whose whole index space fits the window, ``Lb`` batch columns: several
  vectors per block), loads that tile into shared memory with coalesced row segments,
  applies the run of factors back to back (two factors per sweep, radix 4, with
  ``syncthreads`` between sweeps), and stores the tile back.  No warp shuffles.
* Every index is a shift or a mask of powers of two except ``lane // k``.

The runs and the launch geometry come from the host planner,
:func:`kmatrix.backends.cuda.plan.plan_passes`; this module is device code only.

Twiddles live on the device in a factor-major planar layout ``(F, 4, N // 2)``: the
threads of a warp either share one twiddle (large batch: a broadcast) or read
consecutive ones (small batch: coalesced), so they are read straight through the L1
cache; staging them in shared memory would add a copy without adding reuse.

Nothing is compiled at import: the kernels compile on first launch, one specialization
per dtype, and are cached on disk (``cache=True``).  The tile is dynamic shared memory
(at most ``TILE_BYTES`` of the planner, below the 48 KiB that needs no opt-in).
"""

__all__ = ["stride_bit", "pair_index", "insert_zero", "pad_kernel", "pass_kernel"]

from numba import cuda, uint64


@cuda.jit(device=True)
def stride_bit(f, m):
    blk = f // m
    j = f - blk * m
    if blk % 2 == 0:
        return m - 1 - j
    return j


@cuda.jit(device=True)
def pair_index(row, b):
    # pair index of the pair (row, row + 2**b): drop bit b of row
    return ((row >> (b + 1)) << b) | (row & ((1 << b) - 1))


@cuda.jit(device=True)
def insert_zero(g, b):
    return ((g >> b) << (b + 1)) | (g & ((1 << b) - 1))


@cuda.jit(device=True)
def _lo(lane_g, k, k_sh):
    if k_sh >= 0:
        return lane_g >> k_sh
    return lane_g // k


@cuda.jit(device=True)
def _radix2(sh, tw, f, b, h, s, lb_sh, nlane, lane0, row0, k, k_sh):
    """Apply factor ``f`` (stride bit ``b``) to the tile: one pair per op."""
    lbm = (1 << lb_sh) - 1
    bl = b - h
    step = 1 << (bl + lb_sh)
    t00 = tw[f, 0]  # one row view per map entry: the loop indexes 1-D arrays
    t01 = tw[f, 1]
    t10 = tw[f, 2]
    t11 = tw[f, 3]
    for o in range(cuda.threadIdx.x, 1 << (s - 1 + lb_sh), cuda.blockDim.x):
        lane = o & lbm
        if lane < nlane:
            tp = insert_zero(o >> lb_sh, bl)
            # unsigned indices: non-negative by construction, so Numba emits no
            # negative-index wraparound (three 64-bit operations per access)
            ep = uint64((tp << lb_sh) + lane)
            eq = uint64(ep + step)
            i = uint64(pair_index(row0 | (tp << h) | _lo(lane0 + lane, k, k_sh), b))
            vp = sh[ep]
            vq = sh[eq]
            sh[ep] = t00[i] * vp + t01[i] * vq
            sh[eq] = t10[i] * vp + t11[i] * vq


@cuda.jit(device=True)
def _radix4(sh, tw, f, ba, bb, h, s, lb_sh, nlane, lane0, row0, k, k_sh):
    """Apply factors ``f`` (bit ``ba``) then ``f + 1`` (bit ``bb != ba``): four entries per op."""
    lbm = (1 << lb_sh) - 1
    la = ba - h
    lb = bb - h
    lo_b = min(la, lb)
    hi_b = max(la, lb)
    da = 1 << (la + lb_sh)
    db = 1 << (lb + lb_sh)
    # Pair indices of the rows r0 + 2**bb (first factor) and r0 + 2**ba (second) differ
    # from those of r0 by a constant: the set bit, moved down one place if above the
    # dropped bit.  Computed once here instead of per op.
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
    for o in range(cuda.threadIdx.x, 1 << (s - 2 + lb_sh), cuda.blockDim.x):
        lane = o & lbm
        if lane < nlane:
            t0 = insert_zero(insert_zero(o >> lb_sh, lo_b), hi_b)
            e = (t0 << lb_sh) + lane
            e0 = uint64(e)  # unsigned indices: see _radix2
            e1 = uint64(e + da)
            e2 = uint64(e + db)
            e3 = uint64(e + da + db)
            r0 = row0 | (t0 << h) | _lo(lane0 + lane, k, k_sh)
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


@cuda.jit(cache=True)
def pass_kernel(src, src_rows, x, tw, f0, nf, m, h, s, lb_sh, nph, n_lanes, k, k_sh):
    """Apply flat factors ``f0 : f0 + nf`` of ``tw`` (``(F, 4, N/2)``) to ``src`` (a
    ``(src_rows, k)`` array, any strides and numeric dtype, read as zero-padded to N
    rows) and store into the flat ``(N, k)`` work array ``x``.  The first launch reads
    the caller's input (the zero padding costs no pass of its own); later ones read
    ``x`` itself (``src`` its 2-D view).  Launch with ``2**(s + lb_sh)`` entries of
    dynamic shared memory.
    """
    sh = cuda.shared.array(0, x.dtype)
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    bid = cuda.blockIdx.x
    lbm = (1 << lb_sh) - 1
    hi = bid // nph
    lane0 = (bid - hi * nph) << lb_sh
    nlane = min(lbm + 1, n_lanes - lane0)
    row0 = hi << (h + s)  # the outer chunk's bits of every row in this tile
    base = (hi << s) * n_lanes + lane0
    tile = 1 << (s + lb_sh)
    for e in range(tid, tile, nt):
        lane = e & lbm
        sh[e] = 0
        if lane < nlane:
            lane_g = lane0 + lane
            lo = _lo(lane_g, k, k_sh)
            row = row0 | ((e >> lb_sh) << h) | lo
            if row < src_rows:
                sh[e] = src[row, lane_g - lo * k]
    cuda.syncthreads()
    j = 0
    while j < nf:
        f = f0 + j
        ba = stride_bit(f, m)
        if j + 1 < nf and stride_bit(f + 1, m) != ba:
            _radix4(sh, tw, f, ba, stride_bit(f + 1, m), h, s, lb_sh, nlane, lane0, row0, k, k_sh)
            j += 2
        else:
            _radix2(sh, tw, f, ba, h, s, lb_sh, nlane, lane0, row0, k, k_sh)
            j += 1
        cuda.syncthreads()
    for e in range(tid, tile, nt):
        lane = e & lbm
        if lane < nlane:
            x[base + (e >> lb_sh) * n_lanes + lane] = sh[e]


@cuda.jit(cache=True)
def _pad_2d(x, work, cols, k):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for e in range(start, work.size, step):
        r = e // k
        if r < cols:
            work[e] = x[r, e - r * k]
        else:
            work[e] = 0


@cuda.jit(cache=True)
def _pad_1d(x, work, cols):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for e in range(start, work.size, step):
        if e < cols:
            work[e] = x[e]
        else:
            work[e] = 0


def pad_kernel(ndim):
    """Kernel copying ``x`` (``(cols,)`` or ``(cols, k)``, any strides and numeric dtype)
    into the flat zero-padded work array, casting to its dtype."""
    return _pad_1d if ndim == 1 else _pad_2d



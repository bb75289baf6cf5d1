"""numba.cuda register-pass kernel: 16 entries per thread, held in registers.

The twin of :mod:`kmatrix.kernels.cuda`'s shared-memory pass for batches of many
columns.  A launch applies a run of consecutive factors whose stride bits lie in one
4-bit window ``[L, L + 4)``: each thread owns one batch column (``lane``) and the 16 rows
``base + j * 2**L`` (``j`` = 0 .. 15, ``base`` with zeros in the window bits), loads them
once, applies every factor of the run to them in registers (a factor at bit ``L + lb``
maps the 8 register pairs ``(p, p + 2**lb)``), and stores them back: no shared memory,
no barrier, one read and one write of the array per launch.  Consecutive threads take
consecutive columns, so a warp reads and writes whole rows (coalesced) and shares its
twiddles (a broadcast) when the batch has 32 columns or more.

A BB* at ``N = 2**m`` takes ``ceil(m / 4)`` launches per butterfly, with the two runs
that meet at stride 1 (the end of B, the start of B*) in one launch: 5 launches at
N = 4096, against 3 for the shared-memory pass, whose windows are up to 10 bits wide.
Which pass is faster was measured on an H200 (both in one process, identical results):
the register pass took 0.53-0.79x the time at 2**24 entries (N = 4096, 4096 columns;
N = 65536, 256 columns) and 0.75x at N = 16384, 256 columns, but 1.12-1.27x at N = 4096
with 16 to 256 columns and at N = 1024 with 4096 (N = 4096 with 1024 columns: 0.85x in
float64, 1.04x in complex128).  The host planner
(:func:`kmatrix.backends.cuda.plan.use_register_passes`) encodes that.

Nothing is compiled at import; the kernel compiles on first launch per dtype and is
cached on disk (``cache=True``).
"""

__all__ = ["register_pass_kernel"]

from numba import cuda, uint64

from .cuda import pair_index, stride_bit


@cuda.jit(device=True)
def _bf(vp, vq, t00, t01, t10, t11, i):
    return t00[i] * vp + t01[i] * vq, t10[i] * vp + t11[i] * vq


@cuda.jit(cache=True)
def register_pass_kernel(src, src_rows, x, tw, f0, nf, m, L, k, k_sh):
    """Apply flat factors ``f0 : f0 + nf`` of ``tw`` (``(F, 4, N/2)``), all with stride
    bits in ``[L, L + 4)``, to ``src`` (``(src_rows, k)``, any strides and numeric
    dtype, read as zero-padded to N rows) and store into the flat ``(N, k)`` work array
    ``x`` (``src`` may be ``x``'s 2-D view: each thread reads and writes only its own
    16 entries).  One thread per (row group, column): ``N // 16 * k`` threads.
    """
    t = cuda.grid(1)
    if t >= (1 << (m - 4)) * k:
        return
    if k_sh >= 0:
        g = t >> k_sh
    else:
        g = t // k
    lane = t - g * k
    s = 1 << L
    base = ((g >> L) << (L + 4)) | (g & (s - 1))
    buf = cuda.local.array(16, x.dtype)  # the cast of src's dtype happens on this store
    for j in range(16):
        row = base + j * s
        if row < src_rows:
            buf[j] = src[row, lane]
        else:
            buf[j] = 0
    v0 = buf[0]
    v1 = buf[1]
    v2 = buf[2]
    v3 = buf[3]
    v4 = buf[4]
    v5 = buf[5]
    v6 = buf[6]
    v7 = buf[7]
    v8 = buf[8]
    v9 = buf[9]
    v10 = buf[10]
    v11 = buf[11]
    v12 = buf[12]
    v13 = buf[13]
    v14 = buf[14]
    v15 = buf[15]
    for f in range(f0, f0 + nf):
        b = stride_bit(f, m)
        lb = b - L
        i = pair_index(base, b)  # pair index of register pair q is i + q * 2**L
        t00 = tw[f, 0]
        t01 = tw[f, 1]
        t10 = tw[f, 2]
        t11 = tw[f, 3]
        # One branch per window bit, written out: with constant names the 16 values stay
        # in registers (an indexed local array would be placed in local memory).
        if lb == 0:
            v0, v1 = _bf(v0, v1, t00, t01, t10, t11, uint64(i))
            v2, v3 = _bf(v2, v3, t00, t01, t10, t11, uint64(i + s))
            v4, v5 = _bf(v4, v5, t00, t01, t10, t11, uint64(i + 2 * s))
            v6, v7 = _bf(v6, v7, t00, t01, t10, t11, uint64(i + 3 * s))
            v8, v9 = _bf(v8, v9, t00, t01, t10, t11, uint64(i + 4 * s))
            v10, v11 = _bf(v10, v11, t00, t01, t10, t11, uint64(i + 5 * s))
            v12, v13 = _bf(v12, v13, t00, t01, t10, t11, uint64(i + 6 * s))
            v14, v15 = _bf(v14, v15, t00, t01, t10, t11, uint64(i + 7 * s))
        elif lb == 1:
            v0, v2 = _bf(v0, v2, t00, t01, t10, t11, uint64(i))
            v1, v3 = _bf(v1, v3, t00, t01, t10, t11, uint64(i + s))
            v4, v6 = _bf(v4, v6, t00, t01, t10, t11, uint64(i + 2 * s))
            v5, v7 = _bf(v5, v7, t00, t01, t10, t11, uint64(i + 3 * s))
            v8, v10 = _bf(v8, v10, t00, t01, t10, t11, uint64(i + 4 * s))
            v9, v11 = _bf(v9, v11, t00, t01, t10, t11, uint64(i + 5 * s))
            v12, v14 = _bf(v12, v14, t00, t01, t10, t11, uint64(i + 6 * s))
            v13, v15 = _bf(v13, v15, t00, t01, t10, t11, uint64(i + 7 * s))
        elif lb == 2:
            v0, v4 = _bf(v0, v4, t00, t01, t10, t11, uint64(i))
            v1, v5 = _bf(v1, v5, t00, t01, t10, t11, uint64(i + s))
            v2, v6 = _bf(v2, v6, t00, t01, t10, t11, uint64(i + 2 * s))
            v3, v7 = _bf(v3, v7, t00, t01, t10, t11, uint64(i + 3 * s))
            v8, v12 = _bf(v8, v12, t00, t01, t10, t11, uint64(i + 4 * s))
            v9, v13 = _bf(v9, v13, t00, t01, t10, t11, uint64(i + 5 * s))
            v10, v14 = _bf(v10, v14, t00, t01, t10, t11, uint64(i + 6 * s))
            v11, v15 = _bf(v11, v15, t00, t01, t10, t11, uint64(i + 7 * s))
        else:
            v0, v8 = _bf(v0, v8, t00, t01, t10, t11, uint64(i))
            v1, v9 = _bf(v1, v9, t00, t01, t10, t11, uint64(i + s))
            v2, v10 = _bf(v2, v10, t00, t01, t10, t11, uint64(i + 2 * s))
            v3, v11 = _bf(v3, v11, t00, t01, t10, t11, uint64(i + 3 * s))
            v4, v12 = _bf(v4, v12, t00, t01, t10, t11, uint64(i + 4 * s))
            v5, v13 = _bf(v5, v13, t00, t01, t10, t11, uint64(i + 5 * s))
            v6, v14 = _bf(v6, v14, t00, t01, t10, t11, uint64(i + 6 * s))
            v7, v15 = _bf(v7, v15, t00, t01, t10, t11, uint64(i + 7 * s))
    x[uint64(base * k + lane)] = v0
    x[uint64((base + 1 * s) * k + lane)] = v1
    x[uint64((base + 2 * s) * k + lane)] = v2
    x[uint64((base + 3 * s) * k + lane)] = v3
    x[uint64((base + 4 * s) * k + lane)] = v4
    x[uint64((base + 5 * s) * k + lane)] = v5
    x[uint64((base + 6 * s) * k + lane)] = v6
    x[uint64((base + 7 * s) * k + lane)] = v7
    x[uint64((base + 8 * s) * k + lane)] = v8
    x[uint64((base + 9 * s) * k + lane)] = v9
    x[uint64((base + 10 * s) * k + lane)] = v10
    x[uint64((base + 11 * s) * k + lane)] = v11
    x[uint64((base + 12 * s) * k + lane)] = v12
    x[uint64((base + 13 * s) * k + lane)] = v13
    x[uint64((base + 14 * s) * k + lane)] = v14
    x[uint64((base + 15 * s) * k + lane)] = v15

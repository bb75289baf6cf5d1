"""Host side of the CPU apply: embed the input, run the kernels, return the output.

This is the only place where user arrays meet the kernels. A block ``(cols, k)`` is
copied (gathered, when the plan starts with a permutation) into a zero-padded work
array of the compute dtype -- planar real/imaginary for complex -- the kernels apply
every factor in place, and the first ``rows`` entries are returned. A single vector
``(cols,)`` does all of that in one compiled call (:mod:`kmatrix.kernels.cpu_vector`).
Large batches run on up to ``workers`` threads (the kernels and NumPy's copies release
the GIL). Normally the threads share one work array (for real data, the output itself):
they fill it by blocks of rows, then take every phase's chunks or slabs one at a time,
each phase complete before the next (:func:`_run_rows`). Small ``N`` (one chunk) uses
column blocks instead, each with its own array. Either way the work is shared in units
(:func:`~kmatrix._threads.share`), so the calling thread never waits for a thread that
has not started. Several Python threads may apply the same operator at once.

A real matrix with complex factors (:mod:`kmatrix._realmatrix`) applied to a real block
runs *paired*: the two halves of the block are gathered straight into the real and
imaginary work planes, and the planes are gathered straight into the two halves of the
real result (no complex copy of the input or the output).
"""

__all__ = ["apply_twiddle"]

import importlib
import threading

import numpy as np

from ..._threads import counters, run_shared, share, threads_for

# Work arrays smaller than this run on the calling thread: waking a worker takes 65-100 us
# here (measured, rows shared by two threads against one: 1024 x 64 float64 0.53x,
# 1024 x 128 1.02x, 1024 x 256 1.27x, 2048 x 64 1.07x).
_PARALLEL_MIN_BYTES = 1 << 21


_NO_SYNC = np.zeros(0, dtype=np.int64)  # the kernels' counters when one thread runs
# Row blocks per thread in the row copies (fill, gathers, output) of a shared apply: a
# few, so that a thread that starts late or is descheduled leaves little to wait for.
_ROW_UNITS_PER_THREAD = 4
_kernel_modules = {}


def _kernels(name):
    """The kernel module ``kmatrix.kernels.<name>``, imported on first use: importing
    Numba costs ~0.3 s, and `import kmatrix` should not; later calls skip the import
    machinery (0.4 us of a 20 us matvec)."""
    mod = _kernel_modules.get(name)
    if mod is None:
        mod = _kernel_modules[name] = importlib.import_module(f"kmatrix.kernels.{name}")
    return mod


def _cpu():
    return _kernels("cpu")


def _slab_rows(n, chunk, width_bytes):
    """Rows ``L`` per slab so that a slab ((N/C) * L rows of one tile) stays near L1/L2 size."""
    budget = 1 << 16
    per_row = (n // chunk) * width_bytes
    slab = 1
    while slab < chunk and 2 * slab * per_row <= budget:
        slab *= 2
    return slab


def _tiling(plan, k, width_bytes):
    """``(column tile, slab rows)`` for ``k`` columns of ``width_bytes`` per entry."""
    tile = min(_cpu().TILE, k) if plan.segments else 1
    return tile, _slab_rows(plan.size, plan.chunk, tile * width_bytes)


def _rows(dest, src, sel):
    """``dest[...] = src[sel]``: a row gather that writes a contiguous ``dest`` directly
    (``np.take`` with valid indices and ``mode="clip"`` skips its bounds-checking copy)."""
    if isinstance(sel, slice) or not dest.flags.c_contiguous:
        dest[...] = src[sel]
    else:
        np.take(src, sel, axis=0, out=dest, mode="clip")


def _store(dest, work, sel, paired=None):
    """``dest[:] = work[sel]`` for real (one work array) or planar complex (two) data.

    ``paired = (c0, c1, h)``: ``dest`` is the real result and ``work`` the planes of its
    complex columns ``c0:c1``, the real parts being columns ``c0:c1`` and the imaginary
    parts columns ``h + c0:h + c1`` (fewer at the end for an odd number of columns).
    """
    if paired is not None:
        c0, c1, h = paired
        _rows(dest[:, c0:c1], work[0], sel)
        hi = min(dest.shape[1], h + c1)
        if hi > h + c0:
            _rows(dest[:, h + c0:hi], work[1][:, :hi - h - c0], sel)
    elif len(work) == 2:
        dest.real = work[0][sel]
        dest.imag = work[1][sel]
    else:
        _rows(dest, work[0], sel)


def _sources(x, c0, c1, complex_, paired):
    """The planes that fill the work arrays of (complex) columns ``c0:c1``."""
    if paired:  # real block: its first half is the real plane, its second the imaginary one
        h = (x.shape[1] + 1) // 2
        return x[:, c0:c1], x[:, h + c0:h + c1]
    block = x[:, c0:c1]
    return (block.real, block.imag) if complex_ else (block,)


def _column_blocks(n, k, itemsize, nthreads):
    """Column ranges, one per worker thread, multiples of 8 columns (none shares a line)."""
    if n * k * itemsize < _PARALLEL_MIN_BYTES or k < 16:  # checked first: cheaper
        return [(0, k)]
    nt = min(nthreads, k // 8)
    if nt == 1:
        return [(0, k)]
    step = -(-k // nt)
    step = -(-step // 8) * 8
    return [(c0, min(k, c0 + step)) for c0 in range(0, k, step)]


# Scratch arrays are kept per thread between calls: a fresh multi-megabyte array is
# a fresh mmap, and touching its pages cost as much as the kernels (measured 2.5 ms of
# 7.4 ms for a 4096 x 64 complex DFT). Arrays above this size are not kept.
_SCRATCH_MAX_BYTES = 1 << 25
_scratch = threading.local()


def _scratch_array(slot, shape, dtype):
    """A per-thread reusable array for ``slot`` (never returned to the caller)."""
    dtype = np.dtype(dtype)
    if np.prod(shape) * dtype.itemsize > _SCRATCH_MAX_BYTES:
        return np.empty(shape, dtype=dtype)
    store = getattr(_scratch, "arrays", None)
    if store is None:
        store = _scratch.arrays = {}
    arr = store.get(slot)
    if arr is None or arr.shape != shape or arr.dtype != dtype:
        arr = store[slot] = np.empty(shape, dtype=dtype)
    return arr


def _fill(w, src, gather_in, r0, r1):
    """Rows ``r0:r1`` of the work array ``w`` from ``src`` (``cols`` rows): zero-padded,
    gathered if the plan starts with a permutation (``gather_in``). A ``src`` with fewer
    columns than ``w`` (the last imaginary plane of an odd paired block) leaves zeros."""
    if src.shape[1] < w.shape[1]:
        w[r0:r1, src.shape[1]:] = 0
        _fill(w[:, :src.shape[1]], src, gather_in, r0, r1)
        return w
    cols = src.shape[0]
    if gather_in is None:
        if cols > r0:
            w[r0:min(r1, cols)] = src[r0:r1]
        w[max(r0, cols):r1] = 0
    elif cols == w.shape[0]:  # no padding: one gather
        _rows(w[r0:r1], src, gather_in[r0:r1])
    else:
        idx = gather_in[r0:r1]
        sel = idx < cols
        part = w[r0:r1]
        part[~sel] = 0
        part[sel] = src[idx[sel]]
    return w


def _in_place(plan, rows, dtype):
    """Whether threads can run the kernels straight on the output array.

    True for real data when no row gather sits after the first kernel step, and the
    output, allocated with all ``N`` rows, wastes at most half of itself (saves one
    copy of the whole result: measured 0.5-0.9 ms of 4.6 ms at 4096 x 256).
    """
    return (dtype.kind != "c" and plan.gather_out is None and not plan.has_gathers
            and 2 * rows >= plan.size)


def _run_in_place(packed, plan, x, rows, dtype, c0, c1, out, paired=False):
    """Fill columns ``c0:c1`` of ``out`` (N rows) from ``x`` and apply the plan there."""
    cpu = _cpu() if plan.segments else None
    _fill(out[:, c0:c1], x[:, c0:c1], plan.gather_in, 0, plan.size)
    tile, slab = _tiling(plan, c1 - c0, out.itemsize)
    for steps, phases in plan.segments:
        cpu.apply_real(packed, steps, phases, plan.chunk, slab, out, c0, c1, tile, _NO_SYNC, 0, 1)


def _run_block(packed, plan, x, rows, dtype, c0, c1, out, paired=False):
    """Apply the plan to columns ``c0:c1`` of the 2-D ``x``; write or return the result.

    ``paired``: ``x`` is a real block applied by the complex ``dtype``, two columns per
    complex column; ``c0:c1`` are complex columns and ``out`` (if given) is real.
    """
    cpu = _cpu() if plan.segments else None
    n = plan.size
    complex_ = dtype.kind == "c"
    real_dtype = np.finfo(dtype).dtype
    kb = c1 - c0
    srcs = _sources(x, c0, c1, complex_, paired)
    # A real result returned straight from its work array (no gathers, no shared output)
    # is a view of it, so that one must be fresh; every other work array is scratch.
    keep_fresh = out is None and not complex_ and not plan.has_gathers
    work = [
        _fill(np.empty((n, kb), real_dtype) if keep_fresh
              else _scratch_array(("in", part), (n, kb), real_dtype), src, plan.gather_in, 0, n)
        for part, src in enumerate(srcs)
    ]
    ngathers = 0
    tile, slab = _tiling(plan, kb, real_dtype.itemsize * len(work))
    for seg in plan.segments:
        if not isinstance(seg, tuple):
            # gathers alternate between two scratch sets (never in place)
            slot = ngathers % 2
            ngathers += 1
            work = [
                np.take(w, seg, axis=0, out=_scratch_array(("g", slot, i), w.shape, w.dtype),
                        mode="clip")
                for i, w in enumerate(work)
            ]
            continue
        steps, phases = seg
        head = (steps, phases, plan.chunk, slab)
        if complex_:
            cpu.apply_complex(packed[0], packed[1], *head, work[0], work[1], 0, kb, tile,
                              _NO_SYNC, 0, 1)
        else:
            cpu.apply_real(packed, *head, work[0], 0, kb, tile, _NO_SYNC, 0, 1)
    sel = slice(0, rows) if plan.gather_out is None else plan.gather_out[:rows]
    if paired:
        k = x.shape[1]
        if out is None:
            out = np.empty((rows, k), dtype=real_dtype)
        _store(out, work, sel, (c0, c1, (k + 1) // 2))
        return out
    if out is None:
        if not complex_:
            res = work[0][sel]
            return res if keep_fresh or plan.gather_out is not None else res.copy()
        out = np.empty((rows, kb), dtype=dtype)
        _store(out, work, sel)
        return out
    _store(out[:, c0:c1], work, sel)
    return out


def _row_parts(plan, k, width_bytes, nthreads):
    """Threads that can share one ``(N, k)`` work array by rows, phase by phase (1: none).

    At most ``nthreads``, and no more than any phase has chunks (or slabs). The plan
    must start and end with a kernel segment (the shared path fills the work array
    before it and copies the result out after it).
    """
    n = plan.size
    segs = plan.segments
    if (n * k * width_bytes < _PARALLEL_MIN_BYTES or not segs
            or not isinstance(segs[0], tuple) or not isinstance(segs[-1], tuple)):
        return 1
    if nthreads == 1:
        return 1
    _, slab = _tiling(plan, k, width_bytes)
    units = [n // plan.chunk if kind == 0 else plan.chunk // slab for kind in plan.phases[:, 0]]
    return min(nthreads, *units)


def _run_rows(packed, plan, x, rows, dtype, nparts, paired=False):
    """Apply the plan to the 2-D ``x`` on up to ``nparts`` threads sharing one work array.

    Stage by stage, each complete before the next starts: fill the work array (blocks of
    rows), every kernel segment (its phases' chunks or slabs, shared inside the kernel
    call) and row gather between segments (blocks of rows), copy the result out (blocks
    of rows). Whole-batch tiles amortize each 2x2 map's loads over every column (4096 x
    256 float64: 2.8 ms against 3.4-3.6 ms with column blocks). ``paired``: as in
    :func:`_run_block`.
    """
    cpu = _cpu()
    n, kx = plan.size, x.shape[1]
    k = (kx + 1) // 2 if paired else kx  # kernel columns
    complex_ = dtype.kind == "c"
    real_dtype = np.finfo(dtype).dtype
    srcs = _sources(x, 0, k, complex_, paired)
    in_place = _in_place(plan, rows, dtype)
    out = np.empty((n if in_place else rows, kx), dtype=real_dtype if paired else dtype)
    work = [out] if in_place else [
        _scratch_array(("in", i), (n, k), real_dtype) for i in range(len(srcs))
    ]
    spare = [_scratch_array(("g", 0, i), (n, k), real_dtype) for i in range(len(srcs))
             ] if plan.has_gathers else None
    tile, slab = _tiling(plan, k, real_dtype.itemsize * len(srcs))
    nblocks = min(n, _ROW_UNITS_PER_THREAD * nparts)
    # one array of counters per stage: the fill, each segment (a kernel's: one stage per
    # phase), the output copy
    syncs = [counters(len(seg[1]) if isinstance(seg, tuple) else 1, nparts)[0]
             for seg in [None, *plan.segments, None]]

    def rows_of(u):
        return u * n // nblocks, (u + 1) * n // nblocks

    def fill(u):
        r0, r1 = rows_of(u)
        for w, src in zip(work, srcs):
            _fill(w, src, plan.gather_in, r0, r1)

    def job(part):
        share(syncs[0], 0, nblocks, fill, part, nparts)
        cur, other = work, spare
        for seg, sync in zip(plan.segments, syncs[1:]):
            if not isinstance(seg, tuple):
                def gather(u, cur=cur, other=other, seg=seg):
                    r0, r1 = rows_of(u)
                    for a, b in zip(cur, other):
                        np.take(a, seg[r0:r1], axis=0, out=b[r0:r1], mode="clip")

                share(sync, 0, nblocks, gather, part, nparts)
                cur, other = other, cur
                continue
            head = (seg[0], seg[1], plan.chunk, slab)
            if complex_:
                cpu.apply_complex(*packed, *head, *cur, 0, k, tile, sync, part, nparts)
            else:
                cpu.apply_real(packed, *head, cur[0], 0, k, tile, sync, part, nparts)
        if in_place:
            return

        def store(u):
            r0, r1 = rows_of(u)
            o0, o1 = min(r0, rows), min(r1, rows)
            sel = slice(o0, o1) if plan.gather_out is None else plan.gather_out[o0:o1]
            _store(out[o0:o1], cur, sel, (0, k, k) if paired else None)

        share(syncs[-1], 0, nblocks, store, part, nparts)

    run_shared(job, nparts, syncs)
    return out[:rows]


def _apply_vector(packed, plan, x, rows, dtype):
    # one compiled call does the whole matvec (see kmatrix.kernels.cpu_vector)
    vec = _kernels("cpu_vector")
    x = np.ascontiguousarray(x, dtype=dtype)
    if dtype.kind == "c":
        return vec.run_complex(packed[0], packed[1], *plan.program, x, rows)
    return vec.run_real(packed, *plan.program, x, rows)


def apply_twiddle(packed, plan, x, rows, dtype, dense=None, workers=None, paired=False):
    """Return ``S_rows E S_cols^T x`` for a planned twiddle.

    ``packed`` is :func:`~kmatrix.backends.cpu.plan.pack` of the twiddle cast to ``dtype`` -- for a
    complex ``dtype`` a pair ``(real, imag)`` of packed arrays; ``plan`` its
    :class:`~kmatrix.backends.cpu.plan.Plan`. ``x`` is a host array of shape ``(cols,)`` or
    ``(cols, k)``, ``cols <= N``. ``dense``, when given, is the ``(rows, cols)`` matrix,
    used instead of the kernel (small operators, where BLAS wins). ``workers``: the
    threads a large batch may use (None: :func:`~kmatrix._threads.get_workers`).
    ``paired``: the twiddle's product is a real matrix and ``x`` a finite real
    ``(cols, k)`` block of the precision of ``dtype`` (complex); columns ``j`` and
    ``j + ceil(k/2)`` run as the real and imaginary parts of one complex column, and
    the result is real (see :mod:`kmatrix._realmatrix`).
    """
    if dense is not None:
        # ndarray.dot, as the `@` fast path uses: every entry point gives identical bits
        return dense.dot(x.astype(dtype, copy=False))
    if x.ndim == 1:
        return _apply_vector(packed, plan, x, rows, dtype)
    kx = x.shape[1]
    if kx == 0:
        return np.zeros((rows, 0), dtype=x.dtype if paired else dtype)
    k = (kx + 1) // 2 if paired else kx  # kernel columns
    width = np.finfo(dtype).dtype.itemsize * (2 if dtype.kind == "c" else 1)
    nthreads = 1 if plan.size * k * width < _PARALLEL_MIN_BYTES else threads_for(workers)
    nparts = _row_parts(plan, k, width, nthreads)
    if nparts > 1:
        return _run_rows(packed, plan, x, rows, dtype, nparts, paired)
    blocks = _column_blocks(plan.size, k, width, nthreads)
    if len(blocks) == 1:
        return _run_block(packed, plan, x, rows, dtype, 0, k, None, paired)
    in_place = _in_place(plan, rows, dtype)
    out_dtype = np.finfo(dtype).dtype if paired else dtype
    out = np.empty((plan.size if in_place else rows, kx), dtype=out_dtype)
    run = _run_in_place if in_place else _run_block
    counter = counters(1, len(blocks))[0]

    def job(part):
        share(counter, 0, len(blocks),
              lambda u: run(packed, plan, x, rows, dtype, *blocks[u], out, paired),
              part, len(blocks))

    run_shared(job, len(blocks), [counter])
    return out[:rows]

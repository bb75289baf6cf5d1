"""Launch planning for the numba.cuda kernels (host code; no kernel is compiled here).

The shared-memory pass (:func:`kmatrix.kernels.cuda.pass_kernel`) applies a run of
consecutive factors whose stride bits lie in one window of index bits ``[h, h + s)``;
:func:`plan_passes` cuts the ``2 * w * m`` factors into such runs by a greedy scan: with
``E = TILE_BYTES / itemsize`` tile entries, a window may be ``log2(E / min(L,
LANE_BYTES / itemsize))`` bits wide (a tile row is at least one 32-byte sector), so it
spans every stride up to N = 1024 (one launch for the whole operator) and 10 bits of a
larger one (3 launches for a BB* at N = 4096 .. 2**20).

The single-launch plan (:func:`plan_single`, off by default: :data:`SINGLE_LAUNCH`)
applies every factor in one launch of :func:`kmatrix.kernels.cuda_tile.tile_kernel`
wherever a whole column of ``N`` entries fits one block's dynamic shared memory with
the device's opt-in limit (:mod:`.shared`; 227 KiB on an H100 or H200: complex64 up to
N = 16384, float32 up to N = 32768): one read and one write of the array.  Whether it
is faster than the default plan has to be measured on each GPU
(``benchmarks/bench_gpu.py`` times both).

The register pass (:func:`kmatrix.kernels.cuda_register.register_pass_kernel`) holds 16
entries per thread in registers and applies runs whose stride bits span at most 4 bits.
Which pass is faster was measured on an H200 (both in one process, identical results):
the register pass took 0.53-0.79x the time at 2**24 entries (N = 4096, 4096 columns;
N = 65536, 256 columns) and 0.75x at N = 16384, 256 columns, but 1.12-1.27x at N = 4096
with 16 to 256 columns and at N = 1024 with 4096 (N = 4096 with 1024 columns: 0.85x in
float64, 1.04x in complex128).  :func:`use_register_passes` encodes that.
"""

__all__ = [
    "TILE_BYTES", "LANE_BYTES", "MAX_THREADS", "MAX_GRID", "Pass", "plan_passes", "factor_bit",
    "bit_runs", "threads_for", "launch_shape", "ilog2_or_minus1", "device_twiddle_layout",
    "REGISTER_BITS", "REGISTER_MIN_LANES", "REGISTER_MIN_ENTRIES", "REGISTER_WIDE_ROWS",
    "REGISTER_WIDE_LANES", "RegisterPass", "use_register_passes", "plan_register_passes",
    "register_launch", "backward_shape", "SINGLE_LAUNCH", "SINGLE_LANE_BYTES", "SINGLE_THREADS",
    "SinglePass", "single_lanes", "plan_single",
]

import os
from collections import namedtuple

import numpy as np
from numba.core.config import ENABLE_CUDASIM

TILE_BYTES = 32768  # shared-memory tile of one block; two or more blocks fit an SM
LANE_BYTES = 32  # shortest contiguous row segment a block loads (one 32-byte sector)
# The simulator runs one Python thread per GPU thread: keep its blocks and grids small.
MAX_THREADS = 32 if ENABLE_CUDASIM else 256
MAX_GRID = 1 if ENABLE_CUDASIM else 8192  # grid-stride kernels

Pass = namedtuple("Pass", "f0 nf h s lb_sh nph n_lanes n_hi grid threads shared")
Pass.__doc__ = """One launch of :func:`pass_kernel`: factors ``f0 : f0 + nf`` in bit window
``[h, h + s)``, tiles of ``2**s`` positions by ``2**lb_sh`` lanes, ``nph`` blocks per
outer chunk, ``grid = n_hi * nph`` blocks of ``threads`` threads, ``shared`` bytes each."""


def factor_bit(f, m):
    """Stride bit ``log2(stride)`` of flat factor ``f = block * m + j``."""
    blk, j = divmod(f, m)
    return m - 1 - j if blk % 2 == 0 else j


def _log2_floor(n):
    return int(n).bit_length() - 1


def threads_for(tile):
    """Block size for a tile of ``tile`` entries: one radix-4 group per thread, capped."""
    return int(min(MAX_THREADS, max(1, 1 << max(0, _log2_floor(max(1, tile // 4))))))


_PLANS = {}
_PLANS_MAX = 512


def plan_passes(nblocks, m, k, itemsize):
    """Cut the ``nblocks * m`` factors into launches; return a tuple of :class:`Pass`.

    Plans are memoized (planning costs tens of microseconds of Python, as much as a
    small launch); the key holds the tile constants, so changing them replans.
    """
    key = (nblocks, m, k, itemsize, TILE_BYTES, LANE_BYTES, MAX_THREADS)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        plan = _PLANS[key] = tuple(_plan(nblocks, m, k, itemsize))
    return plan


def _plan(nblocks, m, k, itemsize):
    """The planner behind :func:`plan_passes` (a list of :class:`Pass`).

    A run of consecutive factors with stride bits in ``[lo, hi]`` fits one launch when
    ``hi - lo < log2(E / min(2**lo * k, lanes_min))`` with ``E`` the tile entries;
    runs are extended greedily.  Launch geometry: ``L = 2**h * k`` lanes, ``2**s``
    positions; a tile takes ``Lb = min(E >> s, pow2ceil(L))`` lanes and ``nph =
    ceil(L / Lb)`` blocks cover one outer chunk.  (A run stops either at the top bit,
    leaving one outer chunk, or because its window is as wide as allowed, leaving
    ``E >> s <= L``: so a tile never has room for a second outer chunk.)
    """
    elems = TILE_BYTES // itemsize
    lanes_min = max(1, LANE_BYTES // itemsize)
    n = 1 << m

    def width(h):
        return _log2_floor(elems // min((1 << h) * k, lanes_min))

    plan = []
    for start, end, lo, hi in bit_runs(nblocks, m, width):
        h, s = lo, hi - lo + 1
        n_lanes = (1 << h) * k
        n_hi = n >> (h + s)
        lb = min(elems >> s, 1 << (n_lanes - 1).bit_length())
        nph = -(-n_lanes // lb)
        tile = (1 << s) * lb
        plan.append(
            Pass(start, end - start, h, s, _log2_floor(lb), nph, n_lanes, n_hi, n_hi * nph,
                 threads_for(tile), tile * itemsize)
        )
    return plan


def bit_runs(nblocks, m, width):
    """Greedy runs of consecutive factors: yield ``(start, end, lo, hi)`` for factors
    ``start : end`` whose stride bits span ``[lo, hi]``, each run grown while
    ``hi - lo < width(lo)``."""
    bits = [factor_bit(f, m) for f in range(nblocks * m)]
    start = 0
    while start < len(bits):
        lo = hi = bits[start]
        end = start + 1
        while end < len(bits):
            nlo, nhi = min(lo, bits[end]), max(hi, bits[end])
            if nhi - nlo >= width(nlo):
                break
            lo, hi = nlo, nhi
            end += 1
        yield start, end, lo, hi
        start = end


def device_twiddle_layout(twiddle, dtype):
    """Host twiddle ``(2w, m, N/2, 2, 2)`` as the contiguous ``(2w*m, 4, N/2)`` of ``dtype``.

    Entry ``[f, 2*a + b, i]`` is ``t[a, b]`` of pair ``i`` of flat factor ``f``.
    """
    nb, m, half = twiddle.shape[:3]
    flat = twiddle.reshape(nb * m, half, 4).astype(dtype, copy=False)
    return np.ascontiguousarray(flat.transpose(0, 2, 1))


def launch_shape(total):
    """``(grid, block)`` for a grid-stride loop over ``total`` entries."""
    block = MAX_THREADS
    return max(1, min(-(-total // block), MAX_GRID)), block


def ilog2_or_minus1(k):
    """``log2(k)`` when ``k`` is a power of two, else ``-1``."""
    return _log2_floor(k) if k > 0 and k & (k - 1) == 0 else -1


# ---------------------------------------------------------------------- register pass
REGISTER_BITS = 4  # 16 entries per thread
REGISTER_MIN_LANES = 32  # a warp's worth of columns: whole rows per warp, shared twiddles
REGISTER_MIN_ENTRIES = 1 << 24  # N * k from which the register pass is faster (measured)
REGISTER_WIDE_ROWS = 1 << 14  # ... or from this many rows
REGISTER_WIDE_LANES = 256  # ... with this many columns

RegisterPass = namedtuple("RegisterPass", "f0 nf L")
RegisterPass.__doc__ = """One launch of :func:`register_pass_kernel`: factors ``f0 : f0 + nf``,
register window ``[L, L + 4)``."""

_REGISTER_PLANS = {}


def use_register_passes(m, k):
    """Whether ``N = 2**m`` rows by ``k`` columns run on the register pass (see above)."""
    if m < REGISTER_BITS or k < REGISTER_MIN_LANES:
        return False
    if (k << m) >= REGISTER_MIN_ENTRIES:
        return True
    return (1 << m) >= REGISTER_WIDE_ROWS and k >= REGISTER_WIDE_LANES


def plan_register_passes(nblocks, m):
    """Cut the ``nblocks * m`` factors into runs whose stride bits span at most 4 bits.

    Greedy: a run grows while ``max(bits) - min(bits) < 4``; its window starts at
    ``L = min(min(bits), m - 4)``, so it holds every bit of the run.  Memoized.
    """
    key = (nblocks, m)
    plan = _REGISTER_PLANS.get(key)
    if plan is not None:
        return plan
    plan = _REGISTER_PLANS[key] = tuple(
        RegisterPass(start, end - start, min(lo, m - REGISTER_BITS))
        for start, end, lo, _ in bit_runs(nblocks, m, lambda lo: REGISTER_BITS)
    )
    return plan


def register_launch(n, k):
    """``(grid, block)`` covering the ``n // 16 * k`` threads of one launch."""
    total = (n >> REGISTER_BITS) * k
    block = min(MAX_THREADS, max(1, total))
    return -(-total // block), block


# ---------------------------------------------------------------------- vjp
def backward_shape(half, k):
    """``(grid, (Tc, Tp), shared entries)`` for :func:`factor_backward`: ``Tc`` threads
    over the columns (a power of two, at most 128), ``Tp = 128 // Tc`` pairs a block."""
    total = min(MAX_THREADS, 128)
    # the simulator pays per barrier: more pairs per block there, fewer reduction rounds
    tc = min(total // 8 if ENABLE_CUDASIM else total, 1 << max(0, (k - 1).bit_length()))
    tp = max(1, total // tc)
    grid = max(1, min(-(-half // tp), MAX_GRID))
    return grid, (tc, tp), 4 * tc * tp


# ---------------------------------------------------------------------- single launch
def _env_flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


# Read once at import; set ``plan.SINGLE_LAUNCH`` at run time to switch (plans are
# kept per setting, so switching back and forth replans nothing twice).
SINGLE_LAUNCH = _env_flag("KMATRIX_CUDA_SINGLE_LAUNCH")
SINGLE_LANE_BYTES = 32  # columns a single-launch block holds: at most a 32-byte row segment
SINGLE_THREADS = 32 if ENABLE_CUDASIM else 256  # block size cap of the single-launch kernels

SinglePass = namedtuple("SinglePass", "nf lb_sh grid threads shared")
SinglePass.__doc__ = """The one launch of :func:`tile_kernel` (or :func:`tile_vjp_kernel`):
all ``nf`` factors, ``2**lb_sh`` columns a block, ``grid`` blocks of ``threads`` threads,
``shared`` bytes of dynamic shared memory each."""


def single_lanes(n, k, itemsize, limit):
    """Columns per block of the single-launch kernels (a power of two), or 0 when one
    column of ``n`` entries does not fit ``limit`` bytes of shared memory.

    At most ``SINGLE_LANE_BYTES`` of a row (consecutive columns are one contiguous
    segment of a C-order ``(n, k)`` array), at most ``k`` rounded up to a power of two,
    and as many as fit ``limit``.
    """
    column = n * itemsize
    if k < 1 or column > limit:
        return 0
    lanes = min(max(1, SINGLE_LANE_BYTES // itemsize), 1 << (k - 1).bit_length(),
                limit // column)
    return 1 << _log2_floor(lanes)


def plan_single(nblocks, m, k, itemsize, limit):
    """The :class:`SinglePass` applying all ``nblocks * m`` factors to ``N = 2**m`` rows
    by ``k`` columns within ``limit`` bytes of shared memory a block, or None when a
    column does not fit."""
    lanes = single_lanes(1 << m, k, itemsize, limit)
    if not lanes:
        return None
    tile = (1 << m) * lanes
    threads = int(min(SINGLE_THREADS, 1 << max(0, _log2_floor(max(1, tile // 4)))))
    return SinglePass(nblocks * m, _log2_floor(lanes), -(-k // lanes), threads, tile * itemsize)

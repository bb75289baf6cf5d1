"""Numba CPU kernels that apply a whole planned butterfly product in one call.

The plan (:mod:`kmatrix.backends.cpu.plan`) hands the kernels a list of *steps* -- one factor, or two
adjacent factors of a block fused ("radix-4": the entries ``base + {0, a, b, a + b}``
are loaded once, both 2x2 maps applied, stored once) -- with their 2x2 maps *packed*
contiguously in the order the kernel reads them, and a list of *phases*:

* a chunk phase holds steps whose strides are all ``< C``: they act inside aligned
  chunks of ``C`` rows, so the kernel runs all of them on one chunk while it is in cache;
* a slab phase holds steps whose strides are all ``>= C``: they act on rows with equal
  ``row mod C``, so the kernel runs all of them on the slab of rows with
  ``row mod C`` in ``[l0, l0 + L)`` while it is in cache.

A BB* is then three sweeps over the data instead of one per factor ("four-step"
blocking). Data is an ``(N, k)`` C-ordered array; within a chunk or slab the kernel
walks column tiles and the innermost loop runs over the batch, so it vectorizes.
Complex data is planar (separate real and imaginary arrays). Kernels work in place,
on the column range ``c0:c1``, and release the GIL; threads sharing an array take its
chunks or slabs one at a time, each its own share first (:mod:`kmatrix.kernels.sync`).
"""

__all__ = [
    "TILE",
    "apply_real",
    "apply_complex",
]

from numba import njit, uint64

from .sync import finish, take, wait_done

TILE = 256  # max columns per tile: wider tiles amortize twiddle loads (measured best)
JIT_OPTIONS = dict(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")


@njit(inline="always")
def log2_int(v):
    sh = 0
    while (1 << sh) < v:
        sh += 1
    return sh


@njit(inline="always")
def group_base(g, lo, sh):
    # insert two zero bits at positions sh = log2(lo) and sh + 1 of g (shifts: an integer
    # division here cost more than the arithmetic it indexes)
    return ((g >> sh) << (sh + 2)) | (g & (lo - 1))


@njit(inline="always")
def pair_base(i, st, sh):
    # insert one zero bit at position sh = log2(st) of i
    return ((i >> sh) << (sh + 1)) | (i & (st - 1))


@njit(**JIT_OPTIONS)
def _fused_real(pk, off, a, b, x, g0, g1, gstep, l0, l1, t0, tb):
    lo = min(a, b)
    sh = log2_int(lo)
    for gg in range(g0, g1):
        for l in range(l0, l1):
            g = gg * gstep + l
            x0 = group_base(g, lo, sh)
            x1 = x0 + a
            x2 = x0 + b
            x3 = x1 + b
            o = uint64(off + 16 * g)
            a00 = pk[o]; a01 = pk[o + 1]; a10 = pk[o + 2]; a11 = pk[o + 3]
            b00 = pk[o + 4]; b01 = pk[o + 5]; b10 = pk[o + 6]; b11 = pk[o + 7]
            c00 = pk[o + 8]; c01 = pk[o + 9]; c10 = pk[o + 10]; c11 = pk[o + 11]
            d00 = pk[o + 12]; d01 = pk[o + 13]; d10 = pk[o + 14]; d11 = pk[o + 15]
            # unsigned indices: no negative-index wraparound, so the loop vectorizes
            r0 = uint64(x0); r1 = uint64(x1); r2 = uint64(x2); r3 = uint64(x3)
            for c in range(uint64(t0), uint64(t0 + tb)):
                v0 = x[r0, c]; v1 = x[r1, c]; v2 = x[r2, c]; v3 = x[r3, c]
                u0 = a00 * v0 + a01 * v1
                u1 = a10 * v0 + a11 * v1
                u2 = b00 * v2 + b01 * v3
                u3 = b10 * v2 + b11 * v3
                x[r0, c] = c00 * u0 + c01 * u2
                x[r2, c] = c10 * u0 + c11 * u2
                x[r1, c] = d00 * u1 + d01 * u3
                x[r3, c] = d10 * u1 + d11 * u3


@njit(**JIT_OPTIONS)
def _single_real(pk, off, st, x, i0, i1, istep, l0, l1, t0, tb):
    sh = log2_int(st)
    for ii in range(i0, i1):
        for l in range(l0, l1):
            i = ii * istep + l
            p = pair_base(i, st, sh)
            q = p + st
            o = uint64(off + 4 * i)
            t00 = pk[o]; t01 = pk[o + 1]; t10 = pk[o + 2]; t11 = pk[o + 3]
            rp = uint64(p); rq = uint64(q)
            for c in range(uint64(t0), uint64(t0 + tb)):
                vp = x[rp, c]; vq = x[rq, c]
                x[rp, c] = t00 * vp + t01 * vq
                x[rq, c] = t10 * vp + t11 * vq


@njit(**JIT_OPTIONS)
def _fused_complex(pr, pi, off, a, b, xr, xi, g0, g1, gstep, l0, l1, t0, tb):
    lo = min(a, b)
    sh = log2_int(lo)
    for gg in range(g0, g1):
        for l in range(l0, l1):
            g = gg * gstep + l
            x0 = group_base(g, lo, sh)
            x1 = x0 + a
            x2 = x0 + b
            x3 = x1 + b
            o = uint64(off + 16 * g)
            ar00 = pr[o]; ar01 = pr[o + 1]; ar10 = pr[o + 2]; ar11 = pr[o + 3]
            br00 = pr[o + 4]; br01 = pr[o + 5]; br10 = pr[o + 6]; br11 = pr[o + 7]
            cr00 = pr[o + 8]; cr01 = pr[o + 9]; cr10 = pr[o + 10]; cr11 = pr[o + 11]
            dr00 = pr[o + 12]; dr01 = pr[o + 13]; dr10 = pr[o + 14]; dr11 = pr[o + 15]
            ai00 = pi[o]; ai01 = pi[o + 1]; ai10 = pi[o + 2]; ai11 = pi[o + 3]
            bi00 = pi[o + 4]; bi01 = pi[o + 5]; bi10 = pi[o + 6]; bi11 = pi[o + 7]
            ci00 = pi[o + 8]; ci01 = pi[o + 9]; ci10 = pi[o + 10]; ci11 = pi[o + 11]
            di00 = pi[o + 12]; di01 = pi[o + 13]; di10 = pi[o + 14]; di11 = pi[o + 15]
            r0 = uint64(x0); r1 = uint64(x1); r2 = uint64(x2); r3 = uint64(x3)
            for c in range(uint64(t0), uint64(t0 + tb)):
                v0r = xr[r0, c]; v1r = xr[r1, c]; v2r = xr[r2, c]; v3r = xr[r3, c]
                v0i = xi[r0, c]; v1i = xi[r1, c]; v2i = xi[r2, c]; v3i = xi[r3, c]
                u0r = ar00 * v0r - ai00 * v0i + ar01 * v1r - ai01 * v1i
                u0i = ar00 * v0i + ai00 * v0r + ar01 * v1i + ai01 * v1r
                u1r = ar10 * v0r - ai10 * v0i + ar11 * v1r - ai11 * v1i
                u1i = ar10 * v0i + ai10 * v0r + ar11 * v1i + ai11 * v1r
                u2r = br00 * v2r - bi00 * v2i + br01 * v3r - bi01 * v3i
                u2i = br00 * v2i + bi00 * v2r + br01 * v3i + bi01 * v3r
                u3r = br10 * v2r - bi10 * v2i + br11 * v3r - bi11 * v3i
                u3i = br10 * v2i + bi10 * v2r + br11 * v3i + bi11 * v3r
                xr[r0, c] = cr00 * u0r - ci00 * u0i + cr01 * u2r - ci01 * u2i
                xi[r0, c] = cr00 * u0i + ci00 * u0r + cr01 * u2i + ci01 * u2r
                xr[r2, c] = cr10 * u0r - ci10 * u0i + cr11 * u2r - ci11 * u2i
                xi[r2, c] = cr10 * u0i + ci10 * u0r + cr11 * u2i + ci11 * u2r
                xr[r1, c] = dr00 * u1r - di00 * u1i + dr01 * u3r - di01 * u3i
                xi[r1, c] = dr00 * u1i + di00 * u1r + dr01 * u3i + di01 * u3r
                xr[r3, c] = dr10 * u1r - di10 * u1i + dr11 * u3r - di11 * u3i
                xi[r3, c] = dr10 * u1i + di10 * u1r + dr11 * u3i + di11 * u3r


@njit(**JIT_OPTIONS)
def _single_complex(pr, pi, off, st, xr, xi, i0, i1, istep, l0, l1, t0, tb):
    sh = log2_int(st)
    for ii in range(i0, i1):
        for l in range(l0, l1):
            i = ii * istep + l
            p = pair_base(i, st, sh)
            q = p + st
            o = uint64(off + 4 * i)
            r00 = pr[o]; r01 = pr[o + 1]; r10 = pr[o + 2]; r11 = pr[o + 3]
            m00 = pi[o]; m01 = pi[o + 1]; m10 = pi[o + 2]; m11 = pi[o + 3]
            rp = uint64(p); rq = uint64(q)
            for c in range(uint64(t0), uint64(t0 + tb)):
                vpr = xr[rp, c]; vpi = xi[rp, c]; vqr = xr[rq, c]; vqi = xi[rq, c]
                xr[rp, c] = r00 * vpr - m00 * vpi + r01 * vqr - m01 * vqi
                xi[rp, c] = r00 * vpi + m00 * vpr + r01 * vqi + m01 * vqr
                xr[rq, c] = r10 * vpr - m10 * vpi + r11 * vqr - m11 * vqi
                xi[rq, c] = r10 * vpi + m10 * vpr + r11 * vqi + m11 * vqr


@njit(**JIT_OPTIONS)
def _unit_real(pk, steps, s0, s1, kind, chunk, slab, x, outer, c0, c1, tb):
    # steps s0:s1 of one phase on chunk (kind 0) or slab (kind 1) number `outer`
    n = x.shape[0]
    for t0 in range(c0, c1, tb):
        w = min(tb, c1 - t0)
        for s in range(s0, s1):
            a = steps[s, 0]
            off = steps[s, 2]
            if steps[s, 3] == 2:
                if kind == 0:
                    q = chunk // 4
                    _fused_real(pk, off, a, steps[s, 1], x, outer, outer + 1, q, 0, q, t0, w)
                else:
                    l0 = outer * slab
                    _fused_real(pk, off, a, steps[s, 1], x, 0, n // (4 * chunk), chunk,
                                l0, l0 + slab, t0, w)
            else:
                if kind == 0:
                    h = chunk // 2
                    _single_real(pk, off, a, x, outer, outer + 1, h, 0, h, t0, w)
                else:
                    l0 = outer * slab
                    _single_real(pk, off, a, x, 0, n // (2 * chunk), chunk,
                                 l0, l0 + slab, t0, w)


@njit(**JIT_OPTIONS)
def _unit_complex(pr, pi, steps, s0, s1, kind, chunk, slab, xr, xi, outer, c0, c1, tb):
    # planar complex twin of _unit_real
    n = xr.shape[0]
    for t0 in range(c0, c1, tb):
        w = min(tb, c1 - t0)
        for s in range(s0, s1):
            a = steps[s, 0]
            off = steps[s, 2]
            if steps[s, 3] == 2:
                if kind == 0:
                    q = chunk // 4
                    _fused_complex(pr, pi, off, a, steps[s, 1], xr, xi, outer, outer + 1,
                                   q, 0, q, t0, w)
                else:
                    l0 = outer * slab
                    _fused_complex(pr, pi, off, a, steps[s, 1], xr, xi, 0,
                                   n // (4 * chunk), chunk, l0, l0 + slab, t0, w)
            else:
                if kind == 0:
                    h = chunk // 2
                    _single_complex(pr, pi, off, a, xr, xi, outer, outer + 1, h, 0, h, t0, w)
                else:
                    l0 = outer * slab
                    _single_complex(pr, pi, off, a, xr, xi, 0, n // (2 * chunk), chunk,
                                    l0, l0 + slab, t0, w)


@njit(**JIT_OPTIONS)
def apply_real(pk, steps, phases, chunk, slab, x, c0, c1, tb, sync, part, nparts):
    """Apply a planned real product in place to columns ``c0:c1`` of ``x`` (N, k).

    ``pk``: packed 2x2 maps; ``steps`` (int64, (S, 4)): ``(a, b, offset, nfactors)``
    with strides ``a`` (first) and ``b`` (second, fused steps only); ``phases`` (int64,
    (P, 3)): ``(kind, first step, end step)`` with kind 0 = chunk, 1 = slab; ``chunk``
    is ``C`` and ``slab`` is ``L`` (see the module docstring); ``tb`` the column tile.
    ``sync``: empty when one thread does the whole call; otherwise ``P (nparts + 1)``
    int64 counters, zero at the start, shared by the ``nparts`` threads that make this
    call at once on one array, this one being number ``part``: phase ``p`` uses
    ``sync[p (nparts + 1):]`` -- each thread takes its own share of the chunks (or
    slabs), then what is left of the others', and waits for the whole phase before the
    next (:mod:`kmatrix.kernels.sync`). Each returns once every phase is done.
    """
    n = x.shape[0]
    for ph in range(phases.shape[0]):
        kind = phases[ph, 0]
        s0 = phases[ph, 1]
        s1 = phases[ph, 2]
        nouter = n // chunk if kind == 0 else chunk // slab
        if sync.shape[0] == 0:
            for outer in range(nouter):
                _unit_real(pk, steps, s0, s1, kind, chunk, slab, x, outer, c0, c1, tb)
            continue
        base = ph * (nparts + 1)
        while True:
            outer = take(sync, base, part, nparts, nouter)
            if outer >= nouter:
                break
            _unit_real(pk, steps, s0, s1, kind, chunk, slab, x, outer, c0, c1, tb)
            finish(sync, base, nparts)
        wait_done(sync, base, nparts, nouter)


@njit(**JIT_OPTIONS)
def apply_complex(pr, pi, steps, phases, chunk, slab, xr, xi, c0, c1, tb, sync, part,
                  nparts):
    """Planar complex twin of :func:`apply_real` (maps ``pr + i pi``, data ``xr + i xi``)."""
    n = xr.shape[0]
    for ph in range(phases.shape[0]):
        kind = phases[ph, 0]
        s0 = phases[ph, 1]
        s1 = phases[ph, 2]
        nouter = n // chunk if kind == 0 else chunk // slab
        if sync.shape[0] == 0:
            for outer in range(nouter):
                _unit_complex(pr, pi, steps, s0, s1, kind, chunk, slab, xr, xi, outer, c0, c1,
                              tb)
            continue
        base = ph * (nparts + 1)
        while True:
            outer = take(sync, base, part, nparts, nouter)
            if outer >= nouter:
                break
            _unit_complex(pr, pi, steps, s0, s1, kind, chunk, slab, xr, xi, outer, c0, c1, tb)
            finish(sync, base, nparts)
        wait_done(sync, base, nparts, nouter)

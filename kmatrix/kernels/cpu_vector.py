"""Numba CPU kernels for one vector: the whole planned product in one compiled call.

A matvec is short (microseconds), so Python-level work around it -- splitting complex
input into planes, row gathers between kernel segments, assembling the output -- cost
as much as the arithmetic (measured: 20 of 38 us for a 1024-point DFT). Here the plan
is flattened into arrays (:attr:`kmatrix.backends.cpu.plan.Plan.program`) and :func:`run_real` /
:func:`run_complex` do all of it: gather and zero-pad the input into the work vector,
run the kernel segments and the gathers between them, gather the first rows out.
Loops are scalar (a single vector has no batch to vectorize over).
"""

__all__ = ["run_real", "run_complex"]

import numpy as np
from numba import njit, uint64

from .cpu import JIT_OPTIONS, group_base, log2_int, pair_base


@njit(**JIT_OPTIONS)
def _steps_real(pk, steps, s0, s1, x):
    # steps s0:s1 of a plan, in place on the vector x (length N)
    n = x.shape[0]
    for s in range(s0, s1):
        a = steps[s, 0]
        off = steps[s, 2]
        if steps[s, 3] == 2:
            b = steps[s, 1]
            lo = min(a, b)
            sh = log2_int(lo)
            for g in range(n // 4):
                # unsigned indices skip Numba's negative-index wraparound checks
                x0 = uint64(group_base(g, lo, sh))
                x1 = x0 + uint64(a)
                x2 = x0 + uint64(b)
                x3 = x1 + uint64(b)
                o = uint64(off + 16 * g)
                v0 = x[x0]; v1 = x[x1]; v2 = x[x2]; v3 = x[x3]
                u0 = pk[o] * v0 + pk[o + 1] * v1
                u1 = pk[o + 2] * v0 + pk[o + 3] * v1
                u2 = pk[o + 4] * v2 + pk[o + 5] * v3
                u3 = pk[o + 6] * v2 + pk[o + 7] * v3
                x[x0] = pk[o + 8] * u0 + pk[o + 9] * u2
                x[x2] = pk[o + 10] * u0 + pk[o + 11] * u2
                x[x1] = pk[o + 12] * u1 + pk[o + 13] * u3
                x[x3] = pk[o + 14] * u1 + pk[o + 15] * u3
        else:
            sa = log2_int(a)
            for i in range(n // 2):
                p = uint64(pair_base(i, a, sa))
                q = p + uint64(a)
                o = uint64(off + 4 * i)
                vp = x[p]; vq = x[q]
                x[p] = pk[o] * vp + pk[o + 1] * vq
                x[q] = pk[o + 2] * vp + pk[o + 3] * vq


@njit(**JIT_OPTIONS)
def _steps_complex(pr, pi, steps, s0, s1, xr, xi):
    # planar complex twin of _steps_real
    n = xr.shape[0]
    for s in range(s0, s1):
        a = steps[s, 0]
        off = steps[s, 2]
        if steps[s, 3] == 2:
            b = steps[s, 1]
            lo = min(a, b)
            sh = log2_int(lo)
            for g in range(n // 4):
                # unsigned indices skip Numba's negative-index wraparound checks
                x0 = uint64(group_base(g, lo, sh))
                x1 = x0 + uint64(a)
                x2 = x0 + uint64(b)
                x3 = x1 + uint64(b)
                o = uint64(off + 16 * g)
                v0r = xr[x0]; v1r = xr[x1]; v2r = xr[x2]; v3r = xr[x3]
                v0i = xi[x0]; v1i = xi[x1]; v2i = xi[x2]; v3i = xi[x3]
                u0r = pr[o] * v0r - pi[o] * v0i + pr[o + 1] * v1r - pi[o + 1] * v1i
                u0i = pr[o] * v0i + pi[o] * v0r + pr[o + 1] * v1i + pi[o + 1] * v1r
                u1r = pr[o + 2] * v0r - pi[o + 2] * v0i + pr[o + 3] * v1r - pi[o + 3] * v1i
                u1i = pr[o + 2] * v0i + pi[o + 2] * v0r + pr[o + 3] * v1i + pi[o + 3] * v1r
                u2r = pr[o + 4] * v2r - pi[o + 4] * v2i + pr[o + 5] * v3r - pi[o + 5] * v3i
                u2i = pr[o + 4] * v2i + pi[o + 4] * v2r + pr[o + 5] * v3i + pi[o + 5] * v3r
                u3r = pr[o + 6] * v2r - pi[o + 6] * v2i + pr[o + 7] * v3r - pi[o + 7] * v3i
                u3i = pr[o + 6] * v2i + pi[o + 6] * v2r + pr[o + 7] * v3i + pi[o + 7] * v3r
                xr[x0] = pr[o + 8] * u0r - pi[o + 8] * u0i + pr[o + 9] * u2r - pi[o + 9] * u2i
                xi[x0] = pr[o + 8] * u0i + pi[o + 8] * u0r + pr[o + 9] * u2i + pi[o + 9] * u2r
                xr[x2] = pr[o + 10] * u0r - pi[o + 10] * u0i + pr[o + 11] * u2r - pi[o + 11] * u2i
                xi[x2] = pr[o + 10] * u0i + pi[o + 10] * u0r + pr[o + 11] * u2i + pi[o + 11] * u2r
                xr[x1] = pr[o + 12] * u1r - pi[o + 12] * u1i + pr[o + 13] * u3r - pi[o + 13] * u3i
                xi[x1] = pr[o + 12] * u1i + pi[o + 12] * u1r + pr[o + 13] * u3i + pi[o + 13] * u3r
                xr[x3] = pr[o + 14] * u1r - pi[o + 14] * u1i + pr[o + 15] * u3r - pi[o + 15] * u3i
                xi[x3] = pr[o + 14] * u1i + pi[o + 14] * u1r + pr[o + 15] * u3i + pi[o + 15] * u3r
        else:
            sa = log2_int(a)
            for i in range(n // 2):
                p = uint64(pair_base(i, a, sa))
                q = p + uint64(a)
                o = uint64(off + 4 * i)
                vpr = xr[p]; vpi = xi[p]; vqr = xr[q]; vqi = xi[q]
                xr[p] = pr[o] * vpr - pi[o] * vpi + pr[o + 1] * vqr - pi[o + 1] * vqi
                xi[p] = pr[o] * vpi + pi[o] * vpr + pr[o + 1] * vqi + pi[o + 1] * vqr
                xr[q] = pr[o + 2] * vpr - pi[o + 2] * vpi + pr[o + 3] * vqr - pi[o + 3] * vqi
                xi[q] = pr[o + 2] * vpi + pi[o + 2] * vpr + pr[o + 3] * vqi + pi[o + 3] * vqr


@njit(**JIT_OPTIONS)
def run_real(pk, steps, segs, gathers, gin, gout, x, rows):
    """Return the planned real product applied to the vector ``x`` (first ``rows`` entries).

    ``segs`` (int64, (G, 3)): ``(0, first step, end step)`` for a kernel segment or
    ``(1, g, 0)`` for the row gather ``gathers[g]``; ``gin``/``gout``: the input and
    output gathers, empty for none (see :class:`kmatrix.backends.cpu.plan.Plan`).
    """
    n = gathers.shape[1]
    w = np.empty(n, dtype=pk.dtype)
    t = np.empty(n, dtype=pk.dtype)
    cols = x.shape[0]
    for i in range(n):
        j = gin[i] if gin.shape[0] else i
        w[i] = x[j] if j < cols else 0
    for g in range(segs.shape[0]):
        if segs[g, 0] == 0:
            _steps_real(pk, steps, segs[g, 1], segs[g, 2], w)
        else:
            idx = gathers[segs[g, 1]]
            for i in range(n):
                t[i] = w[idx[i]]
            w, t = t, w
    out = np.empty(rows, dtype=pk.dtype)
    for i in range(rows):
        out[i] = w[gout[i] if gout.shape[0] else i]
    return out


@njit(**JIT_OPTIONS)
def run_complex(pr, pi, steps, segs, gathers, gin, gout, x, rows):
    """Planar complex twin of :func:`run_real` (``x`` interleaved complex, as returned)."""
    n = gathers.shape[1]
    wr = np.empty(n, dtype=pr.dtype)
    wi = np.empty(n, dtype=pr.dtype)
    tr = np.empty(n, dtype=pr.dtype)
    ti = np.empty(n, dtype=pr.dtype)
    cols = x.shape[0]
    for i in range(n):
        j = gin[i] if gin.shape[0] else i
        if j < cols:
            wr[i] = x[j].real
            wi[i] = x[j].imag
        else:
            wr[i] = 0
            wi[i] = 0
    for g in range(segs.shape[0]):
        if segs[g, 0] == 0:
            _steps_complex(pr, pi, steps, segs[g, 1], segs[g, 2], wr, wi)
        else:
            idx = gathers[segs[g, 1]]
            for i in range(n):
                tr[i] = wr[idx[i]]
                ti[i] = wi[idx[i]]
            wr, tr = tr, wr
            wi, ti = ti, wi
    out = np.empty(rows, dtype=x.dtype)
    for i in range(rows):
        j = gout[i] if gout.shape[0] else i
        out[i] = wr[j] + 1j * wi[j]
    return out

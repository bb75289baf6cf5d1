"""Numba CPU kernels that apply every factor of a twiddle in one call.

Two consecutive factors of a block are fused ("radix-4"): the four entries
``base + {0, a, b, a + b}`` are loaded once, both 2x2 maps applied, and stored once,
which halves the passes over the data.  Batched inputs are processed in column tiles
of ``TILE`` entries copied into a small contiguous buffer, so the innermost loop runs
over the batch and vectorizes; complex data is split into planar real/imaginary
buffers inside the kernel for the same reason.  Kernels work in place on an
``(N, k)`` C-ordered array (or a length-``N`` vector) and release the GIL, so Python
threads may run them on disjoint column ranges concurrently.
"""

__all__ = ["TILE", "apply_real", "apply_complex", "apply_real_vec", "apply_complex_vec"]

import numpy as np
from numba import njit

TILE = 64  # default column tile: twiddles are re-read once per tile
_OPTS = dict(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")


@njit(inline="always")
def _stride(blk, j, m):
    if blk % 2 == 0:
        return 1 << (m - 1 - j)
    return 1 << j


@njit(inline="always")
def _pair(p, st):
    # pair index of the pair (p, p + st): drop bit log2(st) of p
    return ((p // (2 * st)) * st) + (p & (st - 1))


@njit(inline="always")
def _group_base(g, lo):
    # insert two zero bits at positions log2(lo) and log2(lo) + 1 of g
    return ((g // lo) * (4 * lo)) + (g & (lo - 1))


@njit(**_OPTS)
def apply_real(tw, steps, x, c0, c1, tb):
    """Apply real twiddle ``tw`` in place to columns ``c0:c1`` of ``x`` (shape (N, k)).

    ``steps`` (int64, shape (S, 3)) lists what to apply, in order: ``(block, j, 2)``
    applies factors ``j`` and ``j + 1`` of ``block`` fused, ``(block, j, 1)`` factor
    ``j`` alone. Factors not listed (identities) are skipped.
    """
    nb, m, half = tw.shape[0], tw.shape[1], tw.shape[2]
    n = 2 * half
    buf = np.zeros((n, tb), dtype=x.dtype)
    for t0 in range(c0, c1, tb):
        w = min(tb, c1 - t0)
        for r in range(n):
            for c in range(w):
                buf[r, c] = x[r, t0 + c]
        for s in range(steps.shape[0]):
            blk = steps[s, 0]
            j = steps[s, 1]
            if steps[s, 2] == 2:
                a = _stride(blk, j, m)
                b = _stride(blk, j + 1, m)
                lo = min(a, b)
                for g in range(n // 4):
                    x0 = _group_base(g, lo)
                    x1 = x0 + a
                    x2 = x0 + b
                    x3 = x1 + b
                    i0 = _pair(x0, a)
                    i1 = _pair(x2, a)
                    k0 = _pair(x0, b)
                    k1 = _pair(x1, b)
                    a00 = tw[blk, j, i0, 0, 0]; a01 = tw[blk, j, i0, 0, 1]
                    a10 = tw[blk, j, i0, 1, 0]; a11 = tw[blk, j, i0, 1, 1]
                    b00 = tw[blk, j, i1, 0, 0]; b01 = tw[blk, j, i1, 0, 1]
                    b10 = tw[blk, j, i1, 1, 0]; b11 = tw[blk, j, i1, 1, 1]
                    c00 = tw[blk, j + 1, k0, 0, 0]; c01 = tw[blk, j + 1, k0, 0, 1]
                    c10 = tw[blk, j + 1, k0, 1, 0]; c11 = tw[blk, j + 1, k0, 1, 1]
                    d00 = tw[blk, j + 1, k1, 0, 0]; d01 = tw[blk, j + 1, k1, 0, 1]
                    d10 = tw[blk, j + 1, k1, 1, 0]; d11 = tw[blk, j + 1, k1, 1, 1]
                    for c in range(tb):
                        v0 = buf[x0, c]; v1 = buf[x1, c]; v2 = buf[x2, c]; v3 = buf[x3, c]
                        u0 = a00 * v0 + a01 * v1
                        u1 = a10 * v0 + a11 * v1
                        u2 = b00 * v2 + b01 * v3
                        u3 = b10 * v2 + b11 * v3
                        buf[x0, c] = c00 * u0 + c01 * u2
                        buf[x2, c] = c10 * u0 + c11 * u2
                        buf[x1, c] = d00 * u1 + d01 * u3
                        buf[x3, c] = d10 * u1 + d11 * u3
            else:
                st = _stride(blk, j, m)
                for i in range(half):
                    p = 2 * (i - (i & (st - 1))) + (i & (st - 1))
                    q = p + st
                    t00 = tw[blk, j, i, 0, 0]; t01 = tw[blk, j, i, 0, 1]
                    t10 = tw[blk, j, i, 1, 0]; t11 = tw[blk, j, i, 1, 1]
                    for c in range(tb):
                        vp = buf[p, c]; vq = buf[q, c]
                        buf[p, c] = t00 * vp + t01 * vq
                        buf[q, c] = t10 * vp + t11 * vq
        for r in range(n):
            for c in range(w):
                x[r, t0 + c] = buf[r, c]


@njit(**_OPTS)
def apply_complex(twr, twi, steps, x, c0, c1, tb):
    """Complex twin of :func:`apply_real`; the twiddle comes split as ``(twr, twi)``."""
    nb, m, half = twr.shape[0], twr.shape[1], twr.shape[2]
    n = 2 * half
    br = np.zeros((n, tb), dtype=twr.dtype)
    bi = np.zeros((n, tb), dtype=twr.dtype)
    for t0 in range(c0, c1, tb):
        w = min(tb, c1 - t0)
        for r in range(n):
            for c in range(w):
                v = x[r, t0 + c]
                br[r, c] = v.real
                bi[r, c] = v.imag
        for s in range(steps.shape[0]):
            blk = steps[s, 0]
            j = steps[s, 1]
            if steps[s, 2] == 2:
                a = _stride(blk, j, m)
                b = _stride(blk, j + 1, m)
                lo = min(a, b)
                for g in range(n // 4):
                    x0 = _group_base(g, lo)
                    x1 = x0 + a
                    x2 = x0 + b
                    x3 = x1 + b
                    i0 = _pair(x0, a)
                    i1 = _pair(x2, a)
                    k0 = _pair(x0, b)
                    k1 = _pair(x1, b)
                    ar00 = twr[blk, j, i0, 0, 0]; ar01 = twr[blk, j, i0, 0, 1]
                    ar10 = twr[blk, j, i0, 1, 0]; ar11 = twr[blk, j, i0, 1, 1]
                    ai00 = twi[blk, j, i0, 0, 0]; ai01 = twi[blk, j, i0, 0, 1]
                    ai10 = twi[blk, j, i0, 1, 0]; ai11 = twi[blk, j, i0, 1, 1]
                    br00 = twr[blk, j, i1, 0, 0]; br01 = twr[blk, j, i1, 0, 1]
                    br10 = twr[blk, j, i1, 1, 0]; br11 = twr[blk, j, i1, 1, 1]
                    bi00 = twi[blk, j, i1, 0, 0]; bi01 = twi[blk, j, i1, 0, 1]
                    bi10 = twi[blk, j, i1, 1, 0]; bi11 = twi[blk, j, i1, 1, 1]
                    cr00 = twr[blk, j + 1, k0, 0, 0]; cr01 = twr[blk, j + 1, k0, 0, 1]
                    cr10 = twr[blk, j + 1, k0, 1, 0]; cr11 = twr[blk, j + 1, k0, 1, 1]
                    ci00 = twi[blk, j + 1, k0, 0, 0]; ci01 = twi[blk, j + 1, k0, 0, 1]
                    ci10 = twi[blk, j + 1, k0, 1, 0]; ci11 = twi[blk, j + 1, k0, 1, 1]
                    dr00 = twr[blk, j + 1, k1, 0, 0]; dr01 = twr[blk, j + 1, k1, 0, 1]
                    dr10 = twr[blk, j + 1, k1, 1, 0]; dr11 = twr[blk, j + 1, k1, 1, 1]
                    di00 = twi[blk, j + 1, k1, 0, 0]; di01 = twi[blk, j + 1, k1, 0, 1]
                    di10 = twi[blk, j + 1, k1, 1, 0]; di11 = twi[blk, j + 1, k1, 1, 1]
                    for c in range(tb):
                        v0r = br[x0, c]; v1r = br[x1, c]; v2r = br[x2, c]; v3r = br[x3, c]
                        v0i = bi[x0, c]; v1i = bi[x1, c]; v2i = bi[x2, c]; v3i = bi[x3, c]
                        u0r = ar00 * v0r - ai00 * v0i + ar01 * v1r - ai01 * v1i
                        u0i = ar00 * v0i + ai00 * v0r + ar01 * v1i + ai01 * v1r
                        u1r = ar10 * v0r - ai10 * v0i + ar11 * v1r - ai11 * v1i
                        u1i = ar10 * v0i + ai10 * v0r + ar11 * v1i + ai11 * v1r
                        u2r = br00 * v2r - bi00 * v2i + br01 * v3r - bi01 * v3i
                        u2i = br00 * v2i + bi00 * v2r + br01 * v3i + bi01 * v3r
                        u3r = br10 * v2r - bi10 * v2i + br11 * v3r - bi11 * v3i
                        u3i = br10 * v2i + bi10 * v2r + br11 * v3i + bi11 * v3r
                        br[x0, c] = cr00 * u0r - ci00 * u0i + cr01 * u2r - ci01 * u2i
                        bi[x0, c] = cr00 * u0i + ci00 * u0r + cr01 * u2i + ci01 * u2r
                        br[x2, c] = cr10 * u0r - ci10 * u0i + cr11 * u2r - ci11 * u2i
                        bi[x2, c] = cr10 * u0i + ci10 * u0r + cr11 * u2i + ci11 * u2r
                        br[x1, c] = dr00 * u1r - di00 * u1i + dr01 * u3r - di01 * u3i
                        bi[x1, c] = dr00 * u1i + di00 * u1r + dr01 * u3i + di01 * u3r
                        br[x3, c] = dr10 * u1r - di10 * u1i + dr11 * u3r - di11 * u3i
                        bi[x3, c] = dr10 * u1i + di10 * u1r + dr11 * u3i + di11 * u3r
            else:
                st = _stride(blk, j, m)
                for i in range(half):
                    p = 2 * (i - (i & (st - 1))) + (i & (st - 1))
                    q = p + st
                    r00 = twr[blk, j, i, 0, 0]; r01 = twr[blk, j, i, 0, 1]
                    r10 = twr[blk, j, i, 1, 0]; r11 = twr[blk, j, i, 1, 1]
                    m00 = twi[blk, j, i, 0, 0]; m01 = twi[blk, j, i, 0, 1]
                    m10 = twi[blk, j, i, 1, 0]; m11 = twi[blk, j, i, 1, 1]
                    for c in range(tb):
                        pr = br[p, c]; pi = bi[p, c]; qr = br[q, c]; qi = bi[q, c]
                        br[p, c] = r00 * pr - m00 * pi + r01 * qr - m01 * qi
                        bi[p, c] = r00 * pi + m00 * pr + r01 * qi + m01 * qr
                        br[q, c] = r10 * pr - m10 * pi + r11 * qr - m11 * qi
                        bi[q, c] = r10 * pi + m10 * pr + r11 * qi + m11 * qr
        for r in range(n):
            for c in range(w):
                x[r, t0 + c] = br[r, c] + 1j * bi[r, c]


@njit(**_OPTS)
def apply_real_vec(tw, steps, x):
    """Apply real twiddle ``tw`` in place to the vector ``x`` (length N)."""
    nb, m, half = tw.shape[0], tw.shape[1], tw.shape[2]
    for s in range(steps.shape[0]):
        blk = steps[s, 0]
        for j in range(steps[s, 1], steps[s, 1] + steps[s, 2]):
            st = _stride(blk, j, m)
            for i in range(half):
                lo = i & (st - 1)
                p = 2 * (i - lo) + lo
                q = p + st
                vp = x[p]
                vq = x[q]
                x[p] = tw[blk, j, i, 0, 0] * vp + tw[blk, j, i, 0, 1] * vq
                x[q] = tw[blk, j, i, 1, 0] * vp + tw[blk, j, i, 1, 1] * vq


@njit(**_OPTS)
def apply_complex_vec(twr, twi, steps, x):
    """Apply a split complex twiddle in place to the complex vector ``x`` (planar inside)."""
    nb, m, half = twr.shape[0], twr.shape[1], twr.shape[2]
    n = 2 * half
    xr = np.empty(n, dtype=twr.dtype)
    xi = np.empty(n, dtype=twr.dtype)
    for r in range(n):
        xr[r] = x[r].real
        xi[r] = x[r].imag
    for s in range(steps.shape[0]):
        blk = steps[s, 0]
        for j in range(steps[s, 1], steps[s, 1] + steps[s, 2]):
            st = _stride(blk, j, m)
            for i in range(half):
                lo = i & (st - 1)
                p = 2 * (i - lo) + lo
                q = p + st
                pr = xr[p]; pi = xi[p]; qr = xr[q]; qi = xi[q]
                r00 = twr[blk, j, i, 0, 0]; r01 = twr[blk, j, i, 0, 1]
                r10 = twr[blk, j, i, 1, 0]; r11 = twr[blk, j, i, 1, 1]
                m00 = twi[blk, j, i, 0, 0]; m01 = twi[blk, j, i, 0, 1]
                m10 = twi[blk, j, i, 1, 0]; m11 = twi[blk, j, i, 1, 1]
                xr[p] = r00 * pr - m00 * pi + r01 * qr - m01 * qi
                xi[p] = r00 * pi + m00 * pr + r01 * qi + m01 * qr
                xr[q] = r10 * pr - m10 * pi + r11 * qr - m11 * qi
                xi[q] = r10 * pi + m10 * pr + r11 * qi + m11 * qr
    for r in range(n):
        x[r] = xr[r] + 1j * xi[r]

"""Numba CPU kernels for the vector-Jacobian product of a twiddle (reverse mode).

One call processes columns ``c0:c1`` of a batch in tiles of ``tb`` columns.  For each
tile the kernel runs the forward pass and *stores* the input of every factor on a
tape of shape ``(2w*m, N, tb)`` (nothing is recomputed), then sweeps the factors in
reverse.  For the factor ``y_p = t00 x_p + t01 x_q``, ``y_q = t10 x_p + t11 x_q`` with
saved input ``(x_p, x_q)`` and incoming gradient ``(g_p, g_q)`` (complex convention
``g = dL/dRe y + i dL/dIm y``):

    dt00 += g_p conj(x_p)   dt01 += g_p conj(x_q)
    dt10 += g_q conj(x_p)   dt11 += g_q conj(x_q)
    g_p <- conj(t00) g_p + conj(t10) g_q,   g_q <- conj(t01) g_p + conj(t11) g_q

(the last line is ``t^H g``).  Working memory is ``(2w*m + 2) * N * tb`` entries per
call, independent of the batch size: the host picks ``tb`` so that the tape stays
within a fixed budget.

``mode`` selects the incoming gradient: ``MODE_GIVEN`` reads it from ``g``;
``MODE_RESIDUAL`` treats ``g`` as a target ``Y`` and uses ``scale * (K x - Y)``, the
gradient of ``scale/2 * ||K x - Y||^2``, adding ``||K x - Y||^2`` to ``acc[0]`` (fused
least-squares loss and gradient in one pass over the data).

Inputs ``x`` (``cols x k``) and ``g`` (``rows x k``) are not padded: entries beyond
``cols`` / ``rows`` are treated as zeros.  The gradient with respect to ``x``
(``K^H g``) is written to ``out`` (``cols x k``), and the twiddle gradient is *added*
to ``dtw`` (real, or split ``dtwr, dtwi`` for complex), so that threads working on
disjoint column ranges each own an accumulator and the host sums them.
"""

__all__ = ["MODE_GIVEN", "MODE_RESIDUAL", "vjp_real", "vjp_complex"]

import numpy as np
from numba import njit

MODE_GIVEN = 0
MODE_RESIDUAL = 1

# "reassoc" lets LLVM vectorize the per-pair gradient sums over the tile (the order of
# a sum of tb products changes, nothing else); "contract" allows fused multiply-add.
_OPTS = dict(cache=True, nogil=True, fastmath={"contract", "reassoc"}, error_model="numpy")


@njit(inline="always")
def _stride(blk, j, m):
    if blk % 2 == 0:
        return 1 << (m - 1 - j)
    return 1 << j


@njit(**_OPTS)
def vjp_real(tw, x, g, out, mode, scale, dtw, acc, c0, c1, tb):
    """Real vjp over columns ``c0:c1``; see the module docstring for the contract."""
    nb, m, half = tw.shape[0], tw.shape[1], tw.shape[2]
    n = 2 * half
    cols = x.shape[0]
    rows = g.shape[0]
    tape = np.empty((nb * m, n, tb), dtype=tw.dtype)
    buf = np.empty((n, tb), dtype=tw.dtype)
    gb = np.empty((n, tb), dtype=tw.dtype)
    sq = 0.0
    for t0 in range(c0, c1, tb):
        w = min(tb, c1 - t0)
        buf[:] = 0
        for r in range(cols):
            for c in range(w):
                buf[r, c] = x[r, t0 + c]
        f = 0
        for blk in range(nb):
            for j in range(m):
                st = _stride(blk, j, m)
                for i in range(half):
                    lo = i & (st - 1)
                    p = 2 * (i - lo) + lo
                    q = p + st
                    t00 = tw[blk, j, i, 0, 0]; t01 = tw[blk, j, i, 0, 1]
                    t10 = tw[blk, j, i, 1, 0]; t11 = tw[blk, j, i, 1, 1]
                    for c in range(tb):
                        vp = buf[p, c]; vq = buf[q, c]
                        tape[f, p, c] = vp; tape[f, q, c] = vq
                        buf[p, c] = t00 * vp + t01 * vq
                        buf[q, c] = t10 * vp + t11 * vq
                f += 1
        gb[:] = 0
        for r in range(min(rows, n)):
            for c in range(w):
                if mode == MODE_RESIDUAL:
                    d = buf[r, c] - g[r, t0 + c]
                    sq += d * d
                    gb[r, c] = scale * d
                else:
                    gb[r, c] = g[r, t0 + c]
        for blk in range(nb - 1, -1, -1):
            for j in range(m - 1, -1, -1):
                f -= 1
                st = _stride(blk, j, m)
                for i in range(half):
                    lo = i & (st - 1)
                    p = 2 * (i - lo) + lo
                    q = p + st
                    t00 = tw[blk, j, i, 0, 0]; t01 = tw[blk, j, i, 0, 1]
                    t10 = tw[blk, j, i, 1, 0]; t11 = tw[blk, j, i, 1, 1]
                    s00 = 0.0; s01 = 0.0; s10 = 0.0; s11 = 0.0
                    for c in range(tb):
                        xp = tape[f, p, c]; xq = tape[f, q, c]
                        gp = gb[p, c]; gq = gb[q, c]
                        s00 += gp * xp; s01 += gp * xq
                        s10 += gq * xp; s11 += gq * xq
                        gb[p, c] = t00 * gp + t10 * gq
                        gb[q, c] = t01 * gp + t11 * gq
                    dtw[blk, j, i, 0, 0] += s00; dtw[blk, j, i, 0, 1] += s01
                    dtw[blk, j, i, 1, 0] += s10; dtw[blk, j, i, 1, 1] += s11
        for r in range(cols):
            for c in range(w):
                out[r, t0 + c] = gb[r, c]
    acc[0] += sq


@njit(**_OPTS)
def vjp_complex(twr, twi, x, g, out, mode, scale, dtwr, dtwi, acc, c0, c1, tb):
    """Complex twin of :func:`vjp_real`; twiddle and its gradient come split real/imag."""
    nb, m, half = twr.shape[0], twr.shape[1], twr.shape[2]
    n = 2 * half
    cols = x.shape[0]
    rows = g.shape[0]
    tr = np.empty((nb * m, n, tb), dtype=twr.dtype)
    ti = np.empty((nb * m, n, tb), dtype=twr.dtype)
    br = np.empty((n, tb), dtype=twr.dtype)
    bi = np.empty((n, tb), dtype=twr.dtype)
    gr = np.empty((n, tb), dtype=twr.dtype)
    gi = np.empty((n, tb), dtype=twr.dtype)
    sq = 0.0
    for t0 in range(c0, c1, tb):
        w = min(tb, c1 - t0)
        br[:] = 0
        bi[:] = 0
        for r in range(cols):
            for c in range(w):
                v = x[r, t0 + c]
                br[r, c] = v.real
                bi[r, c] = v.imag
        f = 0
        for blk in range(nb):
            for j in range(m):
                st = _stride(blk, j, m)
                for i in range(half):
                    lo = i & (st - 1)
                    p = 2 * (i - lo) + lo
                    q = p + st
                    r00 = twr[blk, j, i, 0, 0]; r01 = twr[blk, j, i, 0, 1]
                    r10 = twr[blk, j, i, 1, 0]; r11 = twr[blk, j, i, 1, 1]
                    m00 = twi[blk, j, i, 0, 0]; m01 = twi[blk, j, i, 0, 1]
                    m10 = twi[blk, j, i, 1, 0]; m11 = twi[blk, j, i, 1, 1]
                    for c in range(tb):
                        pr = br[p, c]; pi = bi[p, c]; qr = br[q, c]; qi = bi[q, c]
                        tr[f, p, c] = pr; ti[f, p, c] = pi
                        tr[f, q, c] = qr; ti[f, q, c] = qi
                        br[p, c] = r00 * pr - m00 * pi + r01 * qr - m01 * qi
                        bi[p, c] = r00 * pi + m00 * pr + r01 * qi + m01 * qr
                        br[q, c] = r10 * pr - m10 * pi + r11 * qr - m11 * qi
                        bi[q, c] = r10 * pi + m10 * pr + r11 * qi + m11 * qr
                f += 1
        gr[:] = 0
        gi[:] = 0
        for r in range(min(rows, n)):
            for c in range(w):
                v = g[r, t0 + c]
                if mode == MODE_RESIDUAL:
                    dr = br[r, c] - v.real
                    di = bi[r, c] - v.imag
                    sq += dr * dr + di * di
                    gr[r, c] = scale * dr
                    gi[r, c] = scale * di
                else:
                    gr[r, c] = v.real
                    gi[r, c] = v.imag
        for blk in range(nb - 1, -1, -1):
            for j in range(m - 1, -1, -1):
                f -= 1
                st = _stride(blk, j, m)
                for i in range(half):
                    lo = i & (st - 1)
                    p = 2 * (i - lo) + lo
                    q = p + st
                    r00 = twr[blk, j, i, 0, 0]; r01 = twr[blk, j, i, 0, 1]
                    r10 = twr[blk, j, i, 1, 0]; r11 = twr[blk, j, i, 1, 1]
                    m00 = twi[blk, j, i, 0, 0]; m01 = twi[blk, j, i, 0, 1]
                    m10 = twi[blk, j, i, 1, 0]; m11 = twi[blk, j, i, 1, 1]
                    a00 = 0.0; a01 = 0.0; a10 = 0.0; a11 = 0.0
                    b00 = 0.0; b01 = 0.0; b10 = 0.0; b11 = 0.0
                    for c in range(tb):
                        xpr = tr[f, p, c]; xpi = ti[f, p, c]
                        xqr = tr[f, q, c]; xqi = ti[f, q, c]
                        gpr = gr[p, c]; gpi = gi[p, c]; gqr = gr[q, c]; gqi = gi[q, c]
                        # g * conj(x)
                        a00 += gpr * xpr + gpi * xpi; b00 += gpi * xpr - gpr * xpi
                        a01 += gpr * xqr + gpi * xqi; b01 += gpi * xqr - gpr * xqi
                        a10 += gqr * xpr + gqi * xpi; b10 += gqi * xpr - gqr * xpi
                        a11 += gqr * xqr + gqi * xqi; b11 += gqi * xqr - gqr * xqi
                        # t^H g
                        gr[p, c] = r00 * gpr + m00 * gpi + r10 * gqr + m10 * gqi
                        gi[p, c] = r00 * gpi - m00 * gpr + r10 * gqi - m10 * gqr
                        gr[q, c] = r01 * gpr + m01 * gpi + r11 * gqr + m11 * gqi
                        gi[q, c] = r01 * gpi - m01 * gpr + r11 * gqi - m11 * gqr
                    dtwr[blk, j, i, 0, 0] += a00; dtwi[blk, j, i, 0, 0] += b00
                    dtwr[blk, j, i, 0, 1] += a01; dtwi[blk, j, i, 0, 1] += b01
                    dtwr[blk, j, i, 1, 0] += a10; dtwi[blk, j, i, 1, 0] += b10
                    dtwr[blk, j, i, 1, 1] += a11; dtwi[blk, j, i, 1, 1] += b11
        for r in range(cols):
            for c in range(w):
                out[r, t0 + c] = gr[r, c] + 1j * gi[r, c]
    acc[0] += sq

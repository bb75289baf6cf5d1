"""Complex relaxation of real fits: map a complex twiddle to a real one by a phase gauge.

A real 2x2 block can only change the sign of its determinant by passing through a
singular matrix, so a real fit started in the wrong "sign component" stalls in a
local minimum (L-BFGS recovers a width-1 Hadamard of size 64 from 0 of 5 random
starts). ``GL(2, C)`` is connected, and the same fits in complex arithmetic succeed
(5 of 5). :func:`realify` brings the complex solution back to real twiddles.

The product of butterfly factors is invariant under the diagonal gauge
``F_f -> D_f F_f D_{f-1}^{-1}``. If a complex twiddle is a gauge transform of a real
one with unit-modulus ``D_f``, sweeping the factors in application order and
choosing ``D_f`` row by row (the phase of the row's largest entry) recovers real
factors exactly; consecutive factors of equal stride act on the same pairs (their
gauge is all of ``GL(2)``), so they are merged into one block first. Otherwise the
result is a real starting point for a real polishing fit.
"""

from __future__ import annotations

__all__ = ["realify"]

import numpy as np
import numpy.typing as npt

from .._layout import stride


def realify(twiddle: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Real twiddle gauge-equivalent to a complex ``twiddle`` when one exists.

    Parameters
    ----------
    twiddle : ndarray, complex, shape (2*w, m, N//2, 2, 2)

    Returns
    -------
    ndarray, float64, same shape
        Factors ``R_f = Re(D_f^{-1} F_f D_{f-1})`` with ``D_{-1} = I`` and the last
        factor taken without a left gauge; a run of consecutive equal-stride factors
        becomes identities followed by their product.

    Notes
    -----
    With ``E = F_{L-1} ... F_0`` real and every ``D_f^{-1} F_f D_{f-1}`` real, the
    last factor ``F_{L-1} D_{L-2}`` equals ``E R^{-1}`` for a real ``R`` and is real too.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> from kmatrix._layout import pair_indices
    >>> from kmatrix._reference import dense_reference
    >>> from kmatrix.learn.relax import realify
    >>> real = km.random(8, rng=0).twiddle
    >>> d = np.exp(1j * np.arange(8.0))          # a unit-modulus diagonal gauge D
    >>> g = real.astype(complex)
    >>> p0, q0 = pair_indices(8, 4); p1, q1 = pair_indices(8, 2)
    >>> g[0, 0, :, 0] *= d[p0, None]; g[0, 0, :, 1] *= d[q0, None]          # D F_0
    >>> g[0, 1, :, :, 0] /= d[p1, None]; g[0, 1, :, :, 1] /= d[q1, None]    # F_1 D^-1
    >>> np.allclose(dense_reference(g), dense_reference(real)), bool(np.abs(g.imag).max() > 0.1)
    (True, True)
    >>> back = realify(g)
    >>> back.dtype, np.allclose(dense_reference(back), dense_reference(real))
    (dtype('float64'), True)
    """
    tw = np.asarray(twiddle)
    nb, m, half = tw.shape[:3]
    n = 2 * half
    seq = [(b, j) for b in range(nb) for j in range(m)]
    out = np.zeros(tw.shape, dtype=np.float64)
    out[..., 0, 0] = out[..., 1, 1] = 1
    phase = np.ones(n, dtype=np.complex128)
    i = np.arange(half)
    f = 0
    while f < len(seq):
        st = stride(*seq[f], m)
        lo = i & (st - 1)
        p = 2 * (i - lo) + lo
        q = p + st
        block = tw[seq[f]].astype(np.complex128)
        block[:, :, 0] *= phase[p][:, None]
        block[:, :, 1] *= phase[q][:, None]
        # Same-stride neighbours share their pairs: multiply them into one block and
        # leave identities behind (their gauge is GL(2), not only diagonal).
        while f + 1 < len(seq) and stride(*seq[f + 1], m) == st:
            f += 1
            block = tw[seq[f]] @ block
        if f == len(seq) - 1:
            out[seq[f]] = block.real
            break
        big = np.argmax(np.abs(block), axis=2)
        pivot = np.take_along_axis(block, big[:, :, None], axis=2)[:, :, 0]
        mod = np.abs(pivot)
        d = np.where(mod > 0, pivot / np.where(mod > 0, mod, 1), 1)
        out[seq[f]] = (block * np.conj(d)[:, :, None]).real
        phase = np.empty(n, dtype=np.complex128)
        phase[p] = d[:, 0]
        phase[q] = d[:, 1]
        f += 1
    return out

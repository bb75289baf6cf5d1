"""Pure-NumPy reference implementation of the canonical layout (the test oracle)."""

__all__ = ["apply_reference", "dense_reference"]

import numpy as np

from ._layout import pair_indices, stride


def apply_reference(twiddle, x, shape=None):
    """Apply a twiddle in canonical layout to ``x`` of shape ``(cols,)`` or ``(cols, k)``.

    Straight from the canonical layout (theory page of the docs): zero-pad to ``N``, apply every factor of every
    block in order, keep the first ``rows`` entries.
    """
    nblocks, m = twiddle.shape[:2]
    n = 1 << m
    rows, cols = shape if shape is not None else (n, n)
    x = np.asarray(x)
    dtype = np.result_type(twiddle.dtype, x.dtype)
    y = np.zeros((n,) + x.shape[1:], dtype=dtype)
    y[:cols] = x
    for b in range(nblocks):
        for j in range(m):
            p, q = pair_indices(n, stride(b, j, m))
            t = twiddle[b, j].reshape((n // 2, 2, 2) + (1,) * (x.ndim - 1))
            yp, yq = y[p], y[q]
            y[p] = t[:, 0, 0] * yp + t[:, 0, 1] * yq
            y[q] = t[:, 1, 0] * yp + t[:, 1, 1] * yq
    return y[:rows]


def dense_reference(twiddle, shape=None):
    """Dense ``(rows, cols)`` matrix of a twiddle, built column by column from the oracle."""
    m = twiddle.shape[1]
    n = 1 << m
    rows, cols = shape if shape is not None else (n, n)
    return apply_reference(twiddle, np.eye(cols, dtype=twiddle.dtype), (rows, cols))

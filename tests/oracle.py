"""Test oracle helpers: the NumPy reference and tolerances (kept next to the tests)."""

import numpy as np

from kmatrix._reference import apply_reference, dense_reference

__all__ = ["apply_reference", "dense_reference", "rand", "tol", "DTYPES"]

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def tol(K, *norms):
    """Absolute tolerance for ``K`` products: eps * number of factors * growth * norms."""
    eps = np.finfo(np.dtype(K.dtype)).eps
    nfactors = K.twiddle.shape[0] * K.twiddle.shape[1]
    # |t| bounds each factor's growth; products of norms bound the whole chain.
    growth = 1.0
    for blk in K.twiddle:
        for f in blk:
            growth *= max(1.0, float(np.abs(f).sum(axis=-1).max()))
    scale = 1.0
    for v in norms:
        scale *= max(1.0, float(v))
    return 16 * eps * nfactors * growth * scale


def rand(rng, shape, dtype):
    """Standard normal array of ``dtype`` (complex: independent real and imaginary parts)."""
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)

"""Real operators with complex factors: two real columns per complex column.

Exact constructions of real maps (DCT, DST, Hartley, real circulants and Toeplitz
matrices) go through the DFT, so their butterfly factors are complex although their
product ``M`` is a real matrix.  Such a :class:`~kmatrix.KMatrix` carries the flag
``real_matrix``: its dtype is real and real input gives real output.  Because ``M`` is
real, ``M (x1 + 1j x2) = M x1 + 1j M x2`` exactly, so a real ``(n, k)`` block is
applied as ``ceil(k/2)`` complex columns, packed ``x[:, :h] + 1j x[:, h:]``, and the
real and imaginary parts of the result are its two halves.  Complex input needs no
packing (``M z = M Re z + 1j M Im z`` is what complex arithmetic computes).  A block
with a NaN or an infinity is not packed (it would spread to the paired column, as a
complex product mixes real and imaginary parts).  This module decides when to pack;
the CPU apply packs and splits inside its work arrays (no complex copy of the block).
"""

__all__ = ["complex_dtype", "real_dtype", "all_real", "apply_real_matrix"]

import numpy as np


def complex_dtype(dtype):
    """The complex dtype of the precision of ``dtype`` (float32 -> complex64, ...)."""
    return np.result_type(dtype, np.complex64)


def real_dtype(dtype):
    """The real dtype of the precision of ``dtype`` (complex64 -> float32, ...)."""
    return np.finfo(dtype).dtype


def all_real(*operators):
    """Whether every operator is real (a real dtype): then so is their product, sum,
    Kronecker product, transpose and real multiple."""
    return all(np.dtype(op.dtype).kind == "f" for op in operators)


def apply_real_matrix(run, x, dtype):
    """``M @ x`` for a real matrix ``M`` applied by its complex factors.

    ``run(z)`` applies the complex factors to a complex ``z`` of ``complex_dtype(dtype)``;
    ``run(x, paired=True)`` to a finite real 2-D ``x`` of the precision of ``dtype``,
    packed as above inside the kernels' work arrays, and returns the real result.
    ``dtype`` is the result dtype (real for real ``x``, complex for complex ``x``).
    """
    if x.dtype.kind == "c":
        return run(x)
    cdtype = complex_dtype(dtype)
    if x.ndim == 1 or not np.isfinite(np.sum(x)):  # a NaN or inf would leak into its pair
        return np.ascontiguousarray(run(x.astype(cdtype)).real, dtype=dtype)
    return run(x.astype(dtype, copy=False), paired=True)

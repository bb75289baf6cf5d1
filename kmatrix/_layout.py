"""The canonical twiddle layout shared by every module (documented in the theory page).

A K-matrix stores ``twiddle`` with shape ``(2*w, m, N//2, 2, 2)``:

* axis 0 -- block, in application order; even blocks decrease the stride
  (a ``B*``), odd blocks increase it (a ``B``);
* axis 1 -- factor within the block, in application order;
* axis 2 -- pair index ``i``: at stride ``st`` the pair is ``(p, p + st)``
  with ``p = 2*(i - i % st) + i % st``;
* axes 3, 4 -- the 2x2 map applied to ``(x[p], x[q])``.
"""

__all__ = [
    "SUPPORTED_DTYPES",
    "stride",
    "pair_indices",
    "internal_size_for",
    "validate_twiddle",
    "validate_shape",
    "log2_exact",
    "apply_flops",
    "embed_twiddle",
    "identity_twiddle",
]

import math
import operator

import numpy as np

SUPPORTED_DTYPES = (
    np.dtype(np.float32),
    np.dtype(np.float64),
    np.dtype(np.complex64),
    np.dtype(np.complex128),
)


def apply_flops(shape, dtype):
    """Real flops of one matrix-vector product by a twiddle of ``shape`` and ``dtype``.

    Every factor does ``N / 2`` 2x2 maps, each 6 real flops per vector (3 per entry),
    14 per entry for complex maps and data.

    Examples
    --------
    >>> apply_flops((2, 3, 4, 2, 2), "float64")  # a real BB* of size 8: 6 factors
    144
    """
    nb, m, half = shape[:3]
    per_entry = 14 if np.dtype(dtype).kind == "c" else 3
    return per_entry * 2 * half * nb * m


def log2_exact(n):
    """Return ``m`` with ``2**m == n``, or raise ``ValueError``."""
    n = operator.index(n)
    if n < 1 or n & (n - 1):
        raise ValueError(f"expected a power of two, got {n}")
    return n.bit_length() - 1


def stride(block, factor, m):
    """Stride of ``factor`` in ``block`` for internal size ``2**m``."""
    return 1 << (m - 1 - factor) if block % 2 == 0 else 1 << factor


def pair_indices(n, st):
    """Index arrays ``(p, q)`` of the ``n//2`` pairs at stride ``st``."""
    i = np.arange(n // 2)
    lo = i % st
    p = 2 * (i - lo) + lo
    return p, p + st


def internal_size_for(rows, cols, expansion=1):
    """Smallest power of two ``N >= max(2, expansion * max(rows, cols))``."""
    need = max(2.0, float(expansion) * max(rows, cols))
    if not math.isfinite(need):
        raise ValueError(f"expansion must be finite; got {expansion!r}")
    # N >= need exactly when N >= ceil(need), N an integer.
    return 1 << max(1, (math.ceil(need) - 1).bit_length())


def validate_twiddle(twiddle, check_finite=True):
    """Check a twiddle array against the canonical layout; return it as an ndarray.

    Raises ``TypeError`` for a non-numeric dtype or one that is not among the four
    supported ones, ``ValueError`` for a wrong rank or inconsistent axes.  Nothing is
    cast: the caller chooses the dtype.  An array in non-native byte order (say
    ``>f8`` read from a big-endian file) is returned converted to native order, the
    same values in the same dtype, as the kernels read native numbers.
    """
    if not isinstance(twiddle, np.ndarray):
        if hasattr(twiddle, "__cuda_array_interface__"):
            raise TypeError("twiddle must be a host numpy.ndarray, got a device array")
        twiddle = np.asarray(twiddle)
    if not twiddle.dtype.isnative and twiddle.dtype.newbyteorder("=") in SUPPORTED_DTYPES:
        twiddle = twiddle.astype(twiddle.dtype.newbyteorder("="))
    if twiddle.dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            "twiddle dtype must be one of float32, float64, complex64, complex128; "
            f"got {twiddle.dtype}"
        )
    if twiddle.ndim != 5:
        raise ValueError(
            "twiddle must have 5 axes (2*w, m, N//2, 2, 2); "
            f"got {twiddle.ndim} axes with shape {twiddle.shape}"
        )
    nblocks, m, half, a, b = twiddle.shape
    if (a, b) != (2, 2):
        raise ValueError(f"twiddle's last two axes must be (2, 2); got ({a}, {b})")
    if nblocks < 2 or nblocks % 2:
        raise ValueError(
            f"twiddle must have an even, positive number of blocks (2*w); got {nblocks}"
        )
    if m < 1:
        raise ValueError(f"twiddle must have m >= 1 factors per block; got {m}")
    if half != 1 << (m - 1):
        raise ValueError(
            f"twiddle axis 2 must be N//2 = 2**(m-1) = {1 << (m - 1)} for m = {m}; "
            f"got {half}"
        )
    if check_finite and not np.all(np.isfinite(twiddle)):
        raise ValueError("twiddle contains NaN or infinite entries")
    return twiddle


def validate_shape(shape, n):
    """Validate a logical ``(rows, cols)`` against internal size ``n``."""
    if shape is None:
        return (n, n)
    try:
        rows, cols = (operator.index(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"shape must be a pair of integers (rows, cols); got {shape!r}") from None
    if not (1 <= rows <= n and 1 <= cols <= n):
        raise ValueError(
            f"shape must satisfy 1 <= rows, cols <= N = {n}; got ({rows}, {cols})"
        )
    return (rows, cols)


def identity_twiddle(nblocks, m, dtype):
    """Twiddle of ``nblocks`` identity blocks at internal size ``2**m``."""
    tw = np.zeros((nblocks, m, 1 << (m - 1), 2, 2), dtype=dtype)
    tw[..., 0, 0] = 1
    tw[..., 1, 1] = 1
    return tw


def embed_twiddle(twiddle, m_big):
    """Embed a twiddle of size ``2**m`` into size ``2**m_big`` acting on the leading block.

    The new coordinates are left untouched (identity); factors whose stride does not
    exist at the small size are identity.
    """
    nb, m, half = twiddle.shape[:3]
    if m_big == m:
        return twiddle
    out = identity_twiddle(nb, m_big, twiddle.dtype)
    # At stride st < 2**m, pairs with p < 2**m are exactly pair indices i < 2**(m-1).
    out[0::2, m_big - m :, :half] = twiddle[0::2]
    out[1::2, :m, :half] = twiddle[1::2]
    return out

"""Exact power-of-two scaling: the data of a fit or a factorization brought to unit
magnitude, and the scale put back into the factors.

Multiplying by ``2**k`` changes only the exponent of a floating-point number, so the
normalized problem has the same digits as the given one: factorizing ``c * A`` or
fitting ``c * T`` does the same arithmetic for every ``c`` whose scaled data stay
normal, and the relative error does not depend on ``c``.  Squared norms of the
normalized data neither overflow nor underflow.
"""

__all__ = ["exponent", "ldexp", "spread_exponent"]

import numpy as np


def exponent(a):
    """``e`` with ``2**(e-1) <= max|a| < 2**e`` (0 for an all-zero or empty ``a``).

    The real and imaginary parts are looked at separately, so that ``|z|`` of a
    complex entry near the largest float never overflows.
    """
    a = np.asarray(a)
    if a.size == 0:
        return 0
    big = np.abs(a.view(a.real.dtype) if a.dtype.kind == "c" else a).max()
    return int(np.frexp(big)[1]) if big > 0 else 0


def ldexp(a, k):
    """``a * 2**k`` exactly (for real or complex ``a``), without forming ``2**k``."""
    a = np.asarray(a)
    k = int(k)
    if a.dtype.kind != "c":
        return np.ldexp(a, k)
    out = np.empty_like(a)
    out.real = np.ldexp(a.real, k)
    out.imag = np.ldexp(a.imag, k)
    return out


def spread_exponent(twiddle, k, blocks=slice(None)):
    """A copy of ``twiddle`` whose operator is ``2**k`` times the given one.

    The power is spread evenly over the factors of ``blocks`` (the first of them takes
    the remainder), so every factor keeps a magnitude near its own; ``OverflowError``
    when a factor still overflows the twiddle's dtype.
    """
    tw = np.array(twiddle, copy=True)
    k = int(k)
    if k == 0:
        return tw
    part = tw[blocks]
    nfactors = part.shape[0] * part.shape[1]
    q, r = divmod(k, nfactors)
    with np.errstate(over="ignore", under="ignore"):
        part[...] = ldexp(part, q)
        part[0, 0] = ldexp(part[0, 0], r)
    if not np.all(np.isfinite(part)):
        raise OverflowError(
            f"scaling by 2**{k} overflows the factors in {tw.dtype} (largest magnitude "
            f"about 2**{exponent(twiddle) + q + r}); use a wider dtype"
        )
    return tw

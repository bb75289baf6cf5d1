"""Closed-form twiddles: butterfly factors computed from a formula, slice by slice.

The exact transforms whose 2x2 maps are known in closed form (the power-of-two DFT and
the Sylvester-Hadamard matrix) do not need their twiddle stored: any factor's maps at
any set of pair indices can be computed where they are needed. :func:`fft_factor` is the
one formula of the DFT's twiddle (the in-memory constructor fills its array with it, so
both agree bit for bit); :class:`TwiddleFormula` presents such a formula with the shape
and dtype of the twiddle array it stands for, and closes it under adjoint, transpose and
conjugation.
"""

__all__ = ["fft_factor", "TwiddleFormula"]

import functools

import numpy as np

from ._layout import SUPPORTED_DTYPES


def _bits(p, t):
    return (p >> t) & 1


@functools.lru_cache(maxsize=8)
def _root_tables(m, sign):
    """``(h, low, high)`` with ``w**e = high[e >> h] * low[e & (2**h - 1)]`` for
    ``w = exp(sign 2 pi i / 2**m)``: two tables of about ``2**(m/2)`` roots, each
    computed from an exact fraction of a turn."""
    h = (m + 1) // 2
    low = np.exp(sign * 2j * np.pi * (np.arange(1 << h) / float(1 << m)))
    high = np.exp(sign * 2j * np.pi * (np.arange(1 << (m - h)) / float(1 << (m - h))))
    low.flags.writeable = high.flags.writeable = False
    return h, low, high


@functools.lru_cache(maxsize=8)
def _reversal_table(k):
    """``r[i]`` = ``i`` with its ``k`` bits in reverse order."""
    i = np.arange(1 << k, dtype=np.int64)
    r = np.zeros_like(i)
    for j in range(k):
        r |= ((i >> j) & 1) << (k - 1 - j)
    r.flags.writeable = False
    return r


def _reverse_bits(q, k):
    """Each entry of ``q`` (``k`` bits) with its bits in reverse order."""
    if k == 0:
        return np.zeros_like(q)
    h = (k + 1) // 2
    r = _reversal_table(h)
    return (r[q & ((1 << h) - 1)] << (k - h)) | (r[q >> h] >> (2 * h - k))


def fft_factor(m, sign, scale, block, factor, index):
    """2x2 maps of one factor of the width-1 DFT twiddle at pair indices ``index``.

    The DFT ``scale**m * [exp(sign*2j*pi*k*x/N)]``, ``N = 2**m``, is one BB* whose factor
    ``(block, factor)`` is returned at the pair indices ``index`` (int array), shape
    ``(len(index), 2, 2)``, complex128.

    Bit ``s`` of an index is the pair position of the factor with stride ``2**s``.
    Input bit ``x_j`` is paired with output bit ``k_{m-1-j}`` (the Hadamard coupling of
    Cooley-Tukey); for ``b < m-1-b`` the high position ``a = m-1-b`` and the low one ``b``
    must exchange their contents, which is what the bit reversal does.  Block 0 (strides
    ``2**(m-1)`` down to 1) and block 1 (strides 1 up to ``2**(m-1)``) visit ``a, b, b, a``,
    enough for a swap by three controlled NOTs.  The schedule (all in place):

    * block 0, position ``a``: Hadamard ``x_a -> k_b`` with the DIF twiddle
      ``w**(k_b 2**b (index mod 2**a))``, then ``a ^= b`` (holds ``k_b ^ x_b``);
    * block 0, position ``b``: ``b ^= a`` (now holds ``k_b``, final);
    * block 0, middle position ``c = (m-1)/2`` (odd ``m``): Hadamard ``x_c -> k_c`` with
      the DIF twiddle;
    * block 1, position ``a``: ``a ^= b`` (holds ``x_b``), then Hadamard ``x_b -> k_a``
      with twiddle ``w**(k_a 2**a sum_{j<b} x_j 2**j)``, where ``x_j = bit_j ^ bit_{m-1-j}``
      of the pair's index.

    Hadamards run in the order ``x_{m-1}, ..., x_0`` as in decimation in frequency, so
    every twiddle ``w**(k_i x_j 2**(i+j))`` with ``i + j < m - 1`` is applied exactly once,
    while ``k_i`` already exists and ``x_j`` still does.

    Examples
    --------
    >>> import numpy as np
    >>> from kmatrix._closedform import fft_factor
    >>> fft_factor(1, -1, 1.0, 0, 0, np.arange(1))[0].real
    array([[ 1.,  1.],
           [ 1., -1.]])
    """
    n = 1 << m
    s = m - 1 - factor if block == 0 else factor  # the factor's stride is 2**s
    i = np.asarray(index, dtype=np.int64)
    lo = i & ((1 << s) - 1)
    p = 2 * (i - lo) + lo  # first row of each pair (see kmatrix._layout.pair_indices)
    t = np.zeros((i.size, 2, 2), dtype=np.complex128)

    h, low, high = _root_tables(m, 1 if sign > 0 else -1)

    def root(e):  # exact integer exponent reduction, then two table lookups
        e = e & (n - 1)
        return high[e >> h] * low[e & ((1 << h) - 1)]

    if 2 * s < m - 1:  # low position: controlled NOT from its partner (block 0), else idle
        if block == 0:
            swap = _bits(p, m - 1 - s).astype(bool)
            t[:, 0, 0] = t[:, 1, 1] = ~swap
            t[:, 0, 1] = t[:, 1, 0] = swap
        else:
            t[:, 0, 0] = t[:, 1, 1] = 1
        return t
    b = m - 1 - s
    if block == 0:  # Hadamard with DIF twiddle, then (high only) flip by bit b
        phi = scale * root(lo << b)
        if 2 * s > m - 1:  # rows swapped where bit b is set
            flip = _bits(p, b).astype(bool)
            t[:, 0, 0] = np.where(flip, phi, scale)
            t[:, 0, 1] = np.where(flip, -phi, scale)
            t[:, 1, 0] = np.where(flip, scale, phi)
            t[:, 1, 1] = np.where(flip, scale, -phi)
        else:
            t[:, 0, 0] = t[:, 0, 1] = scale
            t[:, 1, 0] = phi
            t[:, 1, 1] = -phi
        return t
    if 2 * s == m - 1:  # middle position: block 1 is idle
        t[:, 0, 0] = t[:, 1, 1] = 1
        return t
    # block 1: undo the flip (input bit b = k_b), Hadamard x_b -> k_a with twiddle
    x_low = (p & ((1 << b) - 1)) ^ _reverse_bits(p >> (m - b), b)  # bit j: x_j
    phi = scale * root(x_low << s)
    sgn = 1 - 2 * _bits(p, b)
    t[:, 0, 0] = scale
    t[:, 0, 1] = scale
    t[:, 1, 0] = sgn * phi
    t[:, 1, 1] = -sgn * phi
    return t


def _fft_idle(m, block, factor):
    s = m - 1 - factor if block == 0 else factor
    return block == 1 and 2 * s <= m - 1


class TwiddleFormula:
    """The twiddle ``(2, m, N//2, 2, 2)`` of a closed-form transform, computed on demand.

    ``kind`` is ``"fourier"`` (``params = (sign, scale)``: :func:`fft_factor`) or
    ``"hadamard"`` (``params = (c,)``: every factor of block 0 is ``[[c, c], [c, -c]]``,
    block 1 is the identity). ``reverse``, ``swap`` and ``conj`` describe the adjoint,
    transpose and conjugate of the base formula (blocks and factors in reverse order,
    each 2x2 transposed, conjugated), as :class:`~kmatrix.KMatrix` forms them from its
    array. The object is small and picklable: tasks on other machines compute their
    slices from it.

    Examples
    --------
    >>> import numpy as np
    >>> from kmatrix._closedform import TwiddleFormula
    >>> f = TwiddleFormula("hadamard", 3, np.float64, (1.0,))
    >>> f.shape, f.factor(0, 2, np.arange(2)).shape, f.is_identity(1, 0)
    ((2, 3, 4, 2, 2), (2, 2, 2), True)
    """

    def __init__(self, kind, m, dtype, params, reverse=False, swap=False, conj=False):
        if kind not in ("fourier", "hadamard"):
            raise ValueError(f"kind must be 'fourier' or 'hadamard'; got {kind!r}")
        dtype = np.dtype(dtype)
        if dtype not in SUPPORTED_DTYPES:
            raise TypeError(f"dtype must be one of float32, float64, complex64, complex128; "
                            f"got {dtype}")
        self.kind, self.m, self.dtype, self.params = kind, int(m), dtype, tuple(params)
        self.reverse, self.swap, self.conj_ = bool(reverse), bool(swap), bool(conj)

    @property
    def shape(self):
        return (2, self.m, 1 << (self.m - 1), 2, 2)

    @property
    def nbytes(self):
        """Bytes the materialized twiddle would take."""
        return int(np.prod(self.shape)) * self.dtype.itemsize

    @property
    def token(self):
        """A tuple that identifies the twiddle (equal tokens, equal twiddles)."""
        return (self.kind, self.m, self.dtype.str, self.params,
                self.reverse, self.swap, self.conj_)

    def __eq__(self, other):
        return isinstance(other, TwiddleFormula) and self.token == other.token

    def __hash__(self):
        return hash(self.token)

    def __repr__(self):
        return f"TwiddleFormula{self.token}"

    def _base(self, block, factor):
        return (1 - block, self.m - 1 - factor) if self.reverse else (block, factor)

    def factor(self, block, factor, index):
        """The 2x2 maps of factor ``(block, factor)`` at pair indices ``index``,
        ``(len(index), 2, 2)`` of :attr:`dtype` (a new array)."""
        b, j = self._base(block, factor)
        index = np.asarray(index, dtype=np.int64)
        if self.kind == "fourier":
            t = fft_factor(self.m, *self.params, b, j, index).astype(self.dtype, copy=False)
        else:
            (c,) = self.params
            t = np.zeros((index.size, 2, 2), dtype=self.dtype)
            if b == 0:
                t[:] = np.array([[c, c], [c, -c]], dtype=self.dtype)
            else:
                t[:, 0, 0] = t[:, 1, 1] = 1
        if self.swap:
            t = t.swapaxes(-1, -2)
        if self.conj_:
            t = t.conj()
        return np.ascontiguousarray(t)

    def is_identity(self, block, factor):
        """Whether factor ``(block, factor)`` is the identity (known without computing it)."""
        b, j = self._base(block, factor)
        return b == 1 if self.kind == "hadamard" else _fft_idle(self.m, b, j)

    def _with(self, reverse=None, swap=None, conj=None):
        return TwiddleFormula(self.kind, self.m, self.dtype, self.params,
                              self.reverse if reverse is None else reverse,
                              self.swap if swap is None else swap,
                              self.conj_ if conj is None else conj)

    def adjoint(self):
        """The formula of the adjoint's twiddle."""
        return self._with(reverse=not self.reverse, swap=not self.swap,
                          conj=not self.conj_ if self.dtype.kind == "c" else False)

    def transpose(self):
        """The formula of the transpose's twiddle."""
        return self._with(reverse=not self.reverse, swap=not self.swap)

    def conjugate(self):
        """The formula of the entrywise conjugate's twiddle."""
        return self._with(conj=not self.conj_ if self.dtype.kind == "c" else False)

    def materialize(self):
        """The whole twiddle array (factor by factor: no larger temporaries)."""
        nb, m, half = self.shape[:3]
        tw = np.empty(self.shape, dtype=self.dtype)
        index = np.arange(half)
        for b in range(nb):
            for j in range(m):
                tw[b, j] = self.factor(b, j, index)
        return tw

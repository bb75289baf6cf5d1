"""Discrete cosine, sine and Hartley transforms as real K-matrices.

Every one of them is ``C = c0 G W + conj(c0 G W)`` with ``G[k, n] =
exp(-2j*pi*(k + ka)*(n + na)/P)`` a shifted block of the DFT of size ``P``, a phase
``c0`` and a diagonal of column weights ``W`` (:data:`_SPEC`).  Three constructions:

* *Makhoul* (types 2 and 3, ``n = 2**k >= 4``): the DFT of the same length on the
  reordered input, then one butterfly factor between two 0/1 routings; width 4,
  expansion 1 (:func:`_makhoul_twiddle`).

* *Symmetric extension* (``P`` a power of two, DCT/DST): ``conj(G[k, n])`` is
  ``G[k, n']`` up to a column sign, ``n' = -n - 2 na (mod P)``, so
  ``C = diag(Dout) F_P diag(Din) E`` exactly, with ``E`` the ``P x n`` extension
  ``x -> u`` (each ``x[n]`` at ``n`` and, reflected, at ``n'``).  ``E`` is one
  decreasing-stride butterfly: the first factor (stride ``P/2``) copies ``x`` into the
  upper half, the others move the upper half by ``p -> -p - 2 na (mod P/2)``, a
  negation plus a constant, whose bit ``j`` changes according to the lower bits only.
  Width 2 (``E``, then the folded DFT), expansion ``P / n``.
* *Skew convolution* (types 1, ``n = 2**k``, where ``P = 2(n -+ 1)`` is twice an odd
  number): a half-sample extension of ``x`` to ``2n`` slots, one circulant of size
  ``2n`` and the mirror fold; width 3, expansion 2 (:func:`_type1_twiddle`).
* *Real part* (any other size, and the Hartley transform): ``A = c0 G W`` is one
  ``BB*`` (the folded DFT, or Bluestein's chirp-Toeplitz-chirp), and ``C = A +
  conj(A)`` by the sum rule: width 1, expansion ``2 L / n`` with ``L`` the size of
  ``A``.

The factors are complex, their product is real: the operators are
:attr:`~kmatrix.KMatrix.real_matrix` (see :mod:`kmatrix._realmatrix`).
"""

__all__ = ["trig_operator"]

import numpy as np

from .. import _algebra
from .._benes import permutation_twiddle
from .._layout import identity_twiddle, log2_exact, pair_indices
from .._operator import KMatrix
from .circulant import circulant_twiddle, toeplitz_column
from .fourier import dft

# (kind, type): (P as a function of n, 2*ka, 2*na, c0, columns weighted 1/2)
_SPEC = {
    ("dct", 1): (lambda n: 2 * (n - 1), 0, 0, 1.0, "both"),
    ("dct", 2): (lambda n: 2 * n, 0, 1, 1.0, ""),
    ("dct", 3): (lambda n: 2 * n, 1, 0, 1.0, "first"),
    ("dct", 4): (lambda n: 2 * n, 1, 1, 1.0, ""),
    ("dst", 1): (lambda n: 2 * (n + 1), 2, 2, 1j, ""),
    ("dst", 2): (lambda n: 2 * n, 2, 1, 1j, ""),
    ("dst", 3): (lambda n: 2 * n, 1, 2, 1j, "last"),
    ("dst", 4): (lambda n: 2 * n, 1, 1, 1j, ""),
    ("dht", 0): (lambda n: n, 0, 0, 0.5 + 0.5j, ""),
}


def _root(q, P):
    """``exp(-2j*pi*q/(4P))`` with the integer ``q`` reduced mod ``4P`` before the angle."""
    q = np.asarray(q, dtype=np.int64) % (4 * P)
    return np.exp(-2j * np.pi * q / (4 * P))


def _weights(n, half):
    w = np.ones(n)
    if half in ("first", "both"):
        w[0] = 0.5
    if half in ("last", "both"):
        w[-1] = 0.5
    return w


def _is_pow2(v):
    return v >= 2 and v & (v - 1) == 0


def trig_operator(kind, type_, n, row_scale, col_scale) -> KMatrix:
    """The real K-matrix ``diag(row_scale) C diag(col_scale)`` of ``_SPEC[kind, type_]``.

    Returns a complex128 :class:`KMatrix` flagged ``real_matrix`` (see the module notes).
    """
    size_of, KA, NA, c0, half = _SPEC[kind, type_]
    P = size_of(n)
    k = np.arange(n, dtype=np.int64)
    # G[k, n] = Dout[k] F_P[k, n] Din[n]: (2k + KA)(2n + NA) = 4kn + 2k NA + 2n KA + KA NA
    d_out = _root(2 * k * NA + KA * NA, P) * row_scale
    cols = _weights(n, half) * col_scale
    if kind != "dht" and type_ in (2, 3) and _is_pow2(n) and n >= 4:
        if type_ == 2:
            tw = _makhoul_twiddle(n, row_scale, col_scale, sine=kind == "dst")
        else:  # type 3 = diag(r) C2^T diag(w q) = (diag(w q) C2 diag(r))^T
            tw = _makhoul_twiddle(n, cols, row_scale, sine=kind == "dst")
            tw = np.ascontiguousarray(tw[::-1, ::-1].swapaxes(-1, -2))
    elif kind != "dht" and type_ == 1 and _is_pow2(n) and not _is_pow2(P):
        tw = _type1_twiddle(kind, n, np.broadcast_to(row_scale, (n,)), cols)
    elif kind != "dht" and _is_pow2(P):
        tw = _extension_twiddle(P, n, KA, NA, c0, cols)
        tw = np.concatenate([tw, dft(P).twiddle])
        _scale_rows(tw[-1, -1], P, P // 2, np.pad(d_out, (0, P - n)))
    else:
        tw = _partial_dft_twiddle(P, n, d_out, c0 * _root(2 * k * KA, P) * cols)
        tw, _ = _algebra.ksum([(tw, (n, n)), (tw.conj(), (n, n))])
    return KMatrix._from_owned(tw, (n, n), real_matrix=True)


def _scale_rows(factor, size, stride, d):
    """``diag(d) @ factor`` for one butterfly factor of stride ``stride``."""
    p, q = pair_indices(size, stride)
    factor[:, 0, :] *= d[p][:, None]
    factor[:, 1, :] *= d[q][:, None]


def _partial_dft_twiddle(P, n, d_out, d_in):
    """Width-1 twiddle of ``diag(d_out) F_P[:n, :n] diag(d_in)`` (complex128)."""
    # Bluestein: F_P[k, j] = ch[k] ch[j] conj(ch[k - j]), ch[j] = exp(-1j*pi*j*j/P)
    j = np.arange(n, dtype=np.int64)
    ch = _root(2 * j * j, P)
    g = toeplitz_column(ch.conj(), ch.conj())
    big = g.size
    if _is_pow2(P) and P <= big:  # the folded Cooley-Tukey DFT is as small
        tw = np.array(dft(P).twiddle)
        p, q = pair_indices(P, P // 2)
        d = np.pad(d_in, (0, P - n))
        tw[0, 0, :, :, 0] *= d[p][:, None]
        tw[0, 0, :, :, 1] *= d[q][:, None]
        _scale_rows(tw[-1, -1], P, P // 2, np.pad(d_out, (0, P - n)))
        return tw
    return circulant_twiddle(np.fft.fft(g), d_in=np.pad(ch * d_in, (0, big - n)),
                             d_out=np.pad(ch * d_out, (0, big - n)))


def _upper_negation(P, shift=0):
    """``dest``: identity on the lower half, ``p -> -p - shift (mod P/2)`` on the upper one."""
    M = P // 2
    pos = np.arange(P, dtype=np.int64)
    return np.where(pos < M, pos, M + (-(pos - M) - shift) % M)


def _route_below_top(block, dest):
    """Set factors ``1..m-1`` of a decreasing-stride block (strides ``P/4 .. 1``) to 0/1
    swaps that move the entry at position ``p`` to ``dest[p]`` (top bit kept).

    Top-down, the entry now at a pair's low slot goes up exactly when bit ``b`` of its
    destination is set; a pair is consistent (its other entry goes down) when the bits
    below ``b`` alone decide, which holds for negations plus constants (see the module
    notes).  Checked: the routing must end with every entry at its destination.
    """
    m = block.shape[0]
    P = 2 * block.shape[1]
    where = dest.copy()  # where[pos] = destination of the entry now at pos
    for f in range(1, m):
        b = m - 1 - f
        p, q = pair_indices(P, 1 << b)
        swap = ((where[p] >> b) & 1) == 1
        if not np.array_equal(swap, ((where[q] >> b) & 1) == 0):
            raise AssertionError("routing is not triangular")
        block[f][swap] = [[0, 1], [1, 0]]
        where[p[swap]], where[q[swap]] = where[q[swap]], where[p[swap]].copy()
    if not np.array_equal(where, np.arange(P)):
        raise AssertionError("routing does not reach its destinations")


def _makhoul_twiddle(n, rows, cols, sine=False):
    """``diag(rows) C2 diag(cols)``, ``C2`` the unnormalized DCT-II (``sine``: DST-II),
    ``n = 2**k >= 4``: width 4, expansion 1 (Makhoul's reordering, a DFT of the same length).

    ``v = x[perm]`` (even entries, then odd ones reversed), ``V = F_n v`` and
    ``y[k] = 2 Re(d_k V[k]) = d_k V[k] + conj(d_k) V[-k]`` with
    ``d_k = exp(-1j*pi*k/(2n))``, since ``conj(V[k]) = V[-k]`` for real ``v``; both sides
    are complex-linear and agree on real ``x``, so ``C2 = G F_n Pm`` exactly, with ``G``
    acting on the pairs ``{k, -k}``.  ``Q`` (the upper half negated mod ``n/2``, an
    involution) maps each pair ``{k, n-k}`` to ``{k, k + n/2}``: ``G = Q B Q`` with ``B`` one
    factor of stride ``n/2``.  Blocks: Benes(``Pm``), ``F_n``, ``Q`` (decreasing), ``B`` (the
    last factor of an increasing block), ``Q``, identity.  The DST-II is
    ``J C2 diag((-1)**j)`` (``J`` reverses: ``sin(pi (k+1)(2j+1)/(2n)) = (-1)**j
    cos(pi (n-1-k)(2j+1)/(2n))``); ``J`` flips every bit, which the last ``Q`` absorbs.
    """
    m, half = log2_exact(n), n // 2
    if sine:
        cols = cols * (1 - 2 * (np.arange(n) % 2))
        rows = rows[::-1]
    k = np.arange(half)
    perm = np.empty(n, dtype=np.intp)
    perm[:half] = 2 * k
    perm[n - 1 - k] = 2 * k + 1
    F = np.array(dft(n).twiddle)
    p, q = pair_indices(n, half)
    cv = cols[perm]  # diag(cols) before the reordering is diag(cols[perm]) after it
    F[0, 0, :, :, 0] *= cv[p][:, None]
    F[0, 0, :, :, 1] *= cv[q][:, None]
    G = identity_twiddle(4, m, np.complex128)
    dest = _upper_negation(n)
    _route_below_top(G[0], dest)
    if sine:  # J after Q: flip the top bit first, then route the rest to J(Q(.))
        G[2, 0] = [[0, 1], [1, 0]]
        dest = (n - 1) - dest[np.arange(n) ^ half]
    _route_below_top(G[2], dest)
    d = _root(np.arange(n), n)  # exp(-2j*pi*k/(4n)) = exp(-1j*pi*k/(2n))
    B = np.empty((half, 2, 2), dtype=np.complex128)  # pair p = (p, p + n/2) after Q
    neg = (n - k) % n
    B[:, 0, 0], B[:, 0, 1] = d[k] * rows[k], np.conj(d[k]) * rows[k]
    B[:, 1, 0], B[:, 1, 1] = np.conj(d[neg]) * rows[neg], d[neg] * rows[neg]
    B[0] = [[2 * rows[0], 0], [0, 2 * d[half].real * rows[half]]]  # the pairs {0}, {n/2}
    G[1, -1] = B
    return np.concatenate([permutation_twiddle(perm, np.complex128), F, G])


def _extension_twiddle(P, n, KA, NA, c0, cols):
    """Blocks ``(E, I)`` (width 1) of the extension ``u = diag(Din) E x`` (see module notes).

    ``C[:, n] = c0 G[:, n] w_n + conj(c0) sigma_n G[:, n'] w_n`` with
    ``n' = (-n - NA) mod P`` and ``sigma_n = exp(1j*pi*KA*t)``, ``t = (n + n' + NA) / P``,
    because ``(2n' + NA) = 2tP - (2n + NA)``.
    """
    M, m = P // 2, log2_exact(P)
    src = np.arange(n, dtype=np.int64)
    refl = (-src - NA) % P
    t = (src + refl + NA) // P
    entries = [(src, src, c0 * cols), (refl, src, np.conj(c0) * np.exp(1j * np.pi * KA * t) * cols)]
    dest = _upper_negation(P, NA)  # the upper half moves by p -> (-p - NA) mod M
    blocks = identity_twiddle(2, m, np.complex128)
    top = np.zeros((M, 2, 2), dtype=np.complex128)  # stride M: pair p is (p, p + M)
    for row, col, val in entries:
        pair, c = col % M, col // M
        r = (row >= M).astype(np.int64)
        # a row must be reachable: the pair's own slot below, its moved slot above
        ok = np.where(r == 0, row == pair, dest[M + pair] == row)
        if not ok.all():  # cannot happen for the specs above; checked, not assumed
            raise AssertionError("extension outside the butterfly pattern")
        np.add.at(top, (pair, r, c), val)
    blocks[0, 0] = top
    _route_below_top(blocks[0], dest)
    d_in = _root(2 * np.arange(P, dtype=np.int64) * KA, P)
    _scale_rows(blocks[0, -1], P, 1, d_in)  # the last factor has stride 1
    return blocks


def _type1_twiddle(kind, n, rows, cols):
    """``diag(rows) C diag(cols)`` for the unweighted DCT-I (``2 cos(pi j k/(n-1))``) or
    DST-I (``2 sin(pi (j+1)(k+1)/(n+1))``), ``n = 2**k``: width 3, expansion 2.

    With ``L = 2n``, ``theta = exp(1j*pi/L)``, ``Q`` half the transform's period
    (``n - 1`` or ``n + 1``), ``chi(m) = exp(1j*pi*m**2/(2Q))`` and ``z`` the index shift
    (0 or 1)::

        y_j = e_j r_j + f_j r_{L-1-j},   r = Circ_L(c) u,
        u_k = a_k x_k,  u_{L-1-k} = b_k x_k                      (k < n)

    with ``a_k = cols_k chi(k+z) theta**k``, ``b_k = cols_k chi(k+z) theta**(n-1-k)``,
    ``e_j = rows_j chi(j+z) theta**-j``, ``f_j = rows_j chi(j+z) theta**(j-n+1)`` and
    ``c_m = theta**m p_m``, ``p`` negacyclic of period ``L`` whose even part carries the
    Toeplitz term ``conj(chi)(j - k)`` and whose odd part the Hankel term
    ``conj(chi)(j + k + 1 -+ 1)`` of ``2 cos = chi(j) chi(k) [conj chi(j-k) + conj chi(j+k)]``
    (sine: with a minus sign and the shifted indices). The odd part is consistent with
    the negacyclic period because ``conj(chi)`` is even with period ``2Q = L -+ 2``.
    Entry ``(j, k)`` of the product is then ``chi(j+z) chi(k+z) [(p_t + p_-t) + i (p_s -
    p_-s)]``, ``t = j - k``, ``s = j + k + 1`` -- the transform exactly; no real part is
    taken, so the internal size stays ``L``. The errors do not grow with ``n`` (relative
    Frobenius error below 1e-15 up to ``n = 4096``).

    Blocks: the extension (one decreasing-stride butterfly: a copy at stride ``n``, then
    the upper half reversed), identity, the circulant (one ``BB*``), identity, and the
    fold (the transpose of an extension).
    """
    m = log2_exact(2 * n)
    L = 2 * n
    dct = kind == "dct"
    Q, z = (n - 1, 0) if dct else (n + 1, 1)
    k = np.arange(n, dtype=np.int64)

    def chi(v):  # exp(1j*pi*v^2/(2Q)), the square reduced mod 4Q before the angle
        v = np.asarray(v, dtype=np.int64)
        return np.exp(1j * np.pi * ((v * v) % (4 * Q)) / (2 * Q))

    def theta(v):  # exp(1j*pi*v/L), v reduced mod 2L
        return np.exp(1j * np.pi * (np.asarray(v, dtype=np.int64) % (2 * L)) / L)

    ck = chi(k + z)
    a, b = cols * ck * theta(k), cols * ck * theta(n - 1 - k)
    e, f = rows * ck * theta(-k), rows * ck * theta(k - n + 1)
    t = np.arange(L, dtype=np.int64)
    cb = lambda v: np.conj(chi(v))  # noqa: E731
    even = (lambda v: cb(v) / 2) if dct else (lambda v: -0.5j * cb(v))
    odd = (lambda v: -0.5j * cb(v - 1)) if dct else (lambda v: 0.5 * cb(v + 1))
    pe = np.where(t < n, even(t), np.where(t == n, 0, -even(L - t)))
    po = np.where(t >= 1, odd(t), 0)
    lam = np.fft.fft(theta(t) * (pe + po))
    fold = _half_sample_extension(m, e, f)[::-1, ::-1].swapaxes(-1, -2)
    return np.concatenate([_half_sample_extension(m, a, b), circulant_twiddle(lam), fold])


def _half_sample_extension(m, a, b):
    """Blocks ``(E, I)`` of ``x -> u``, ``u_k = a_k x_k``, ``u_{L-1-k} = b_k x_k``
    (``L = 2**m``, ``k < L/2``): a copy at stride ``L/2``, then the upper half reversed."""
    L = 1 << m
    blocks = identity_twiddle(2, m, np.complex128)
    top = np.zeros((L // 2, 2, 2), dtype=np.complex128)  # pair k is (k, k + L/2)
    top[:, 0, 0], top[:, 1, 0] = a, b
    blocks[0, 0] = top
    _route_below_top(blocks[0], _upper_negation(L, 1))
    return blocks

"""Closure of K-matrices under sums and Kronecker products (DESIGN.md section 2).

Both constructions rearrange the factors of their operands into one canonical twiddle
without any arithmetic on the stored values, so the result is exact: its dense form
equals the sum (or Kronecker product) of the operands' dense forms to the rounding of
applying them.
"""

__all__ = ["ksum", "kron"]

import numpy as np

from .._layout import embed_twiddle, identity_twiddle
from .._operator import KMatrix


def _check_kmatrix(x, name):
    if not isinstance(x, KMatrix):
        raise TypeError(f"{name} must be a KMatrix; got {type(x).__name__}")
    return x


def _pad_blocks(tw, nblocks):
    """Append identity blocks so that ``tw`` has ``nblocks`` blocks (parity is kept)."""
    if tw.shape[0] == nblocks:
        return tw
    extra = identity_twiddle(nblocks - tw.shape[0], tw.shape[1], tw.dtype)
    return np.concatenate([tw, extra], axis=0)


def _sum_frame(nblocks, m, k, dtype):
    """Twiddle of a ``k``-term sum with slots of size ``2**m``, all but the terms filled in.

    Returns ``(tw, levels)`` with ``K = 2**levels = 2**ceil(log2 k)`` slots. Slot ``t``
    (coordinates ``[t*N, (t+1)*N)``) is to run term ``t``: at strides below ``N`` its
    pairs are exactly pair indices ``[t*N/2, (t+1)*N/2)`` (the pair index is the
    coordinate with one bit removed, and that bit lies below the slot bits), which are
    left zero here, as are unused slots. Those strides are factors ``levels..`` of even
    blocks and factors ``..m-1`` of odd blocks.
    """
    levels = (k - 1).bit_length()
    half = 1 << (m - 1)
    tw = np.zeros((nblocks, m + levels, half << levels, 2, 2), dtype=dtype)
    if levels == 0:
        return tw, levels
    # Top strides (>= N): identity keeps the slots apart in the middle blocks.
    tw[0::2, :levels, :, 0, 0] = 1
    tw[0::2, :levels, :, 1, 1] = 1
    tw[1::2, m:, :, 0, 0] = 1
    tw[1::2, m:, :, 1, 1] = 1
    # Replicate: y[p] = y[q] = x[p], from stride K*N/2 down to N (the first factors of
    # block 0), copies slot 0 (the zero-padded input) into every slot.
    top = tw[0, :levels]
    top[...] = 0
    top[..., 0, 0] = 1
    top[..., 1, 0] = 1
    # Sum: y[p] = x[p] + x[q], y[q] = 0, from stride N up to K*N/2 (the last factors of
    # the last block), gathers every slot into slot 0, which holds the output.
    top = tw[-1, m:]
    top[...] = 0
    top[..., 0, 0] = 1
    top[..., 0, 1] = 1
    return tw, levels


def ksum(terms):
    """Sum of K-matrices as one K-matrix (exported as ``kmatrix.sum``; ``A + B`` uses it).

    Parameters
    ----------
    terms : sequence of KMatrix
        ``k >= 1`` operators of one shape. Widths, internal sizes and dtypes may differ.

    Returns
    -------
    KMatrix
        ``sum(terms)`` with dtype ``numpy.result_type`` of all terms, width
        ``max(w_i)`` and expansion ``2**ceil(log2 k) * max(e_i)``.

    Raises
    ------
    TypeError
        If ``terms`` is not a sequence of :class:`KMatrix`.
    ValueError
        If it is empty or the shapes differ.

    Notes
    -----
    With ``K = 2**ceil(log2 k)`` and ``N = max(N_i)`` the result has internal size
    ``K N`` and computes

    .. math:: \\sum_t T_t = \\Sigma \\,\\mathrm{diag}(E_1, \\dots, E_k, 0, \\dots)\\, R,

    where ``R`` copies the zero-padded input into all ``K`` slots of size ``N`` (0/1
    maps ``[[1, 0], [1, 0]]`` in the top ``log2 K`` strides of the first block, which
    decreases its stride so those factors come first), the block-diagonal part holds
    term ``t``'s factors at the strides below ``N`` in slot ``t`` (narrower terms padded
    with identity blocks, smaller ones embedded), and ``Sigma`` adds the slots back into
    slot 0 (0/1 maps ``[[1, 1], [0, 0]]`` in the top strides of the last block). The 0/1
    maps are exact, so only the ``log2 K`` additions of the terms' outputs round.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> A, B, C = (km.random(6, rng=s) for s in range(3))
    >>> S = km.sum([A, B, C])
    >>> S.width, S.expansion, S.internal_size
    (1, 5.333333333333333, 32)
    >>> np.allclose(S.toarray(), A.toarray() + B.toarray() + C.toarray())
    True
    """
    if isinstance(terms, KMatrix):
        raise TypeError("ksum expects a sequence of KMatrix (e.g. [A, B]); got a single KMatrix")
    try:
        terms = list(terms)
    except TypeError:
        raise TypeError(
            f"ksum expects a sequence of KMatrix; got {type(terms).__name__}"
        ) from None
    if not terms:
        raise ValueError("ksum expects at least one KMatrix; got an empty sequence")
    for i, t in enumerate(terms):
        _check_kmatrix(t, f"terms[{i}]")
    shapes = [t.shape for t in terms]
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"ksum expects KMatrix terms of one shape; got shapes {shapes}")
    dtype = np.result_type(*(t.dtype for t in terms))
    m = max(t.twiddle.shape[1] for t in terms)
    nblocks = max(t.twiddle.shape[0] for t in terms)
    if len(terms) == 1:
        return KMatrix(_pad_blocks(embed_twiddle(terms[0].twiddle.astype(dtype), m), nblocks),
                       shapes[0])
    tw, levels = _sum_frame(nblocks, m, len(terms), dtype)
    half = 1 << (m - 1)
    for t, term in enumerate(terms):
        part = _pad_blocks(embed_twiddle(term.twiddle.astype(dtype), m), nblocks)
        slot = slice(t * half, (t + 1) * half)
        tw[0::2, levels:, slot] = part[0::2]
        tw[1::2, :m, slot] = part[1::2]
    return KMatrix._from_owned(tw, shapes[0])


def _spread(n_outer, n_inner, stride_inner, size):
    """Permutation ``p`` of ``range(size)`` with ``p[a*stride_inner + b] = a*n_inner + b``.

    For ``a < n_outer``, ``b < n_inner``; the other positions take the other indices in
    increasing order. ``x[p]`` moves packed index ``a*n_inner + b`` to ``a*stride_inner + b``
    and, as ``x`` is zero beyond the packed range, leaves zeros everywhere else.
    """
    a, b = np.meshgrid(np.arange(n_outer), np.arange(n_inner), indexing="ij")
    spread = (a * stride_inner + b).ravel()
    packed = (a * n_inner + b).ravel()
    p = np.empty(size, dtype=np.intp)
    p[spread] = packed
    free = np.ones(size, dtype=bool)
    free[spread] = False
    p[free] = np.arange(packed.size, size)
    return p


def kron(A, B):
    """Kronecker product ``numpy.kron(A, B)`` of two K-matrices, as a K-matrix.

    Parameters
    ----------
    A, B : KMatrix
        Operators of shapes ``(ra, ca)`` and ``(rb, cb)``.

    Returns
    -------
    KMatrix
        Shape ``(ra*rb, ca*cb)``, dtype ``numpy.result_type(A.dtype, B.dtype)``,
        internal size ``NA * NB``. Width ``max(wA, wB)`` when the columns are aligned
        (``ca == 1`` or ``cb == NB``) and the rows are aligned (``ra == 1`` or
        ``rb == NB``), plus one for each side that is not. Expansion
        ``NA NB / max(ra rb, ca cb)``, which is ``eA * eB`` for square operands.

    Notes
    -----
    Internally coordinate ``ia*NB + ib`` carries ``(ia, ib)``, so

    .. math:: E_A \\otimes E_B = \\prod_b (A_b \\otimes I)(I \\otimes B_b)

    and the two factors commute: block ``b`` of the result runs ``A``'s block ``b`` at
    strides ``s * NB`` (pair index ``i`` uses ``A``'s pair ``i // NB``) and ``B``'s block
    ``b`` at strides below ``NB`` (pair ``i % (NB/2)``), each in the block's stride
    order. The narrower operand is padded with identity blocks. No value is
    multiplied, so the product is exact.

    The logical input index ``ja*cb + jb`` sits at internal ``ja*NB + jb`` only when
    the columns are aligned; otherwise an exact 0/1 permutation K-matrix (width 1,
    :func:`kmatrix.permutation`) spreads the input first, and likewise one packs the
    output rows.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> A, B = km.random(4, rng=0), km.random(2, width=2, rng=1)
    >>> C = km.kron(A, B)
    >>> C.shape, C.width, C.expansion
    ((8, 8), 2, 1.0)
    >>> np.allclose(C.toarray(), np.kron(A.toarray(), B.toarray()))
    True
    """
    _check_kmatrix(A, "A")
    _check_kmatrix(B, "B")
    dtype = np.result_type(A.dtype, B.dtype)
    nblocks = max(A.twiddle.shape[0], B.twiddle.shape[0])
    ta = _pad_blocks(A.twiddle.astype(dtype), nblocks)
    tb = _pad_blocks(B.twiddle.astype(dtype), nblocks)
    ma, mb = ta.shape[1], tb.shape[1]
    na, nb = 1 << ma, 1 << mb
    tw = np.empty((nblocks, ma + mb, na * nb // 2, 2, 2), dtype=dtype)
    # Even blocks decrease the stride: A's (large) strides first, then B's.
    tw[0::2, :ma] = np.repeat(ta[0::2], nb, axis=2)
    tw[0::2, ma:] = np.tile(tb[0::2], (1, 1, na, 1, 1))
    # Odd blocks increase it: B's strides first, then A's.
    tw[1::2, :mb] = np.tile(tb[1::2], (1, 1, na, 1, 1))
    tw[1::2, mb:] = np.repeat(ta[1::2], nb, axis=2)
    (ra, ca), (rb, cb) = A.shape, B.shape
    shape = (ra * rb, ca * cb)
    size = na * nb
    core = KMatrix(tw)
    cols_aligned = ca == 1 or cb == nb
    rows_aligned = ra == 1 or rb == nb
    if cols_aligned and rows_aligned:
        return KMatrix(tw, shape)
    from .permutation import permutation

    if not cols_aligned:
        # Need z[ja*NB + jb] = x[ja*cb + jb]: P @ x == x[p] with p[spread] = packed.
        core = core @ permutation(_spread(ca, cb, nb, size)).astype(dtype)
    if not rows_aligned:
        # Need y[ia*rb + ib] = z[ia*NB + ib]: the inverse of the spreading permutation.
        core = permutation(np.argsort(_spread(ra, rb, nb, size))).astype(dtype) @ core
    return KMatrix(core.twiddle, shape)

"""Closure of K-matrices under sums and Kronecker products.

Both constructions rearrange the factors of their operands into one canonical twiddle
without any arithmetic on the stored values (the twiddle-level rules are in
:mod:`kmatrix._algebra`), so the result is exact: its dense form equals the sum (or
Kronecker product) of the operands' dense forms to the rounding of applying them.
"""

from __future__ import annotations

__all__ = ["ksum", "kron"]

from collections.abc import Iterable

from .. import _algebra
from .._operator import KMatrix
from .._realmatrix import all_real


def _check_kmatrix(x, name):
    if not isinstance(x, KMatrix):
        raise TypeError(f"{name} must be a KMatrix; got {type(x).__name__}")
    return x


def ksum(terms: Iterable[KMatrix]) -> KMatrix:
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
    tw, shape = _algebra.ksum([(t.twiddle, t.shape) for t in terms])
    real = all_real(*terms)
    if len(terms) > 1:
        return KMatrix._from_owned(tw, shape, real_matrix=real)
    return KMatrix(tw, shape, real_matrix=real)


def kron(A: KMatrix, B: KMatrix) -> KMatrix:
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
    tw, shape = _algebra.kron((A.twiddle, A.shape), (B.twiddle, B.shape))
    return KMatrix._from_owned(tw, shape, real_matrix=all_real(A, B))

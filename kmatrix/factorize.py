"""Hierarchical butterfly factorization: find the butterfly inside a dense matrix.

The algorithm is the balanced-tree hierarchical factorization of Le Magoarou and
Gribonval in the form analysed by Zheng, Riccietti and Gribonval ("Butterfly
factorization with error guarantees", the ``bbtree`` of pyfaust): split the factors of
a butterfly into two halves, observe that the matrix is then a set of disjoint
rank-one blocks, take the best rank-one approximation of every block at once, and
recurse on both halves.  It is exact on exact butterflies and returns a quasi-optimal
projection of any other matrix, with its error.
"""

from __future__ import annotations

__all__ = ["factorize"]

import numbers
import warnings
from collections.abc import Sequence
from typing import Any, Literal, Union, overload

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import issparse

from ._checks import check_real, value_dtype
from ._scaling import exponent, ldexp, spread_exponent
from ._layout import identity_twiddle, log2_exact
from ._operator import KMatrix

# A column permutation, or a list of candidates (see factorize's ``perm``).
PermLike = Union[None, Literal["bitrev"], ArrayLike, Sequence[Union[None, str, ArrayLike]]]

_STRUCTURES = ("B", "B*")
_POWER_STEPS = 4


# --------------------------------------------------------------------------- rank one
def _rank_one(x):
    """Best rank-one approximation ``x[b] ~ outer(col[b], row[b])`` of a stack ``(P, p, q)``.

    The leading singular vector of each block is found on its smaller side ``d =
    min(p, q)`` by power iteration on the Gram matrix ``G`` (``x x^H`` or ``x^H x``),
    applied as two passes over ``x`` (``O(p q)`` per block), from a fixed generic start.
    On an exact rank-one block -- every block of an exact butterfly -- one step is exact
    and the next confirms it.  A block is accepted when its eigen-residual
    ``|G v - rho v|`` is at rounding level (``8 eps (p + q) rho``); the others get their
    leading singular pair from a batched SVD (at once, as soon as one block is clearly
    not rank one).  So every block gets the Eckart-Young optimum.  The singular value
    ``s`` is split evenly (``sqrt(s)`` to each side) so that the factors stay balanced;
    a zero block gives zeros.
    """
    P, p, q = x.shape
    wide = p <= q
    conj = np.conj if x.dtype.kind == "c" else (lambda a: a)

    def apply(v):  # t = the other side's vector (v^H x or x v), g = G v
        if wide:
            t = np.einsum("bpq,bp->bq", x, conj(v))
            return t, np.einsum("bpq,bq->bp", x, conj(t))
        t = np.einsum("bpq,bq->bp", x, v)
        return t, conj(np.einsum("bpq,bp->bq", x, conj(t)))

    v = np.random.default_rng(0x5EED).standard_normal((P, min(p, q))).astype(x.dtype)
    v /= np.linalg.norm(v, axis=1)[:, None]
    tiny = np.finfo(np.float64).tiny
    for step in range(_POWER_STEPS):
        t, g = apply(v)
        rho = np.einsum("bi,bi->b", t, conj(t)).real
        resid = np.linalg.norm(g - rho[:, None] * v, axis=1)
        bad = np.flatnonzero(resid > 8 * np.finfo(np.float64).eps * (p + q) * rho)
        # Stop early when some block is clearly not rank one: the SVD settles it.
        if bad.size == 0 or step == _POWER_STEPS - 1 or (step and np.any(resid > 1e-3 * rho)):
            break
        v = g / np.maximum(np.linalg.norm(g, axis=1), tiny)[:, None]
    if bad.size:
        u_b, s_b, vh_b = np.linalg.svd(x[bad], full_matrices=False)
        if wide:
            v[bad], t[bad] = u_b[:, :, 0], s_b[:, :1] * vh_b[:, 0]
        else:
            v[bad], t[bad] = conj(vh_b[:, 0]), s_b[:, :1] * u_b[:, :, 0]
    s = np.linalg.norm(t, axis=1)
    root = np.sqrt(s)
    inv = np.divide(1.0, root, out=np.zeros_like(root), where=s > 0)
    if wide:  # x ~ outer(v, t), t = v^H x
        return v * root[:, None], t * inv[:, None]
    return t * inv[:, None], conj(v) * root[:, None]  # x ~ outer(t, v^H), t = x v


# --------------------------------------------------------------------------- recursion
def _split(r):
    """Number ``k`` of low bits handled by the first factors (balanced tree)."""
    return r // 2


def _increasing(m_stack):
    """Factor a stack ``(P, s, s)`` of increasing-stride butterflies of size ``s = 2**r``.

    Returns twiddles ``(P, r, s//2, 2, 2)`` in the canonical layout of an odd block:
    factor ``j`` has stride ``2**j``; its pair index is the row index with bit ``j``
    removed.  With indices written ``(high, low)`` (``k`` low bits), the first ``k``
    factors ``R`` mix only low bits and the last ``r - k`` factors ``L`` only high bits,
    so ``M[(ih, a), (h, jl)] = L_a[ih, h] R_h[a, jl]``: for every ``(a, h)`` the block
    over ``(ih, jl)`` has rank one, and ``L_a`` (size ``2**(r-k)``) and ``R_h`` (size
    ``2**k``) are again increasing butterflies.
    """
    P, s, _ = m_stack.shape
    r = s.bit_length() - 1
    if r == 1:
        return m_stack.reshape(P, 1, 1, 2, 2).copy()
    k = _split(r)
    hi, lo = 1 << (r - k), 1 << k
    blocks = m_stack.reshape(P, hi, lo, hi, lo).transpose(0, 2, 3, 1, 4)  # (P, a, h, ih, jl)
    col, row = _rank_one(blocks.reshape(P * lo * hi, hi, lo))
    left = col.reshape(P, lo, hi, hi).transpose(0, 1, 3, 2).reshape(P * lo, hi, hi)
    right = row.reshape(P, lo, hi, lo).transpose(0, 2, 1, 3).reshape(P * hi, lo, lo)
    tl = _increasing(left)  # pair index of factor k + j: il * lo + a
    tr = _increasing(right)  # pair index of factor j < k: h * lo//2 + il
    tw = np.empty((P, r, s // 2, 2, 2), dtype=m_stack.dtype)
    tw[:, :k] = tr.reshape(P, hi, k, lo // 2, 2, 2).transpose(0, 2, 1, 3, 4, 5).reshape(
        P, k, s // 2, 2, 2
    )
    tw[:, k:] = tl.reshape(P, lo, r - k, hi // 2, 2, 2).transpose(0, 2, 3, 1, 4, 5).reshape(
        P, r - k, s // 2, 2, 2
    )
    return tw


def _dense_increasing(tw):
    """Dense ``(P, s, s)`` matrices of increasing-stride twiddles ``(P, r, s//2, 2, 2)``.

    The exact inverse of :func:`_increasing`'s bookkeeping, ``O(s**2)`` per level; it
    gives the error of the result without a pass of ``s`` columns through the kernel.
    """
    P, r, half = tw.shape[:3]
    if r == 1:
        return tw.reshape(P, 2, 2).copy()
    k = _split(r)
    hi, lo = 1 << (r - k), 1 << k
    tr = tw[:, :k].reshape(P, k, hi, lo // 2, 2, 2).transpose(0, 2, 1, 3, 4, 5)
    tl = tw[:, k:].reshape(P, r - k, hi // 2, lo, 2, 2).transpose(0, 3, 1, 2, 4, 5)
    dl = _dense_increasing(tl.reshape(P * lo, r - k, hi // 2, 2, 2)).reshape(P, lo, hi, hi)
    dr = _dense_increasing(tr.reshape(P * hi, k, lo // 2, 2, 2)).reshape(P, hi, lo, lo)
    # M[(ih, a), (h, jl)] = L_a[ih, h] R_h[a, jl], written in C order for the reshape.
    dense = np.multiply(
        dl.transpose(0, 2, 1, 3)[..., None], dr.transpose(0, 2, 1, 3)[:, None], order="C"
    )
    return dense.reshape(P, 2 * half, 2 * half)


# --------------------------------------------------------------------------- inputs
def _as_matrix(A):
    """Validate ``A``: a finite square numeric matrix of power-of-two size ``>= 2``."""
    if issparse(A) or isinstance(A, KMatrix):
        A = A.toarray()
    A = np.asarray(A)
    if A.dtype.kind not in "biufc":
        raise TypeError(f"A must be a numeric array; got dtype {A.dtype}")
    A = A.astype(value_dtype(A.dtype, name="A"), copy=False)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square 2-D matrix (n, n); got shape {A.shape}")
    n = A.shape[0]
    if n < 2 or n & (n - 1):
        raise ValueError(f"A's size n must be a power of two >= 2; got n = {n}")
    if not np.all(np.isfinite(A)):
        raise ValueError("A contains NaN or infinite entries")
    return A


def _bitrev(n):
    m = log2_exact(n)
    idx = np.arange(n)
    out = np.zeros(n, dtype=np.intp)
    for b in range(m):
        out |= ((idx >> b) & 1) << (m - 1 - b)
    return out


def _one_perm(p, n):
    """Validate one candidate: ``None`` (identity), ``"bitrev"`` or an index array."""
    if p is None:
        return None
    if isinstance(p, str):
        if p != "bitrev":
            raise ValueError(f'perm must be None, "bitrev" or an index array; got {p!r}')
        return _bitrev(n)
    arr = np.asarray(p)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        raise TypeError(f"perm must be an array of integers; got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(
            f"perm must have shape ({n},) to permute the columns of A; got {arr.shape}"
        )
    if arr.min() < 0 or arr.max() >= n:
        bad = int(arr.min() if arr.min() < 0 else arr.max())
        raise ValueError(f"perm must be a permutation of range({n}); got the index {bad}")
    counts = np.bincount(arr.astype(np.intp), minlength=n)
    if np.any(counts != 1):
        dup, missing = int(np.argmax(counts)), int(np.argmin(counts))
        raise ValueError(
            f"perm must be a permutation of range({n}); got index {dup} "
            f"{int(counts[dup])} times and index {missing} never"
        )
    return arr.astype(np.intp)


def _candidates(perm, n):
    """The list of column permutations to try (``None`` means the identity)."""
    if perm is None or isinstance(perm, str):
        return [_one_perm(perm, n)]
    arr = np.asarray(perm) if not isinstance(perm, (list, tuple)) else None
    if arr is not None and arr.ndim == 1:
        return [_one_perm(arr, n)]
    if arr is not None and arr.ndim == 2:
        return [_one_perm(row, n) for row in arr]
    items = list(perm)
    if items and all(isinstance(v, numbers.Integral) for v in items):
        return [_one_perm(np.asarray(items), n)]
    if not items:
        raise ValueError("perm must not be an empty list of candidates")
    return [_one_perm(v, n) for v in items]


# --------------------------------------------------------------------------- driver
def _inner(a, b):
    """``<a, b> = sum(conj(a) * b)`` without temporaries (and without BLAS ``dot``, whose
    threads stall on a busy machine)."""
    if a.dtype.kind != "c":
        return np.einsum("i,i->", a.ravel(), b.ravel())
    av, bv = a.reshape(-1).view(np.float64), b.reshape(-1).view(np.float64)
    re = np.einsum("i,i->", av, bv)
    im = np.einsum("i,i->", av[0::2], bv[1::2]) - np.einsum("i,i->", av[1::2], bv[0::2])
    return complex(re, im)


def _fit_increasing(M, out_dtype):
    """Increasing-stride twiddles ``(m, n//2, 2, 2)`` of ``out_dtype`` for ``M``, and the
    scale and relative Frobenius error of the operator they represent."""
    tw = _increasing(M[None])
    dense = _dense_increasing(tw)[0]
    dd = _inner(dense, dense).real
    # The least-squares scalar can only lower the error, and bounds it by 1.
    alpha = _inner(dense, M) / dd if dd > 0 else 1.0
    alpha = alpha if M.dtype.kind == "c" else float(np.real(alpha))
    tw[0, -1] *= alpha
    if np.dtype(out_dtype) == M.dtype:
        dense *= alpha
    else:  # the error of what the cast factors represent
        tw = tw.astype(out_dtype)
        dense = _dense_increasing(tw.astype(M.dtype))[0]
    dense -= M
    norm = np.sqrt(_inner(M, M).real)
    err = float(np.sqrt(_inner(dense, dense).real) / norm) if norm > 0 else float(dd > 0)
    return tw[0].astype(out_dtype, copy=False), alpha, err


@overload
def factorize(A: ArrayLike | KMatrix, *, structure: Literal["B", "B*"] = ...,
              perm: PermLike = ..., tol: float | None = ...,
              return_info: Literal[False] = ...) -> KMatrix: ...
@overload
def factorize(A: ArrayLike | KMatrix, *, structure: Literal["B", "B*"] = ...,
              perm: PermLike = ..., tol: float | None = ...,
              return_info: Literal[True]) -> tuple[KMatrix, dict[str, Any]]: ...
@overload
def factorize(A: ArrayLike | KMatrix, *, structure: Literal["B", "B*"] = ...,
              perm: PermLike = ..., tol: float | None = ...,
              return_info: bool = ...) -> KMatrix | tuple[KMatrix, dict[str, Any]]: ...


def factorize(
    A: ArrayLike | KMatrix,
    *,
    structure: Literal["B", "B*"] = "B",
    perm: PermLike = None,
    tol: float | None = None,
    return_info: bool = False,
) -> KMatrix | tuple[KMatrix, dict[str, Any]]:
    """Find the butterfly inside a dense matrix: ``A ~ B @ P`` with ``B`` a butterfly.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Dense matrix, ``n`` a power of two ``>= 2``. The factors' dtype follows the one
        dtype rule (:doc:`/guide/dtypes`): float32, float64, complex64 and complex128
        are kept, float16 gives float32, integer and boolean matrices give float64
        (the work is done in double precision).
        SciPy sparse matrices and :class:`KMatrix` operators are densified.
    structure : {"B", "B*"}, default "B"
        ``"B"``: an increasing-stride butterfly (stride 1 applied first), stored in block
        1 of a ``BB*`` with block 0 the identity. ``"B*"``: a decreasing-stride one,
        stored in block 0 with block 1 the identity.
    perm : None, "bitrev", index array, or list of candidates, optional
        Column permutation ``p``: the butterfly is fitted to ``A[:, p]`` (so
        ``B ~ A[:, p]`` and ``B @ permutation(p) ~ A``). ``"bitrev"`` is the
        bit-reversal. A list whose entries are candidates (``None``, ``"bitrev"`` or
        index arrays; a 2-D integer array is a list of rows) tries each and keeps the
        one with the smallest error; a flat list of integers is one index array.
    tol : float, optional
        If given, raise ``ValueError`` when the relative error exceeds ``tol``.
        Without it a matrix that is not a butterfly to ``sqrt(eps)`` gives a warning,
        unless ``return_info`` is set (the error is then in ``info``).
    return_info : bool, default False
        Also return a dict with ``"error"`` (relative Frobenius error
        ``|A - K|_F / |A|_F``, in [0, 1]), ``"perm"`` (the chosen index array, or None),
        ``"butterfly"`` (the KMatrix ``B`` alone), ``"scale"`` (the least-squares scalar
        folded into ``B``, for ``A`` brought to unit magnitude by a power of two), ``"structure"`` and ``"errors"`` (one per candidate).

    Returns
    -------
    K : KMatrix
        An (n, n) operator equal to ``A`` for an exact butterfly (to rounding), and to
        the hierarchical projection otherwise: ``B`` (width 1) when no permutation is
        used, ``B @ permutation(p)`` (width 2) when one is.
    info : dict
        Only with ``return_info=True``.

    Raises
    ------
    ValueError
        ``A`` not square, of a size that is not a power of two ``>= 2``, or with NaN or
        infinite entries; an unknown ``structure``; ``perm`` not a permutation of
        ``range(n)``; the error above ``tol``.
    TypeError
        ``A`` not numeric or of extended precision (longdouble); ``perm`` not
        integer; ``tol`` not a number.

    Notes
    -----
    Write an index in binary as ``(high, low)`` with ``k = r // 2`` low bits. An
    increasing butterfly ``M`` of size ``2**r`` is ``L R`` with ``R`` (the first ``k``
    factors) mixing only low bits and ``L`` only high bits, hence

    .. math:: M_{(i_h, a), (h, j_l)} = (L_a)_{i_h h} (R_h)_{a j_l},

    so every block ``(a, h)`` over ``(i_h, j_l)`` has rank one. All ``2**r`` blocks get
    their best rank-one approximation at once (Eckart-Young), which gives ``L_a`` and
    ``R_h``, themselves butterflies of half the depth; the recursion ends at ``2 x 2``
    factors (the balanced tree of Zheng, Riccietti and Gribonval, whose error is within
    a constant of the best butterfly's). A ``B*`` is the transpose of a ``B``. Finally
    ``B`` is scaled by the least-squares scalar ``<B, A>/<B, B>``. Exact butterflies
    cost ``O(n**2 log n)``; blocks that are not rank one need a small SVD each, up to
    ``O(n**2.5)`` in total. The work is done on ``A / 2**e`` with ``max |A / 2**e|`` in
    ``[1/2, 1)`` (exact), and ``2**e`` is spread over the factors, so the result and its
    relative error do not depend on the scale of ``A``. Cooley-Tukey reads ``F = B P`` with ``F[:, bitrev]`` an
    increasing butterfly, so ``factorize(F, perm="bitrev")`` is the fast DFT.

    Examples
    --------
    >>> import numpy as np, scipy.linalg, kmatrix as km
    >>> H = scipy.linalg.hadamard(16)
    >>> np.allclose(km.factorize(H).toarray(), H)
    True
    >>> F = np.fft.fft(np.eye(16))
    >>> K, info = km.factorize(F, perm="bitrev", return_info=True)
    >>> x = np.arange(16.0)
    >>> np.allclose(K @ x, np.fft.fft(x)), info["error"] < 1e-13, K.width
    (True, True, 2)
    >>> _, info = km.factorize(np.random.default_rng(0).standard_normal((16, 16)),
    ...                        return_info=True)
    >>> 0 < info["error"] < 1
    True
    """
    A = _as_matrix(A)
    if structure not in _STRUCTURES:
        raise ValueError(f'structure must be "B" or "B*"; got {structure!r}')
    tol = check_real(tol, "tol", low=0, allow_none=True)
    n = A.shape[0]
    m = log2_exact(n)
    cands = _candidates(perm, n)
    out_dtype = A.dtype
    work = np.dtype(np.complex128 if A.dtype.kind == "c" else np.float64)
    # Work on A / 2**e with max|A / 2**e| in [1/2, 1): exact, and the squared norms and
    # rank-one fits neither underflow nor overflow whatever the scale of A.
    e = exponent(A)
    A = ldexp(A.astype(work), -e)

    best = None
    errors = []
    for p in cands:
        M = (A if p is None else A.take(p, axis=1)).astype(work, copy=False)
        M = np.ascontiguousarray(M if structure == "B" else M.T)
        tw, alpha, err = _fit_increasing(M, out_dtype)
        errors.append(err)
        if best is None or err < best[3]:
            best = (p, tw, alpha, err)
    p, tw, alpha, err = best

    full = identity_twiddle(2, m, out_dtype)
    block = 1 if structure == "B" else 0
    if structure == "B":
        full[1] = tw
    else:  # A^T = B (increasing)  =>  A = B^T: reversed factors, transposed 2x2 maps
        full[0] = tw[::-1].swapaxes(-1, -2)
    # The scale 2**e back, spread over the butterfly's factors.
    full = spread_exponent(full, e, blocks=slice(block, block + 1))
    butterfly = KMatrix._from_owned(full)
    K = butterfly
    if p is not None and np.any(p != np.arange(n)):
        from .constructors.permutation import permutation

        K = butterfly @ permutation(p).astype(out_dtype)

    if tol is not None and err > tol:
        raise ValueError(
            f"A is not a {structure} butterfly{'' if p is None else ' times the permutation'} "
            f"to tolerance {tol:g}: relative error {err:.3g}"
        )
    if tol is None and not return_info and err > np.sqrt(np.finfo(out_dtype).eps):
        warnings.warn(
            f"A is not a {structure} butterfly: the result is its hierarchical projection "
            f"with relative error {err:.3g} (pass return_info=True to get it without "
            "this warning, or tol= to raise)",
            stacklevel=2,
        )
    if not return_info:
        return K
    info = {
        "error": err,
        "perm": p,
        "butterfly": butterfly,
        "scale": alpha,
        "structure": structure,
        "errors": errors,
    }
    return K, info

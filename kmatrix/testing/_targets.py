"""Structured maps with their dense definition and certificate: :func:`structured_targets`.

Re-exported by :mod:`kmatrix.testing.strategies`.  The builders of the constructors
and closure rules are here, those of the transforms in
:mod:`kmatrix.testing._transform_targets`; each draws ``(K, dense, width, expansion)``
with every side at most ``max_n``.
"""

from __future__ import annotations

import math

__all__ = ["STRUCTURED_NAMES", "StructuredTarget", "structured_targets"]

import operator
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
import scipy.linalg
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from numpy.typing import NDArray

import kmatrix as km

from .._operator import KMatrix
from ._drawing import (
    DTYPES, draw_array, elements, embedded_expansion, is_pow2, next_pow2, oracle_dense,
    padded_expansion, shape_pairs,
)
from ._operands import kmatrices, low_rank_factors, permutations, sparse_matrices
from ._transform_targets import Drawn, TRANSFORM_BUILDERS


class StructuredTarget(NamedTuple):
    """A structured map drawn by :func:`structured_targets`.

    Attributes
    ----------
    name : str
        Constructor (or closure rule) that built it.
    kmatrix : KMatrix
        The operator under test.
    dense : ndarray
        Its target, computed independently (NumPy/SciPy definition or the pure-NumPy
        oracle of the operands).
    width : int
        Width the library promises (an upper bound).
    expansion : float
        Expansion the library promises (an upper bound).
    """

    name: str
    kmatrix: KMatrix
    dense: NDArray[Any]
    width: int
    expansion: float


# ---------------------------------------------------------------------------- targets
def _t_identity(draw: st.DrawFn, max_n: int) -> Drawn:
    n = draw(st.integers(1, max_n))
    dtype = draw(st.sampled_from(DTYPES))
    return km.identity(n, dtype=dtype), np.eye(n, dtype=dtype), 1, padded_expansion(n, n)


def _t_diag(draw: st.DrawFn, max_n: int) -> Drawn:
    n = draw(st.integers(1, max_n))
    d = draw_array(draw, draw(st.sampled_from(DTYPES)), (n,))
    return km.diag(d), np.diag(d), 1, padded_expansion(n, n)


def _t_permutation(draw: st.DrawFn, max_n: int) -> Drawn:
    p = draw(permutations(st.integers(1, max_n)))
    n = p.size
    return km.permutation(p), np.eye(n)[p], 1, padded_expansion(n, n)


def _t_bit_reversal(draw: st.DrawFn, max_n: int) -> Drawn:
    bits = draw(st.integers(1, max(1, max_n.bit_length() - 1)))
    n = 1 << bits
    rev = np.array([int(format(i, f"0{bits}b")[::-1], 2) for i in range(n)])
    return km.bit_reversal(n), np.eye(n)[rev], 1, 1.0


def _t_hadamard(draw: st.DrawFn, max_n: int) -> Drawn:
    n = 1 << draw(st.integers(1, max(1, max_n.bit_length() - 1)))
    normalized = draw(st.booleans())
    dense = scipy.linalg.hadamard(n).astype(np.float64)
    if normalized:
        dense /= np.sqrt(n)
    return km.hadamard(n, normalized=normalized), dense, 1, 1.0


def _fourier(inverse: bool) -> Callable[[st.DrawFn, int], Drawn]:
    def build(draw: st.DrawFn, max_n: int) -> Drawn:
        n = draw(st.integers(1, max_n))
        norm = draw(st.sampled_from(["backward", "ortho", "forward"]))
        fft = np.fft.ifft if inverse else np.fft.fft
        K = (km.idft if inverse else km.dft)(n, norm=norm)
        # Powers of two: Cooley-Tukey; otherwise Bluestein's Toeplitz embedding.
        exp = padded_expansion(n, n) if n & (n - 1) == 0 else embedded_expansion(n, n)
        return K, fft(np.eye(n), axis=0, norm=norm), 2, exp

    return build


def _t_circulant(draw: st.DrawFn, max_n: int) -> Drawn:
    n = draw(st.integers(1, max_n))
    c = draw_array(draw, draw(st.sampled_from(DTYPES)), (n,))
    exp = padded_expansion(n, n) if n & (n - 1) == 0 else embedded_expansion(n, n)
    return km.circulant(c), scipy.linalg.circulant(c), 1, exp


def _t_toeplitz(draw: st.DrawFn, max_n: int) -> Drawn:
    dtype = draw(st.sampled_from(DTYPES))
    rows = draw(st.integers(1, max_n))
    if draw(st.booleans()):
        c, r = draw_array(draw, dtype, (rows,)), None
        K = km.toeplitz(c)
    else:
        c, r = draw_array(draw, dtype, (rows,)), draw_array(draw, dtype, (draw(st.integers(1, max_n)),))
        K = km.toeplitz(c, r)
    dense = scipy.linalg.toeplitz(c, r)
    return K, dense, 1, embedded_expansion(*dense.shape)


def _t_convolution(draw: st.DrawFn, max_n: int) -> Drawn:
    h = draw_array(draw, draw(st.sampled_from(DTYPES)), (draw(st.integers(1, max_n)),))
    n = draw(st.integers(1, max_n))
    mode = draw(st.sampled_from(["full", "same", "valid", "circular"]))
    K = km.convolution(h, n, mode=mode)
    if mode != "circular":
        dense = np.stack([np.convolve(h, e, mode) for e in np.eye(n, dtype=h.dtype)], axis=1)
        return K, dense, 1, embedded_expansion(*dense.shape)
    # The cyclic convolution on Z/n: the full convolution folded modulo n.
    dense = np.zeros((n, n), dtype=np.result_type(h.dtype, np.float64))
    for i, e in enumerate(np.eye(n, dtype=h.dtype)):
        full = np.convolve(h, e)
        np.add.at(dense[:, i], np.arange(full.size) % n, full)
    # the circulant of the wrapped filter
    return K, dense, 1, padded_expansion(n, n) if is_pow2(n) else embedded_expansion(n, n)


def _t_sparse(draw: st.DrawFn, max_n: int) -> Drawn:
    S = draw(sparse_matrices(max_side=max_n))
    n = max(S.shape)
    return km.sparse(S), S.toarray(), 4, max(2, next_pow2(max(n, S.nnz))) / n


def _t_low_rank(draw: st.DrawFn, max_n: int) -> Drawn:
    U, V = draw(low_rank_factors(max_side=max_n, ranks=st.integers(0, 4)))
    rows, cols = U.shape[0], V.shape[0]
    exp = next_pow2(U.shape[1]) * padded_expansion(rows, cols)
    return km.low_rank(U, V), U @ V.conj().T, 1, exp


def _t_sum(draw: st.DrawFn, max_n: int) -> Drawn:
    shape = draw(shape_pairs(None, max_n))
    terms = draw(st.lists(kmatrices(shapes=shape), min_size=1, max_size=3))
    dtype = np.result_type(*(t.dtype for t in terms))
    dense = sum(oracle_dense(t, dtype) for t in terms)
    exp = next_pow2(len(terms)) * max(t.expansion for t in terms)
    return km.sum(terms), dense, max(t.width for t in terms), exp


def _t_kron(draw: st.DrawFn, max_n: int) -> Drawn:
    # Each side of A (x) B is a product of the operands' sides: keep it within max_n.
    side = max(1, min(4, math.isqrt(max_n)))
    A, B = draw(kmatrices(max_side=side)), draw(kmatrices(max_side=side))
    (ra, ca), (rb, cb), nb = A.shape, B.shape, B.internal_size
    width = max(A.width, B.width) + (ca > 1 and cb < nb) + (ra > 1 and rb < nb)
    # eA * eB for square operands; in general NA * NB over the product's larger side.
    exp = A.internal_size * nb / max(ra * rb, ca * cb)
    dtype = np.result_type(A.dtype, B.dtype)
    return km.kron(A, B), np.kron(oracle_dense(A, dtype), oracle_dense(B, dtype)), width, exp


def _t_product(draw: st.DrawFn, max_n: int) -> Drawn:
    rows, inner, cols = (draw(st.integers(1, max_n)) for _ in range(3))
    A = draw(kmatrices(shapes=(rows, inner)))
    B = draw(kmatrices(shapes=(inner, cols)))
    # max(eA, eB) unless the inner side is the largest: the internal size is shared.
    exp = max(A.internal_size, B.internal_size) / max(rows, cols)
    dtype = np.result_type(A.dtype, B.dtype)
    return A @ B, oracle_dense(A, dtype) @ oracle_dense(B, dtype), A.width + B.width, exp


def _t_scaled(draw: st.DrawFn, max_n: int) -> Drawn:
    A = draw(kmatrices(max_side=max_n))
    c = draw(elements(A.dtype))
    c = complex(c) if A.dtype.kind == "c" else float(c)
    # c * A has the dtype SciPy gives scaled operators (float64 for a float32 A and a
    # Python float before SciPy 1.18): the target is built in that dtype.
    S = c * A
    return S, c * oracle_dense(A, S.dtype), A.width, A.expansion


_BUILDERS: dict[str, Callable[[st.DrawFn, int], Drawn]] = {
    "identity": _t_identity,
    "diag": _t_diag,
    "permutation": _t_permutation,
    "bit_reversal": _t_bit_reversal,
    "hadamard": _t_hadamard,
    "dft": _fourier(False),
    "idft": _fourier(True),
    "circulant": _t_circulant,
    "toeplitz": _t_toeplitz,
    "convolution": _t_convolution,
    "sparse": _t_sparse,
    "low_rank": _t_low_rank,
    "sum": _t_sum,
    "kron": _t_kron,
    "product": _t_product,
    "scaled": _t_scaled,
    **TRANSFORM_BUILDERS,
}

STRUCTURED_NAMES = tuple(_BUILDERS)


def structured_targets(
    names: Iterable[str] | None = None, max_n: int = 16
) -> SearchStrategy[StructuredTarget]:
    """Structured maps with their dense definition and promised certificate.

    Parameters
    ----------
    names : sequence of str, optional
        Constructors to draw from (default all of :data:`STRUCTURED_NAMES`):
        ``identity``, ``diag``, ``permutation``, ``bit_reversal``, ``hadamard``,
        ``dft``, ``idft``, ``circulant``, ``toeplitz``, ``convolution``, ``sparse``,
        ``low_rank``, the closure rules ``sum``, ``kron``, ``product`` (``A @ B``),
        ``scaled`` (``c * A``) applied to random K-matrices, and the transforms
        ``dct``, ``dst``, ``idct``, ``idst`` (types 1-4, every ``norm`` and
        ``orthogonalize``), ``dht``, ``haar``, ``dftn``, ``idftn``, ``dctn``, ``dstn``,
        ``idctn``, ``idstn`` (2-D shapes), ``convolution2d`` and ``from_circuit``
        (circuits drawn by :func:`circuits`).  ``convolution`` draws every ``mode``,
        ``"circular"`` included.
    max_n : int, default 16
        Largest side of the operators drawn (for the 2-D transforms: of the operator on
        the flattened array, so ``rows * cols <= max_n``).

    Returns
    -------
    SearchStrategy of StructuredTarget
        ``(name, kmatrix, dense, width, expansion)``: the dense target comes from the
        NumPy/SciPy definition (``numpy.fft``, ``scipy.fft``'s real transforms,
        ``scipy.linalg.hadamard``, ``scipy.linalg.circulant``/``toeplitz``,
        ``numpy.convolve``, ``scipy.signal.convolve2d``, ``S.toarray()``,
        ``U @ V.conj().T``, the Hartley and Haar transforms written out, the circuit
        evaluated gate by gate) or, for the closure rules, from the pure-NumPy oracle of the
        operands; ``width`` and ``expansion`` are the bounds of the certificate table in the theory page
        (for sizes that are not powers of two, the expansion that padding or the
        circulant embedding of size ``2**ceil(log2(rows + cols - 1))`` forces).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from kmatrix.testing import assert_certificate, assert_matches_dense
    >>> from kmatrix.testing.strategies import structured_targets
    >>> @settings(max_examples=5, deadline=None)
    ... @given(structured_targets(names=["dct", "dctn", "haar"], max_n=8))
    ... def test_transforms(t):
    ...     assert_matches_dense(t.kmatrix, t.dense)
    ...     assert_certificate(t.kmatrix, width=t.width, expansion=t.expansion)
    >>> test_transforms()
    """
    names = STRUCTURED_NAMES if names is None else tuple(names)
    unknown = [n for n in names if n not in _BUILDERS]
    if unknown or not names:
        raise ValueError(f"names must be a non-empty subset of {STRUCTURED_NAMES}; got {names}")
    max_n = operator.index(max_n)
    if max_n < 1:
        raise ValueError(f"max_n must be >= 1; got {max_n}")

    @st.composite
    def target(draw: st.DrawFn) -> StructuredTarget:
        name = draw(st.sampled_from(names))
        K, dense, width, expansion = _BUILDERS[name](draw, max_n)
        return StructuredTarget(name, K, np.asarray(dense), int(width), float(expansion))

    return target()



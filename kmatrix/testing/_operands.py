"""Hypothesis strategies for operands: K-matrices, permutations, sparse and low-rank data, circuits.

Re-exported by :mod:`kmatrix.testing.strategies`, which documents them.
"""

from __future__ import annotations

__all__ = ["kmatrices", "permutations", "sparse_matrices", "low_rank_factors", "Circuit", "circuits"]

import operator
from typing import Any, NamedTuple, Union

import numpy as np
import scipy.sparse
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.strategies import SearchStrategy
from numpy.typing import DTypeLike, NDArray

import kmatrix as km

from .._operator import KMatrix
from ._drawing import DTYPES, as_strategy, draw_array, next_pow2, shape_pairs
from .circuits import evaluate_circuit

# A value or a strategy of values, as every argument of the strategies takes.
ShapeArg = Union[int, tuple[int, int], SearchStrategy[Any]]
DTypeArg = Union[DTypeLike, SearchStrategy[Any]]

# ---------------------------------------------------------------------------- strategies
@st.composite
def kmatrices(
    draw: st.DrawFn,
    shapes: ShapeArg | None = None,
    widths: int | SearchStrategy[int] | None = None,
    dtypes: DTypeArg | None = None,
    expansions: float | SearchStrategy[float] | None = None,
    inits: str | SearchStrategy[str] | None = None,
    max_side: int = 16,
) -> KMatrix:
    """Random K-matrices built with :func:`kmatrix.random`.

    Parameters
    ----------
    shapes : int, (int, int) or strategy, optional
        Logical shapes; default ``(rows, cols)`` with sides in ``[1, max_side]``.
    widths : int or strategy, optional
        Default ``1`` or ``2``.
    dtypes : dtype or strategy, optional
        Default any of float32, float64, complex64, complex128.
    expansions : float or strategy, optional
        Requested expansion; default ``1`` or ``2``.
    inits : str or strategy, optional
        ``"randn"``, ``"ortho"`` or ``"identity"``; default ``"randn"`` or ``"ortho"``.
    max_side : int, default 16

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from kmatrix.testing import assert_adjoint
    >>> from kmatrix.testing.strategies import kmatrices
    >>> @settings(max_examples=5, deadline=None)
    ... @given(kmatrices(widths=2, dtypes="complex128"))
    ... def test_dot(K):
    ...     assert K.width == 2
    ...     assert_adjoint(K, rng=0)
    >>> test_dot()
    """
    rows, cols = draw(shape_pairs(shapes, max_side))
    width = draw(st.integers(1, 2) if widths is None else as_strategy(widths))
    dtype = draw(st.sampled_from(DTYPES) if dtypes is None else as_strategy(dtypes))
    expansion = draw(st.sampled_from([1, 2]) if expansions is None else as_strategy(expansions))
    init = draw(st.sampled_from(["randn", "ortho"]) if inits is None else as_strategy(inits))
    seed = draw(st.integers(0, 2**32 - 1))
    return km.random((rows, cols), width=width, expansion=expansion, dtype=dtype, init=init,
                     rng=seed)


def permutations(n: int | SearchStrategy[int] | None = None) -> SearchStrategy[NDArray[np.intp]]:
    """Permutations of ``range(n)`` as ``numpy.intp`` index arrays.

    Parameters
    ----------
    n : int or strategy, optional
        Size; default an integer in ``[1, 16]``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from kmatrix.testing.strategies import permutations
    >>> @settings(max_examples=5, deadline=None)
    ... @given(permutations(6))
    ... def test_is_permutation(p):
    ...     assert sorted(p) == list(range(6))
    >>> test_is_permutation()
    """
    if n is None:
        n = st.integers(1, 16)
    if isinstance(n, SearchStrategy):
        return n.flatmap(permutations)
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    return st.permutations(range(n)).map(lambda p: np.array(p, dtype=np.intp))


@st.composite
def sparse_matrices(
    draw: st.DrawFn,
    shapes: ShapeArg | None = None,
    dtypes: DTypeArg | None = None,
    formats: str | SearchStrategy[str] | None = None,
    containers: str | SearchStrategy[str] | None = None,
    max_side: int = 16,
) -> scipy.sparse.sparray | scipy.sparse.spmatrix:
    """SciPy sparse matrices with an arbitrary pattern (empty and full ones included).

    Parameters
    ----------
    shapes : int, (int, int) or strategy, optional
        Default sides in ``[1, max_side]``.
    dtypes : dtype or strategy, optional
        Default any of the four supported dtypes.
    formats : str or strategy, optional
        SciPy format name (``"csr"``, ``"csc"``, ``"coo"``, ``"lil"``, ``"dok"``, ...);
        default ``"csr"``, ``"csc"`` or ``"coo"``.
    containers : {"array", "matrix"} or strategy, optional
        ``sparray`` or legacy ``spmatrix``; default either.
    max_side : int, default 16

    Notes
    -----
    Stored values are drawn from ``[-10, 10]`` (complex: modulus ``<= 10``) and may
    include explicit zeros; ``S.nnz`` counts stored entries.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from kmatrix.testing.strategies import sparse_matrices
    >>> @settings(max_examples=5, deadline=None)
    ... @given(sparse_matrices(shapes=(3, 5), formats="csc"))
    ... def test_shape(S):
    ...     assert S.shape == (3, 5) and S.format == "csc"
    >>> test_shape()
    """
    rows, cols = draw(shape_pairs(shapes, max_side))
    dtype = np.dtype(draw(st.sampled_from(DTYPES) if dtypes is None else as_strategy(dtypes)))
    fmt = draw(st.sampled_from(["csr", "csc", "coo"]) if formats is None else as_strategy(formats))
    container = draw(
        st.sampled_from(["array", "matrix"]) if containers is None else as_strategy(containers)
    )
    if container not in ("array", "matrix"):
        raise ValueError(f"containers must be 'array' or 'matrix'; got {container!r}")
    mask = draw(hnp.arrays(np.bool_, (rows, cols)))
    values = draw_array(draw, dtype, (rows, cols))
    i, j = np.nonzero(mask)
    cls = scipy.sparse.coo_array if container == "array" else scipy.sparse.coo_matrix
    return cls((values[i, j], (i, j)), shape=(rows, cols), dtype=dtype).asformat(fmt)


@st.composite
def low_rank_factors(
    draw: st.DrawFn,
    shapes: ShapeArg | None = None,
    ranks: int | SearchStrategy[int] | None = None,
    dtypes: DTypeArg | None = None,
    max_side: int = 16,
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Factor pairs ``(U, V)`` of shapes ``(rows, r)`` and ``(cols, r)``.

    Parameters
    ----------
    shapes : int, (int, int) or strategy, optional
        ``(rows, cols)`` of ``U @ V.conj().T``; default sides in ``[1, max_side]``.
    ranks : int or strategy, optional
        Default ``r`` in ``[1, 4]``.
    dtypes : dtype or strategy, optional
        Default any of the four supported dtypes (both factors share it).
    max_side : int, default 16

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> import kmatrix as km
    >>> from kmatrix.testing import assert_matches_dense
    >>> from kmatrix.testing.strategies import low_rank_factors
    >>> @settings(max_examples=5, deadline=None)
    ... @given(low_rank_factors(ranks=2))
    ... def test_low_rank(f):
    ...     U, V = f
    ...     assert_matches_dense(km.low_rank(U, V), U @ V.conj().T)
    >>> test_low_rank()
    """
    rows, cols = draw(shape_pairs(shapes, max_side))
    r = draw(st.integers(1, 4) if ranks is None else as_strategy(ranks))
    dtype = draw(st.sampled_from(DTYPES) if dtypes is None else as_strategy(dtypes))
    return draw_array(draw, dtype, (rows, r)), draw_array(draw, dtype, (cols, r))


# ---------------------------------------------------------------------------- circuits
class Circuit(NamedTuple):
    """A linear arithmetic circuit drawn by :func:`circuits`, with what it computes.

    Attributes
    ----------
    n : int
        Number of inputs.
    gates : list of (int, number, int, number)
        Gate ``g`` creates wire ``n + g = a * w[i] + b * w[j]``.
    outputs : list of int
        Wires read out (the rows).
    dense : ndarray, shape (len(outputs), n)
        The matrix of the circuit, from direct evaluation on the identity.
    depth : int
        Longest path from an input to an output (0 when every output is an input).
    width : int
        Width :func:`kmatrix.from_circuit` promises: ``2 max(depth, 1) + 2``.
    expansion : float
        Expansion it promises: ``2**ceil(log2 max(2, n + 2 s, 2 m)) / max(n, m)``.
    """

    n: int
    gates: list[tuple[int, complex, int, complex]]
    outputs: list[int]
    dense: NDArray[Any]
    depth: int
    width: int
    expansion: float


@st.composite
def circuits(
    draw: st.DrawFn,
    n: int | SearchStrategy[int] | None = None,
    max_gates: int = 12,
    max_outputs: int = 6,
    complex_weights: bool | SearchStrategy[bool] | None = None,
) -> Circuit:
    """Random linear arithmetic circuits with their matrix and promised certificate.

    Parameters
    ----------
    n : int or strategy, optional
        Number of inputs; default ``1..6``.
    max_gates : int, default 12
    max_outputs : int, default 6
        Outputs are drawn with repeats allowed (``1..max_outputs`` of them).
    complex_weights : bool or strategy, optional
        Default either. Weights include exact zeros and ``+-1`` so that dropped inputs,
        constant-zero gates and repeated inputs (``i == j``) occur.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> import kmatrix as km
    >>> from kmatrix.testing import assert_certificate, assert_matches_dense
    >>> from kmatrix.testing.strategies import circuits
    >>> @settings(max_examples=5, deadline=None)
    ... @given(circuits())
    ... def test_theorem_1(c):
    ...     K = km.from_circuit(c.n, c.gates, c.outputs)
    ...     assert_matches_dense(K, c.dense)
    ...     assert_certificate(K, width=c.width, expansion=c.expansion)
    >>> test_theorem_1()
    """
    n = draw(st.integers(1, 6) if n is None else as_strategy(n))
    cplx = draw(st.booleans() if complex_weights is None else as_strategy(complex_weights))
    real = st.one_of(st.sampled_from([0.0, 1.0, -1.0]), st.floats(-2, 2, allow_subnormal=False))
    weight = st.builds(complex, real, real) if cplx else real
    s = draw(st.integers(0, max_gates))
    gates, depth = [], [0] * n
    for g in range(s):
        i, j = draw(st.integers(0, n + g - 1)), draw(st.integers(0, n + g - 1))
        gates.append((i, draw(weight), j, draw(weight)))
        depth.append(1 + max(depth[i], depth[j]))
    outputs = draw(st.lists(st.integers(0, n + s - 1), min_size=1, max_size=max_outputs))
    m = len(outputs)
    dense = evaluate_circuit(n, gates, outputs, np.eye(n))
    d = max(depth[w] for w in outputs)
    big = max(2, next_pow2(max(n + 2 * s, 2 * m)))
    return Circuit(n, gates, outputs, dense, d, 2 * max(d, 1) + 2, big / max(n, m))

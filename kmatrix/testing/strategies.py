"""Hypothesis strategies for K-matrices and the structured maps they represent.

Every argument that chooses something (a shape, a dtype, a width ...) takes either a
plain value or a Hypothesis strategy, so ``kmatrices(shapes=(4, 8))`` and
``kmatrices(shapes=st.tuples(st.integers(1, 4), st.just(8)))`` both work. Values are
drawn by Hypothesis (not from a hidden random stream) wherever they are small, so
failures shrink to minimal examples.

:func:`structured_targets` draws a structured map together with the certificate the
library promises for it (the certificate table of the theory page), which makes an expressivity claim a
three-line property test:

Examples
--------
>>> from hypothesis import given, settings
>>> from kmatrix.testing import assert_certificate, assert_matches_dense
>>> from kmatrix.testing.strategies import structured_targets
>>> @settings(max_examples=5, deadline=None)
... @given(structured_targets(names=["low_rank", "sum"]))
... def test_expressivity(t):
...     assert_matches_dense(t.kmatrix, t.dense)
...     assert_certificate(t.kmatrix, width=t.width, expansion=t.expansion)
>>> test_expressivity()
"""

__all__ = [
    "DTYPES",
    "STRUCTURED_NAMES",
    "StructuredTarget",
    "kmatrices",
    "permutations",
    "sparse_matrices",
    "low_rank_factors",
    "structured_targets",
    "Circuit",
    "circuits",
]

import operator
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.strategies import SearchStrategy

import kmatrix as km

from .._layout import SUPPORTED_DTYPES, internal_size_for
from .._reference import dense_reference
from .circuits import evaluate_circuit

DTYPES = tuple(SUPPORTED_DTYPES)

STRUCTURED_NAMES = (
    "identity",
    "diag",
    "permutation",
    "bit_reversal",
    "hadamard",
    "dft",
    "idft",
    "circulant",
    "toeplitz",
    "convolution",
    "sparse",
    "low_rank",
    "sum",
    "kron",
    "product",
    "scaled",
)


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
    kmatrix: km.KMatrix
    dense: np.ndarray
    width: int
    expansion: float


# ---------------------------------------------------------------------------- helpers
def _strategy(x):
    return x if isinstance(x, SearchStrategy) else st.just(x)


def _as_pair(shape):
    if isinstance(shape, (tuple, list)):
        rows, cols = shape
        return operator.index(rows), operator.index(cols)
    n = operator.index(shape)
    return n, n


def _shapes(shapes, max_side):
    if shapes is None:
        return st.tuples(st.integers(1, max_side), st.integers(1, max_side))
    return _strategy(shapes).map(_as_pair)


def _pow2(x):
    """Smallest power of two ``>= x`` (1 for ``x <= 1``)."""
    return 1 << max(int(x) - 1, 0).bit_length()


def _padded(rows, cols):
    """Expansion that padding alone forces for a ``rows x cols`` operator."""
    return internal_size_for(rows, cols) / max(rows, cols)


def _embedded(rows, cols):
    """Expansion of a ``rows x cols`` Toeplitz embedded in a circulant (``rows + cols - 1``)."""
    return max(2, _pow2(rows + cols - 1)) / max(rows, cols)


def _elements(dtype, magnitude=10.0):
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        # Hypothesis bounds the exact modulus; the modulus computed in single precision
        # can round above it, so leave a margin of a few ulps.
        return st.complex_numbers(
            max_magnitude=magnitude * (1 - 2.0**-20), allow_nan=False, allow_infinity=False,
            allow_subnormal=False, width=8 * dtype.itemsize,
        )
    return st.floats(
        -magnitude, magnitude, allow_nan=False, allow_infinity=False,
        allow_subnormal=False, width=8 * dtype.itemsize,
    )


def _array(draw, dtype, shape):
    return draw(hnp.arrays(np.dtype(dtype), shape, elements=_elements(dtype)))


def _dense(K, dtype=None):
    """The oracle's dense form of ``K``, computed in ``dtype`` (the result dtype of a rule)."""
    tw = np.asarray(K.twiddle)
    return dense_reference(tw if dtype is None else tw.astype(dtype), K.shape)


# ---------------------------------------------------------------------------- strategies
@st.composite
def kmatrices(draw, shapes=None, widths=None, dtypes=None, expansions=None, inits=None,
              max_side=16):
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
    rows, cols = draw(_shapes(shapes, max_side))
    width = draw(st.integers(1, 2) if widths is None else _strategy(widths))
    dtype = draw(st.sampled_from(DTYPES) if dtypes is None else _strategy(dtypes))
    expansion = draw(st.sampled_from([1, 2]) if expansions is None else _strategy(expansions))
    init = draw(st.sampled_from(["randn", "ortho"]) if inits is None else _strategy(inits))
    seed = draw(st.integers(0, 2**32 - 1))
    return km.random((rows, cols), width=width, expansion=expansion, dtype=dtype, init=init,
                     rng=seed)


def permutations(n=None):
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
def sparse_matrices(draw, shapes=None, dtypes=None, formats=None, containers=None,
                    max_side=16):
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
    rows, cols = draw(_shapes(shapes, max_side))
    dtype = np.dtype(draw(st.sampled_from(DTYPES) if dtypes is None else _strategy(dtypes)))
    fmt = draw(st.sampled_from(["csr", "csc", "coo"]) if formats is None else _strategy(formats))
    container = draw(
        st.sampled_from(["array", "matrix"]) if containers is None else _strategy(containers)
    )
    if container not in ("array", "matrix"):
        raise ValueError(f"containers must be 'array' or 'matrix'; got {container!r}")
    mask = draw(hnp.arrays(np.bool_, (rows, cols)))
    values = _array(draw, dtype, (rows, cols))
    i, j = np.nonzero(mask)
    cls = scipy.sparse.coo_array if container == "array" else scipy.sparse.coo_matrix
    return cls((values[i, j], (i, j)), shape=(rows, cols), dtype=dtype).asformat(fmt)


@st.composite
def low_rank_factors(draw, shapes=None, ranks=None, dtypes=None, max_side=16):
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
    rows, cols = draw(_shapes(shapes, max_side))
    r = draw(st.integers(1, 4) if ranks is None else _strategy(ranks))
    dtype = draw(st.sampled_from(DTYPES) if dtypes is None else _strategy(dtypes))
    return _array(draw, dtype, (rows, r)), _array(draw, dtype, (cols, r))


# ---------------------------------------------------------------------------- targets
def _t_identity(draw, max_n):
    n = draw(st.integers(1, max_n))
    dtype = draw(st.sampled_from(DTYPES))
    return km.identity(n, dtype=dtype), np.eye(n, dtype=dtype), 1, _padded(n, n)


def _t_diag(draw, max_n):
    n = draw(st.integers(1, max_n))
    d = _array(draw, draw(st.sampled_from(DTYPES)), (n,))
    return km.diag(d), np.diag(d), 1, _padded(n, n)


def _t_permutation(draw, max_n):
    p = draw(permutations(st.integers(1, max_n)))
    n = p.size
    return km.permutation(p), np.eye(n)[p], 1, _padded(n, n)


def _t_bit_reversal(draw, max_n):
    bits = draw(st.integers(1, max(1, max_n.bit_length() - 1)))
    n = 1 << bits
    rev = np.array([int(format(i, f"0{bits}b")[::-1], 2) for i in range(n)])
    return km.bit_reversal(n), np.eye(n)[rev], 1, 1.0


def _t_hadamard(draw, max_n):
    n = 1 << draw(st.integers(1, max(1, max_n.bit_length() - 1)))
    normalized = draw(st.booleans())
    dense = scipy.linalg.hadamard(n).astype(np.float64)
    if normalized:
        dense /= np.sqrt(n)
    return km.hadamard(n, normalized=normalized), dense, 1, 1.0


def _fourier(inverse):
    def build(draw, max_n):
        n = draw(st.integers(1, max_n))
        norm = draw(st.sampled_from(["backward", "ortho", "forward"]))
        fft = np.fft.ifft if inverse else np.fft.fft
        K = (km.idft if inverse else km.dft)(n, norm=norm)
        # Powers of two: Cooley-Tukey; otherwise Bluestein's Toeplitz embedding.
        exp = _padded(n, n) if n & (n - 1) == 0 else _embedded(n, n)
        return K, fft(np.eye(n), axis=0, norm=norm), 2, exp

    return build


def _t_circulant(draw, max_n):
    n = draw(st.integers(1, max_n))
    c = _array(draw, draw(st.sampled_from(DTYPES)), (n,))
    exp = _padded(n, n) if n & (n - 1) == 0 else _embedded(n, n)
    return km.circulant(c), scipy.linalg.circulant(c), 1, exp


def _t_toeplitz(draw, max_n):
    dtype = draw(st.sampled_from(DTYPES))
    rows = draw(st.integers(1, max_n))
    if draw(st.booleans()):
        c, r = _array(draw, dtype, (rows,)), None
        K = km.toeplitz(c)
    else:
        c, r = _array(draw, dtype, (rows,)), _array(draw, dtype, (draw(st.integers(1, max_n)),))
        K = km.toeplitz(c, r)
    dense = scipy.linalg.toeplitz(c, r)
    return K, dense, 1, _embedded(*dense.shape)


def _t_convolution(draw, max_n):
    h = _array(draw, draw(st.sampled_from(DTYPES)), (draw(st.integers(1, max_n)),))
    n = draw(st.integers(1, max_n))
    mode = draw(st.sampled_from(["full", "same", "valid"]))
    dense = np.stack([np.convolve(h, e, mode) for e in np.eye(n, dtype=h.dtype)], axis=1)
    return km.convolution(h, n, mode=mode), dense, 1, _embedded(*dense.shape)


def _t_sparse(draw, max_n):
    S = draw(sparse_matrices(max_side=max_n))
    n = max(S.shape)
    return km.sparse(S), S.toarray(), 4, max(2, _pow2(max(n, S.nnz))) / n


def _t_low_rank(draw, max_n):
    U, V = draw(low_rank_factors(max_side=max_n, ranks=st.integers(0, 4)))
    rows, cols = U.shape[0], V.shape[0]
    exp = _pow2(U.shape[1]) * _padded(rows, cols)
    return km.low_rank(U, V), U @ V.conj().T, 1, exp


def _t_sum(draw, max_n):
    shape = draw(_shapes(None, max_n))
    terms = draw(st.lists(kmatrices(shapes=shape), min_size=1, max_size=3))
    dtype = np.result_type(*(t.dtype for t in terms))
    dense = sum(_dense(t, dtype) for t in terms)
    exp = _pow2(len(terms)) * max(t.expansion for t in terms)
    return km.sum(terms), dense, max(t.width for t in terms), exp


def _t_kron(draw, max_n):
    side = max(1, min(4, max_n))
    A, B = draw(kmatrices(max_side=side)), draw(kmatrices(max_side=side))
    (ra, ca), (rb, cb), nb = A.shape, B.shape, B.internal_size
    width = max(A.width, B.width) + (ca > 1 and cb < nb) + (ra > 1 and rb < nb)
    # eA * eB for square operands; in general NA * NB over the product's larger side.
    exp = A.internal_size * nb / max(ra * rb, ca * cb)
    dtype = np.result_type(A.dtype, B.dtype)
    return km.kron(A, B), np.kron(_dense(A, dtype), _dense(B, dtype)), width, exp


def _t_product(draw, max_n):
    rows, inner, cols = (draw(st.integers(1, max_n)) for _ in range(3))
    A = draw(kmatrices(shapes=(rows, inner)))
    B = draw(kmatrices(shapes=(inner, cols)))
    # max(eA, eB) unless the inner side is the largest: the internal size is shared.
    exp = max(A.internal_size, B.internal_size) / max(rows, cols)
    dtype = np.result_type(A.dtype, B.dtype)
    return A @ B, _dense(A, dtype) @ _dense(B, dtype), A.width + B.width, exp


def _t_scaled(draw, max_n):
    A = draw(kmatrices(max_side=max_n))
    c = draw(_elements(A.dtype))
    c = complex(c) if A.dtype.kind == "c" else float(c)
    # c * A has the dtype SciPy gives scaled operators (float64 for a float32 A and a
    # Python float before SciPy 1.18): the target is built in that dtype.
    S = c * A
    return S, c * _dense(A, S.dtype), A.width, A.expansion


_BUILDERS = {
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
}


def structured_targets(names=None, max_n=16):
    """Structured maps with their dense definition and promised certificate.

    Parameters
    ----------
    names : sequence of str, optional
        Constructors to draw from (default all of :data:`STRUCTURED_NAMES`):
        ``identity``, ``diag``, ``permutation``, ``bit_reversal``, ``hadamard``,
        ``dft``, ``idft``, ``circulant``, ``toeplitz``, ``convolution``, ``sparse``,
        ``low_rank``, and the closure rules ``sum``, ``kron``, ``product`` (``A @ B``),
        ``scaled`` (``c * A``) applied to random K-matrices.
    max_n : int, default 16
        Largest side drawn.

    Returns
    -------
    SearchStrategy of StructuredTarget
        ``(name, kmatrix, dense, width, expansion)``: the dense target comes from the
        NumPy/SciPy definition (``numpy.fft``, ``scipy.linalg.hadamard``,
        ``scipy.linalg.circulant``/``toeplitz``, ``numpy.convolve``, ``S.toarray()``,
        ``U @ V.conj().T``) or, for the closure rules, from the pure-NumPy oracle of the
        operands; ``width`` and ``expansion`` are the bounds of the certificate table in the theory page
        (for sizes that are not powers of two, the expansion that padding or the
        circulant embedding of size ``2**ceil(log2(rows + cols - 1))`` forces).

    Examples
    --------
    See the module docstring for the three-line property test.
    """
    names = STRUCTURED_NAMES if names is None else tuple(names)
    unknown = [n for n in names if n not in _BUILDERS]
    if unknown or not names:
        raise ValueError(f"names must be a non-empty subset of {STRUCTURED_NAMES}; got {names}")
    max_n = operator.index(max_n)
    if max_n < 1:
        raise ValueError(f"max_n must be >= 1; got {max_n}")

    @st.composite
    def target(draw):
        name = draw(st.sampled_from(names))
        K, dense, width, expansion = _BUILDERS[name](draw, max_n)
        return StructuredTarget(name, K, np.asarray(dense), int(width), float(expansion))

    return target()


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
    gates: list
    outputs: list
    dense: np.ndarray
    depth: int
    width: int
    expansion: float


@st.composite
def circuits(draw, n=None, max_gates=12, max_outputs=6, complex_weights=None):
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
    n = draw(st.integers(1, 6) if n is None else _strategy(n))
    cplx = draw(st.booleans() if complex_weights is None else _strategy(complex_weights))
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
    big = max(2, _pow2(max(n + 2 * s, 2 * m)))
    return Circuit(n, gates, outputs, dense, d, 2 * max(d, 1) + 2, big / max(n, m))

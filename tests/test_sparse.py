"""sparse(S): equals S (exactly as a matrix, to rounding as an operator), width <= 4."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, strategies as st

import kmatrix as km
from kmatrix._layout import internal_size_for
from kmatrix._reference import dense_reference
from kmatrix.testing import assert_adjoint, assert_certificate, assert_matches_dense
from kmatrix.testing.strategies import DTYPES, sparse_matrices

FORMATS = ["csr", "csc", "coo", "lil", "dok", "bsr", "dia"]


def _bound(S):
    """Expansion promised: max(2, 2**ceil(log2 max(n, s))) / n, n = max(shape)."""
    n = max(S.shape)
    s = int(np.count_nonzero(S.toarray() if sp.issparse(S) else S))
    return max(internal_size_for(*S.shape), 1 << max(s - 1, 0).bit_length()) / n


@st.composite
def shaped_sparse(draw):
    """Random-density SciPy matrices, thin shapes and non-powers of two included."""
    kind = draw(st.sampled_from(["any", "row", "col"]))
    side = st.integers(1, 70)
    rows = 1 if kind == "row" else draw(side)
    cols = 1 if kind == "col" else draw(side)
    density = draw(st.sampled_from([0.0, 0.02, 0.1, 0.3, 0.7, 1.0]))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    S = sp.random_array((rows, cols), density=density, rng=rng, dtype=np.float64)
    S.data = 10 * rng.standard_normal(S.nnz) * 10.0 ** rng.integers(-3, 4, S.nnz)
    if dtype.kind == "c":
        S = S + 1j * S.multiply(rng.standard_normal(S.shape))
    fmt = draw(st.sampled_from(FORMATS))
    return S.astype(dtype).asformat(fmt), seed


def _check_operator(K, S, seed):
    dense = S.toarray()
    # As a matrix the pipeline is exact: every entry is one product v * 1 plus zeros.
    assert np.array_equal(dense_reference(np.asarray(K.twiddle), K.shape), dense)
    assert_matches_dense(K, dense)
    # As an operator: each output is a sum of row_nnz products, rounded in some order.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((S.shape[1], 3)).astype(K.dtype)
    if K.dtype.kind == "c":
        x = x + 1j * rng.standard_normal(x.shape).astype(K.dtype)
    row_nnz = int(np.count_nonzero(dense, axis=1).max(initial=0))
    eps = np.finfo(K.dtype).eps
    scale = np.abs(dense) @ np.abs(x)
    err = np.abs(K @ x - dense @ x)
    assert np.all(err <= 4 * (row_nnz + 2) * eps * scale + np.finfo(K.dtype).tiny)


@given(shaped_sparse())
def test_sparse_matches_and_certificate(case):
    S, seed = case
    K = km.sparse(S)
    assert K.shape == S.shape and K.dtype == S.dtype
    _check_operator(K, S, seed)
    assert_certificate(K, width=4, expansion=_bound(S))
    assert_adjoint(K, rng=seed)


@given(sparse_matrices(max_side=20, containers=st.sampled_from(["array", "matrix"])),
       st.integers(0, 2**32 - 1))
def test_library_strategy_targets(S, seed):
    # explicit zeros are stored by this strategy: they must be dropped, not counted
    K = km.sparse(S)
    _check_operator(K, S, seed)
    assert_certificate(K, width=4, expansion=_bound(S))


@given(shaped_sparse())
def test_twiddles_are_zero_one_except_values(case):
    S, _ = case
    tw = km.sparse(S).twiddle
    if tw.shape[0] == 2:  # no nonzeros: the zero operator
        assert not np.any(tw) and np.count_nonzero(S.toarray()) == 0
        return
    for b in (0, 1, 3, 4, 6, 7):  # permutations: identity or swap switches
        straight = (tw[b] == np.eye(2)).all(axis=(-2, -1))
        crossed = (tw[b] == np.eye(2)[::-1]).all(axis=(-2, -1))
        assert np.all(straight | crossed)
    zero_one = np.concatenate([tw[2, :-1].ravel(), tw[5].ravel()])
    assert np.all((zero_one == 0) | (zero_one == 1))
    # copy/sum switches: each output row takes at most one input (copy), each
    # input column feeds at most one output (sum)
    assert np.all(np.count_nonzero(tw[2], axis=-1) <= 1)
    assert np.all(np.count_nonzero(tw[5], axis=-2) <= 1)
    # the values sit in the last copy factor, one per slot
    assert np.count_nonzero(tw[2, -1]) == np.count_nonzero(S.toarray())


KINDS = {"b": bool, "i": np.int32, "u": np.uint8, "f2": np.float16, "f4": np.float32,
         "f8": np.float64, "c8": np.complex64, "c16": np.complex128}


@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from(sorted(KINDS)),
       st.integers(0, 2**32 - 1))
def test_dense_inputs_and_dtype_rules(rows, cols, kind, seed):
    rng = np.random.default_rng(seed)
    A = rng.integers(-3, 4, (rows, cols)) * (rng.random((rows, cols)) < 0.3)
    A = (np.abs(A) if kind == "u" else A).astype(KINDS[kind])
    expected = {"b": "f8", "i": "f8", "u": "f8", "f2": "f4"}.get(kind, kind)
    K = km.sparse(A)
    assert K.dtype == np.dtype(expected)
    assert np.array_equal(K.toarray(), A.astype(expected))
    assert_certificate(K, width=4, expansion=_bound(A))


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (5, 5), (16, 16), (3, 33), (40, 9)])
def test_fully_dense_and_empty(shape):
    rng = np.random.default_rng(0)
    full = rng.standard_normal(shape)
    K = km.sparse(full)
    assert np.array_equal(K.toarray(), full)
    assert_certificate(K, width=4, expansion=_bound(full))
    Z = km.sparse(sp.csr_array(shape))
    assert Z.width == 1 and Z.expansion == internal_size_for(*shape) / max(shape)
    assert np.array_equal(Z @ np.ones(shape[1]), np.zeros(shape[0]))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_array_likes():  # np.matrix input is accepted on purpose (NumPy warns about it)
    x = np.array([1.0, 10.0])
    assert np.array_equal(km.sparse(np.matrix([[0, 1.5], [2, 0]])) @ x, [15.0, 2.0])
    K = km.sparse([[1, 0], [0, 3j]])
    assert K.dtype == np.complex128 and np.array_equal(K @ x, [1.0, 30j])


def test_duplicates_are_summed_and_zeros_dropped():
    S = sp.coo_array(([1.0, 2.0, 0.0, 5.0, -5.0], ([0, 0, 1, 2, 2], [1, 1, 0, 2, 2])), shape=(3, 3))
    K = km.sparse(S)
    assert np.array_equal(K.toarray(), [[0, 3, 0], [0, 0, 0], [0, 0, 0]])
    assert K.internal_size == 4  # s = 1 true nonzero, not 5 stored entries


def test_powers_of_two_meet_the_table_bound():
    # n = 2^k, s = 4n: internal size exactly 4n, expansion 4 = 2^ceil(log2 s) / n
    n = 64
    S = sp.random_array((n, n), density=4 / n, rng=0)
    K = km.sparse(S)
    assert K.expansion == 4.0 and K.width == 4
    x = np.random.default_rng(1).standard_normal(n)
    assert np.all(np.abs(K @ x - S @ x) <= 1e-14 * (abs(S) @ np.abs(x)))


def test_dtype_keyword():
    S = sp.csr_array(np.array([[1.0, 0.0], [0.5, 2.0]]))
    assert km.sparse(S, dtype=np.complex64).dtype == np.complex64
    assert np.array_equal(km.sparse(S.astype(complex), dtype=np.float32).toarray(), S.toarray())
    with pytest.raises(ValueError, match="imaginary"):
        km.sparse(S * 1j, dtype=np.float64)
    with pytest.raises(TypeError, match="dtype"):
        km.sparse(S, dtype=np.int64)
    with pytest.raises(ValueError, match="too large for dtype float32"):
        km.sparse(S * 1e300, dtype=np.float32)


@pytest.mark.parametrize(
    "S, exc, words",
    [
        (np.ones((2, 2, 2)), ValueError, "2-D"),
        (np.ones(3), ValueError, "2-D"),
        (sp.coo_array(np.ones(3)), ValueError, "2-D"),
        (np.ones((0, 3)), ValueError, "at least one row"),
        (np.array([[1.0, np.nan]]), ValueError, "NaN"),
        (sp.csr_array(np.array([[np.inf, 0.0]])), ValueError, "infinite"),
        (np.array([["a", "b"]]), TypeError, "numeric"),
        (np.ones((2, 2), dtype=np.longdouble), TypeError, "longdouble|float128"),
    ],
)
def test_bad_inputs(S, exc, words):
    with pytest.raises(exc, match=words):
        km.sparse(S)

"""low_rank(U, V) == U @ V.conj().T: dense oracle, certificate, dtype rules, validation."""

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, strategies as st

import kmatrix as km
from kmatrix._layout import internal_size_for
from kmatrix.testing import assert_adjoint, assert_certificate, assert_matches_dense
from kmatrix.testing.strategies import low_rank_factors


def _pow2(k):
    return 1 << max(k - 1, 0).bit_length()


@given(low_rank_factors(ranks=st.integers(0, 5)))
def test_low_rank_matches_dense_with_certificate(factors):
    U, V = factors
    (rows, r), cols = U.shape, V.shape[0]
    L = km.low_rank(U, V)
    assert L.shape == (rows, cols) and L.dtype == U.dtype
    assert_matches_dense(L, U @ V.conj().T)
    n = internal_size_for(rows, cols)
    assert L.width == 1
    assert L.internal_size == _pow2(r) * n
    assert_certificate(L, width=1, expansion=_pow2(r) * n / max(rows, cols))


@given(low_rank_factors(dtypes=st.sampled_from([np.float64, np.complex128]), max_side=9))
def test_low_rank_adjoint_and_transpose(factors):
    U, V = factors
    L = km.low_rank(U, V)
    assert_adjoint(L, rng=0)
    assert_matches_dense(L.H, V @ U.conj().T)
    assert_matches_dense(L.T, V.conj() @ U.T)


def test_vectors_mean_rank_one():
    u = np.array([1.0, 2.0, -1.0])
    v = np.array([1j, 2.0, 0.5, 3.0 - 1j, 4.0])
    L = km.low_rank(u, v)
    assert L.shape == (3, 5) and L.dtype == np.complex128 and L.internal_size == 8
    assert_matches_dense(L, np.outer(u, v.conj()))
    assert_matches_dense(km.low_rank(u, v[:, None]), np.outer(u, v.conj()))


def test_integer_factors_are_exact():
    # Only the sum <v, x> rounds, and sums of small integers do not.
    rng = np.random.default_rng(0)
    U = rng.integers(-5, 6, (13, 3))
    V = rng.integers(-5, 6, (7, 3))
    L = km.low_rank(U, V)
    assert L.dtype == np.float64
    assert np.array_equal(L.toarray(), (U @ V.T).astype(np.float64))


def test_rank_zero_is_the_zero_operator():
    L = km.low_rank(np.zeros((5, 0)), np.zeros((3, 0)))
    assert L.shape == (5, 3) and L.width == 1 and L.internal_size == 8
    assert np.array_equal(L.toarray(), np.zeros((5, 3)))


def test_rounding_stays_at_eps_times_norms():
    rng = np.random.default_rng(1)
    U = rng.standard_normal((1000, 3)) + 1j * rng.standard_normal((1000, 3))
    V = rng.standard_normal((700, 3))
    L = km.low_rank(U, V)
    err = np.abs(L.toarray() - U @ V.T).max()
    # <v, x> sums log2 N terms pairwise: error ~ log2(N) eps |u| |v|, far below F eps.
    bound = 4 * np.log2(L.internal_size) * np.finfo(float).eps * (np.abs(U) @ np.abs(V).T).max()
    assert err <= bound


@pytest.mark.parametrize(
    ("du", "dv", "expected"),
    [
        (np.int64, np.int32, np.float64),
        (np.bool_, np.int8, np.float64),
        (np.float16, np.float16, np.float32),
        (np.float32, np.float32, np.float32),
        (np.float32, np.float64, np.float64),
        (np.float32, np.complex64, np.complex64),
        (np.int64, np.complex64, np.complex128),
        (np.complex128, np.float32, np.complex128),
    ],
)
def test_dtype_rules(du, dv, expected):
    U = np.ones((4, 2), dtype=du)
    V = np.ones((3, 2), dtype=dv)
    L = km.low_rank(U, V)
    assert L.dtype == expected
    assert_matches_dense(L, np.full((4, 3), 2.0))


def test_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(3, 3\)"):
        km.low_rank(np.ones((4, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="1-D.*2-D.*got shape \\(2, 2, 2\\)"):
        km.low_rank(np.ones((2, 2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="at least one row"):
        km.low_rank(np.ones((0, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        km.low_rank(np.array([1.0, np.nan]), np.ones(2))
    with pytest.raises(TypeError, match="numeric"):
        km.low_rank(np.array(["a", "b"]), np.ones(2))
    with pytest.raises(TypeError, match="sparse"):
        km.low_rank(scipy.sparse.csr_array(np.ones((3, 1))), np.ones((3, 1)))
    with pytest.raises(TypeError, match="longdouble|float128|result"):
        km.low_rank(np.ones(3, dtype=np.longdouble), np.ones(3))
    with pytest.raises(ValueError, match="1-D"):
        km.low_rank(np.float64(2.0), np.ones(3))

"""Products fold diagonals and permutations; K ** k: dense oracle and width claims."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import kmatrix as km
from kmatrix import _algebra
from kmatrix._reference import dense_reference
from kmatrix.testing import assert_certificate, assert_matches_dense
from kmatrix.testing.strategies import kmatrices, permutations


def _oracle(K, dtype=None):
    tw = np.asarray(K.twiddle)
    return dense_reference(tw if dtype is None else tw.astype(dtype), K.shape)


def _vector(data, n, label):
    return np.array(data.draw(st.lists(st.floats(-4, 4), min_size=n, max_size=n), label=label))


@given(kmatrices(), st.data())
def test_diagonal_folds_on_either_side(K, data):
    rows, cols = K.shape
    d, e = _vector(data, rows, "d"), _vector(data, cols, "e")
    dtype = np.result_type(K.dtype, np.float64)
    left, right = km.diag(d) @ K, K @ km.diag(e)
    assert_matches_dense(left, np.diag(d) @ _oracle(K, dtype))
    assert_matches_dense(right, _oracle(K, dtype) @ np.diag(e))
    assert left.width == K.width and right.width == K.width
    assert left.internal_size == max(K.internal_size, km.diag(d).internal_size)


@given(st.sampled_from([2, 4, 8, 16, 32]), st.data())
def test_diag_hadamard_diag_is_width_one(n, data):
    d, e = _vector(data, n, "d"), _vector(data, n, "e")
    K = km.diag(d) @ km.hadamard(n) @ km.diag(e)
    assert K.width == 1 and K.expansion == 1
    assert_matches_dense(K, np.diag(d) @ km.hadamard(n).toarray() @ np.diag(e))


@given(st.integers(1, 20).flatmap(lambda n: st.tuples(permutations(n), permutations(n))))
def test_permutation_products_are_one_exact_bbstar(pq):
    p, q = pq
    n = p.size
    K = km.permutation(p) @ km.permutation(q)
    x = np.arange(n, dtype=np.float64) + 1
    assert K.width == 1
    assert np.array_equal(K @ x, x[q][p])
    assert_certificate(K, width=1, expansion=max(2, 1 << (n - 1).bit_length()) / n)
    # Scaled permutations (monomial matrices) merge as well, exactly for exact scalings.
    M = km.diag(np.arange(n) + 1.0) @ km.permutation(p) @ km.permutation(q) @ km.diag(2.0 ** -np.arange(n))
    assert M.width == 1
    assert np.array_equal(M.toarray(), np.diag(np.arange(n) + 1.0) @ np.eye(n)[q][p] @ np.diag(2.0 ** -np.arange(n)))


@given(kmatrices(shapes=st.integers(1, 12).map(lambda n: (n, n))), st.data())
def test_permutation_next_to_a_general_operator_keeps_the_sum_of_widths(K, data):
    p = data.draw(permutations(K.shape[0]), label="p")
    P = km.permutation(p)
    dtype = np.result_type(K.dtype, np.float64)
    for prod, dense in [(P @ K, _oracle(K, dtype)[p]), (K @ P, _oracle(K, dtype)[:, np.argsort(p)])]:
        assert_matches_dense(prod, dense)
        assert prod.width <= K.width + 1


def test_chain_of_permutations_and_diagonals_stays_width_one():
    rng = np.random.default_rng(0)
    n = 24
    K = km.identity(n)
    dense = np.eye(n)
    for _ in range(5):
        p, d = rng.permutation(n), rng.standard_normal(n)
        K = km.diag(d) @ km.permutation(p) @ K
        dense = np.diag(d) @ np.eye(n)[p] @ dense
    assert K.width == 1
    assert_matches_dense(K, dense)


def test_product_of_a_wide_diagonal_folds():
    D = km.random(8, width=3, init="identity") * 2.0  # three identity BB*, scaled
    K = km.random(8, width=2, rng=0)
    assert (D @ K).width == 2 and (K @ D).width == 2
    assert_matches_dense(D @ K, 2 * _oracle(K))


@given(kmatrices(shapes=st.integers(1, 10).map(lambda n: (n, n))), st.integers(0, 4))
def test_power_matches_matrix_power(K, k):
    dtype = K.dtype
    P = K ** k
    assert isinstance(P, km.KMatrix) and P.shape == K.shape and P.dtype == dtype
    dense = np.linalg.matrix_power(_oracle(K).astype(np.complex128), k)
    assert_matches_dense(P, dense.astype(dtype) if dtype.kind == "c" else dense.real.astype(dtype),
                         rtol=8 * (k + 1) * 2 * K.twiddle.shape[1] * np.finfo(dtype).eps * 4)
    assert P.width <= max(1, k * K.width)
    assert P.internal_size == K.internal_size
    assert_certificate(P, width=max(1, k * K.width), expansion=K.expansion)


def test_power_of_structured_operators_folds():
    n = 16
    p = np.random.default_rng(0).permutation(n)
    assert (km.permutation(p) ** 7).width == 1
    assert np.array_equal((km.permutation(p) ** 3) @ np.arange(n), np.arange(n)[p][p][p])
    assert (km.diag(np.arange(1.0, 5.0)) ** 3).width == 1
    assert np.array_equal((km.diag(np.arange(1.0, 5.0)) ** 3).toarray(), np.diag(np.arange(1.0, 5.0) ** 3))
    F = km.dft(8, norm="ortho")
    assert (F ** 4).width == 4
    assert np.allclose((F ** 4).toarray(), np.eye(8))  # F^4 = I
    assert np.array_equal((F ** 0).toarray(), np.eye(8)) and (F ** 0).dtype == F.dtype
    assert (F ** np.int64(2)).width == 2


@pytest.mark.parametrize("p, exc, match", [
    (-1, ValueError, "non-negative integer"),
    (2.0, ValueError, "Inexact indices"),
    (1.5, ValueError, "non-negative integer"),
    ("2", ValueError, "non-negative integer"),
    (True, TypeError, "integer"),
    ([2], TypeError, "unsupported operand"),
])
def test_power_rejects_bad_exponents(p, exc, match):
    with pytest.raises(exc, match=match):
        km.random(4, rng=0) ** p


def test_power_rejects_non_square():
    with pytest.raises(ValueError, match=r"square (core-dimensions of )?LinearOperator expected, got <KMatrix 2x3"):
        km.random((2, 3), rng=0) ** 2


@given(st.lists(st.integers(1, 9), min_size=2, max_size=5), st.data())
def test_chain_equals_the_product(sides, data):
    ops = [data.draw(kmatrices(shapes=(sides[k + 1], sides[k]), dtypes=np.float64), label=f"K{k}")
           for k in range(len(sides) - 1)]
    tw, shape = _algebra.chain([K._pair() for K in ops])
    dense = np.eye(sides[0])
    for K in ops:
        dense = _oracle(K) @ dense
    assert shape == (sides[-1], sides[0])
    assert_matches_dense(km.KMatrix(tw, shape), dense)
    assert tw.shape[0] // 2 <= sum(K.width for K in ops)
    with pytest.raises(ValueError, match="dimension mismatch"):
        _algebra.chain([ops[0]._pair(), km.identity(sides[1] + 1)._pair()])

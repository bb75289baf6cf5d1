"""Closure rules: km.sum / A + B / A - B and km.kron against the dense oracle, with certificates."""

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import kmatrix as km
from kmatrix._reference import dense_reference
from kmatrix.testing import assert_adjoint, assert_certificate, assert_matches_dense
from kmatrix.testing.strategies import kmatrices, low_rank_factors, sparse_matrices


def _pow2(k):
    return 1 << (k - 1).bit_length()


def _oracle(K, dtype=None):
    """Dense matrix of ``K`` from the pure-NumPy oracle, computed in ``dtype``."""
    tw = np.asarray(K.twiddle)
    return dense_reference(tw if dtype is None else tw.astype(dtype), K.shape)


# ---------------------------------------------------------------------------- sum
@given(st.data())
def test_sum_matches_dense_with_certificate(data):
    k = data.draw(st.sampled_from([1, 2, 3, 5]), label="k")
    shape = data.draw(st.tuples(st.integers(1, 12), st.integers(1, 12)), label="shape")
    terms = [
        data.draw(kmatrices(shapes=shape, expansions=st.sampled_from([1, 2, 4])), label=f"T{i}")
        for i in range(k)
    ]
    S = km.sum(terms)
    dtype = np.result_type(*(t.dtype for t in terms))
    assert S.shape == shape and S.dtype == dtype
    target = sum(_oracle(t, dtype) for t in terms)
    assert_matches_dense(S, target)
    width = max(t.width for t in terms)
    assert S.width == width
    assert S.internal_size == _pow2(k) * max(t.internal_size for t in terms)
    assert_certificate(S, width=width, expansion=_pow2(k) * max(t.expansion for t in terms))


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("shape", [(3, 3), (5, 2), (1, 7), (8, 8)])
def test_sum_of_different_sizes_widths_and_dtypes(k, shape):
    dtypes = [np.float32, np.complex64, np.float64, np.complex128, np.float32]
    terms = [
        km.random(shape, width=1 + i % 2, expansion=1 + 3 * (i % 3 == 2), dtype=dtypes[i], rng=i, init="randn")
        for i in range(k)
    ]
    S = km.sum(terms)
    dtype = np.result_type(*dtypes[:k])
    assert S.dtype == dtype
    assert_matches_dense(S, sum(_oracle(t, dtype) for t in terms))
    # The layout itself (pure-NumPy oracle, no kernel) gives the same sum.
    assert np.allclose(_oracle(S), S.toarray(), rtol=0, atol=1e-5 * np.abs(S.toarray()).max())
    assert_adjoint(S, rng=k)


def test_operators_add_sub_and_builtin_sum():
    A, B, C = (km.random((6, 9), width=w, rng=s, init="randn") for s, w in enumerate([1, 2, 1]))
    a, b, c = (_oracle(X) for X in (A, B, C))
    for K, target in [(A + B, a + b), (A - B, a - b), (sum([A, B, C]), a + b + c),
                      (km.sum([A, B, C]), a + b + c), (km.sum((A,)), a)]:
        assert isinstance(K, km.KMatrix)
        assert_matches_dense(K, target)
    assert (A + B).width == 2 and (A + B).expansion == 2 * A.expansion
    assert km.sum([A, B, C]).expansion == 4 * A.expansion


def test_sum_of_exact_operators_is_exact():
    # The replicate/sum factors are 0/1, so integer-valued terms add without rounding.
    S = km.sum([km.identity(5), km.diag(np.arange(5.0)), km.identity(5)])
    assert np.array_equal(S.toarray(), np.diag(np.arange(5.0) + 2))
    tw = S.twiddle
    levels = 2  # K = 4 slots for k = 3
    assert set(np.unique(tw[0, :levels])) <= {0.0, 1.0}
    assert set(np.unique(tw[-1, -levels:])) <= {0.0, 1.0}


def test_sum_adjoint_is_sum_of_adjoints():
    A = km.random((4, 7), width=2, dtype=np.complex128, rng=0, init="randn")
    B = km.random((4, 7), expansion=2, dtype=np.complex128, rng=1, init="randn")
    S = A + B
    assert_matches_dense(S.H, _oracle(A.H) + _oracle(B.H))
    assert_adjoint(S, rng=0)


def test_sum_rejects_bad_input():
    A, B = km.random((3, 4), rng=0, init="randn"), km.random((4, 3), rng=0, init="randn")
    with pytest.raises(ValueError, match="empty"):
        km.sum([])
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(4, 3\)"):
        km.sum([A, B])
    with pytest.raises(ValueError, match="shape"):
        A + B
    with pytest.raises(TypeError, match=r"terms\[1\].*ndarray"):
        km.sum([A, np.ones((3, 4))])
    with pytest.raises(TypeError, match="single KMatrix"):
        km.sum(A)
    with pytest.raises(TypeError, match="sequence"):
        km.sum(3)


# ---------------------------------------------------------------------------- kron
_POW2_SQUARE = st.sampled_from([2, 4, 8]).map(lambda n: (n, n))


@given(
    kmatrices(shapes=_POW2_SQUARE, expansions=1, widths=st.integers(1, 3)),
    kmatrices(shapes=_POW2_SQUARE, expansions=1, widths=st.integers(1, 3)),
)
def test_kron_of_full_butterflies_keeps_width(A, B):
    C = km.kron(A, B)
    dtype = np.result_type(A.dtype, B.dtype)
    assert C.dtype == dtype and C.shape == (A.shape[0] * B.shape[0],) * 2
    assert_matches_dense(C, np.kron(_oracle(A, dtype), _oracle(B, dtype)))
    assert C.width == max(A.width, B.width)
    assert_certificate(C, width=max(A.width, B.width), expansion=A.expansion * B.expansion)


@given(kmatrices(max_side=5), kmatrices(max_side=5))
def test_kron_any_shapes(A, B):
    (ra, ca), (rb, cb), nb = A.shape, B.shape, B.internal_size
    misaligned = (ca > 1 and cb < nb) + (ra > 1 and rb < nb)
    C = km.kron(A, B)
    dtype = np.result_type(A.dtype, B.dtype)
    assert C.dtype == dtype and C.shape == (ra * rb, ca * cb)
    assert_matches_dense(C, np.kron(_oracle(A, dtype), _oracle(B, dtype)))
    bound = A.internal_size * nb / max(ra * rb, ca * cb)
    assert_certificate(C, width=max(A.width, B.width) + misaligned, expansion=bound)
    if ra == ca and rb == cb:
        assert C.expansion == pytest.approx(A.expansion * B.expansion, rel=1e-15)


def test_kron_aligned_rectangular_needs_no_permutation():
    # Columns aligned (cb == NB) and rows aligned (ra == 1): no extra width.
    A = km.random((1, 3), width=2, rng=0, init="randn")
    B = km.random((3, 4), dtype=np.complex64, rng=1, init="randn")
    C = km.kron(A, B)
    assert C.width == 2 and C.shape == (3, 12)
    assert_matches_dense(C, np.kron(_oracle(A, np.complex128), _oracle(B, np.complex128)))
    assert_adjoint(C, rng=0)


def test_kron_with_identity_is_block_diagonal_exactly():
    d = np.array([1.0, -2.0, 3.0, 0.5])
    P = km.diag(d)
    assert np.array_equal(km.kron(km.identity(2), P).toarray(), np.kron(np.eye(2), np.diag(d)))
    assert np.array_equal(km.kron(P, km.identity(4)).toarray(), np.kron(np.diag(d), np.eye(4)))


def test_kron_rejects_non_kmatrix():
    with pytest.raises(TypeError, match="B must be a KMatrix; got ndarray"):
        km.kron(km.identity(2), np.eye(2))
    with pytest.raises(TypeError, match="A must be a KMatrix"):
        km.kron([[1.0]], km.identity(2))


# ---------------------------------------------------------------------------- composition
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(
    sparse_matrices(shapes=(n, n)), low_rank_factors(shapes=(n, n)))))
def test_sparse_times_dft_plus_low_rank(args):
    S, (U, V) = args
    n = S.shape[0]
    F = km.dft(n)
    Ks = km.sparse(S)
    K = Ks @ F + km.low_rank(U, V)
    # The result is complex128 (the DFT's dtype): build the target in that precision.
    U, V = U.astype(np.complex128), V.astype(np.complex128)
    target = S.toarray() @ np.fft.fft(np.eye(n), axis=0) + U @ V.conj().T
    assert_matches_dense(K, target)
    # Certificate from the rules: widths 4 + 2 (product), max with 1 (sum); the sum of
    # two terms doubles the larger expansion of the two.
    e_sparse = max(2, _pow2(max(n, S.nnz))) / n
    e_dft = (max(2, n) if n & (n - 1) == 0 else max(2, _pow2(2 * n - 1))) / n
    e_low = _pow2(max(U.shape[1], 1)) * max(2, _pow2(n)) / n
    assert_certificate(K, width=6, expansion=2 * max(e_sparse, e_dft, e_low))


def test_composition_costlier_than_dense_warns_naming_both_costs():
    import scipy.sparse as sp

    n = 256
    S = km.sparse(sp.random(n, n, density=0.05, random_state=0))
    F, P = km.dft(n), km.permutation(np.random.default_rng(0).permutation(n))
    with pytest.warns(km.CostWarning, match=r"parameters, .*x the 65536 of the dense matrix"):
        K = S @ F + P
    assert K.nparams > n * n and f"dense: {n * n}" in K.describe()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cheaper than dense: silent
        F @ P
        F + F

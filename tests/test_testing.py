"""kmatrix.testing: the assertions catch what they claim to, and the strategies draw what they say.

The expressivity property (every structured target equals its dense definition and meets
its certificate) is tested here for every constructor, through the public strategy.
"""

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings, strategies as st
from scipy.sparse.linalg import LinearOperator, aslinearoperator

import kmatrix as km
from kmatrix._reference import dense_reference
from kmatrix.testing import (
    assert_adjoint,
    assert_certificate,
    assert_matches_dense,
    default_rtol,
)
from kmatrix.testing.strategies import (
    DTYPES,
    STRUCTURED_NAMES,
    StructuredTarget,
    kmatrices,
    low_rank_factors,
    permutations,
    sparse_matrices,
    structured_targets,
)

TRANSFORM_NAMES = {"dct", "dst", "idct", "idst", "dht", "haar", "dftn", "idftn", "dctn", "dstn",
                   "idctn", "idstn", "convolution2d", "from_circuit"}


def _oracle(K):
    return dense_reference(np.asarray(K.twiddle), K.shape)


# ---------------------------------------------------------------------------- expressivity
@pytest.mark.parametrize("name", STRUCTURED_NAMES)
def test_structured_targets_meet_their_certificates(name):
    # the transforms draw few examples each: their own test files cover them in depth
    fast = settings(max_examples=15) if name in TRANSFORM_NAMES else lambda f: f

    @fast
    @given(structured_targets(names=[name]))
    def check(t):
        assert isinstance(t, StructuredTarget) and t.name == name
        assert t.dense.shape == t.kmatrix.shape
        assert_matches_dense(t.kmatrix, t.dense)
        assert_certificate(t.kmatrix, width=t.width, expansion=t.expansion)
        assert_adjoint(t.kmatrix, rng=0)

    check()


@pytest.mark.parametrize("max_n", [1, 2, 3, 5, 9])
def test_targets_keep_every_side_within_max_n(max_n):
    assert TRANSFORM_NAMES <= set(STRUCTURED_NAMES)

    @settings(max_examples=40)
    @given(structured_targets(names=sorted(TRANSFORM_NAMES | {"kron"}), max_n=max_n))
    def check(t):
        assert max(t.kmatrix.shape) <= max_n
        assert_matches_dense(t.kmatrix, t.dense)
        assert_certificate(t.kmatrix, width=t.width, expansion=t.expansion)

    check()


def test_structured_targets_rejects_unknown_names():
    with pytest.raises(ValueError, match="subset"):
        structured_targets(names=["fft2"])
    with pytest.raises(ValueError, match="max_n"):
        structured_targets(max_n=0)


# ---------------------------------------------------------------------------- assertions
@given(kmatrices(), st.integers(0, 2**32 - 1))
def test_assert_matches_dense_accepts_the_truth_and_rejects_a_perturbation(K, seed):
    target = _oracle(K)
    assert_matches_dense(K, target)
    assert_matches_dense(K, scipy.sparse.csr_array(target))
    rng = np.random.default_rng(seed)
    i, j = rng.integers(K.shape[0]), rng.integers(K.shape[1])
    abs_scale = np.abs(_oracle(km.KMatrix(np.abs(K.twiddle), K.shape))).max()
    scale = max(np.abs(target).max(), abs_scale, 1.0)
    # A perturbation 100x the default tolerance must be caught, and located.
    wrong = target.copy()
    wrong[i, j] += 100 * default_rtol(K) * scale
    with pytest.raises(AssertionError, match=r"max error .* at \(%d, %d\) > bound" % (i, j)):
        assert_matches_dense(K, wrong)


def test_assert_matches_dense_checks_shape_and_type():
    with pytest.raises(AssertionError, match=r"shape mismatch.*\(3, 3\).*\(3, 4\)"):
        assert_matches_dense(km.identity(3), np.ones((3, 4)))
    with pytest.raises(TypeError, match="KMatrix"):
        assert_matches_dense(np.eye(3), np.eye(3))


def test_default_tolerance_is_tight_enough_to_see_float32_rounding_of_a_float64_target():
    # A float64 operator must not pass against a target rounded to float32.
    K = km.random(16, width=2, rng=3, init="randn")
    target = _oracle(K)
    assert_matches_dense(K, target)
    with pytest.raises(AssertionError):
        assert_matches_dense(K, target.astype(np.float32))
    assert_matches_dense(K, target.astype(np.float32), rtol=1e-5)


@given(kmatrices())
def test_assert_adjoint_passes_for_kmatrices(K):
    assert_adjoint(K, rng=0)


def test_assert_adjoint_catches_a_wrong_adjoint():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 7)) + 1j * rng.standard_normal((5, 7))
    good = aslinearoperator(A)
    assert_adjoint(good, rng=1)
    # Transpose without conjugation: a classic bug.
    bad = LinearOperator(A.shape, matvec=lambda x: A @ x, rmatvec=lambda y: A.T @ y, dtype=A.dtype)
    with pytest.raises(AssertionError, match="dot test failed"):
        assert_adjoint(bad, rng=1)
    B = rng.standard_normal((6, 6))
    bad_real = LinearOperator(
        B.shape, matvec=lambda x: B @ x, rmatvec=lambda y: B @ y, dtype=B.dtype
    )
    with pytest.raises(AssertionError, match="dot test failed"):
        assert_adjoint(bad_real, rng=1)

    class WrongH(km.KMatrix):
        """A KMatrix whose adjoint forgets the conjugation."""

        @property
        def H(self):
            return km.KMatrix(self.twiddle, self.shape).T

        def rmatmat(self, x):
            return self.H.matmat(x)

    K = km.random((6, 5), dtype=np.complex128, rng=2, init="randn")
    with pytest.raises(AssertionError, match="dot test failed"):
        assert_adjoint(WrongH(K.twiddle, K.shape), rng=0)
    with pytest.raises(TypeError, match="LinearOperator"):
        assert_adjoint(np.eye(3))


@given(kmatrices(widths=st.integers(1, 3)))
def test_assert_certificate(K):
    assert_certificate(K, width=K.width, expansion=K.expansion)
    assert_certificate(K)
    if K.width > 1:
        with pytest.raises(AssertionError, match=f"width {K.width} exceeds the bound"):
            assert_certificate(K, width=K.width - 1)
    with pytest.raises(AssertionError, match="expansion .* exceeds the bound"):
        assert_certificate(K, expansion=0.99 * K.expansion)


def test_assert_certificate_catches_an_inconsistent_report():
    class Overclaiming(km.KMatrix):
        @property
        def width(self):
            return 1

    K = km.random(8, width=3, rng=0, init="randn")
    with pytest.raises(AssertionError, match="does not match 6 stored blocks"):
        assert_certificate(Overclaiming(K.twiddle, K.shape), width=1)


# ---------------------------------------------------------------------------- strategies
@given(
    st.data(),
    st.tuples(st.integers(1, 9), st.integers(1, 9)),
    st.integers(1, 3),
    st.sampled_from(DTYPES),
    st.sampled_from([1, 2, 4]),
)
def test_kmatrices_respects_its_arguments(data, shape, width, dtype, expansion):
    K = data.draw(kmatrices(shapes=shape, widths=width, dtypes=dtype, expansions=expansion))
    assert isinstance(K, km.KMatrix)
    assert K.shape == shape and K.width == width and K.dtype == dtype
    assert K.internal_size == km.random(shape, expansion=expansion, init="randn").internal_size
    square = data.draw(kmatrices(shapes=st.integers(1, 5)))
    assert square.shape[0] == square.shape[1] <= 5


@given(permutations(st.integers(1, 20)))
def test_permutations_are_permutations(p):
    assert p.dtype == np.intp and np.array_equal(np.sort(p), np.arange(p.size))


def test_permutations_rejects_bad_size():
    with pytest.raises(ValueError, match="n must be >= 1"):
        permutations(0)


@given(sparse_matrices(max_side=9))
def test_sparse_matrices(S):
    assert scipy.sparse.issparse(S) and S.format in ("csr", "csc", "coo")
    assert max(S.shape) <= 9 and S.dtype in DTYPES
    assert np.all(np.isfinite(S.toarray())) and np.abs(S.toarray()).max(initial=0) <= 10


@given(sparse_matrices(shapes=(4, 6), dtypes=np.complex64, formats="lil", containers="matrix"))
def test_sparse_matrices_respects_its_arguments(S):
    assert S.shape == (4, 6) and S.dtype == np.complex64 and S.format == "lil"
    assert isinstance(S, scipy.sparse.spmatrix)


@given(low_rank_factors(shapes=(5, 3), ranks=st.integers(0, 3), dtypes=np.float32))
def test_low_rank_factors(factors):
    U, V = factors
    assert U.shape[0] == 5 and V.shape[0] == 3 and U.shape[1] == V.shape[1] <= 3
    assert U.dtype == V.dtype == np.float32

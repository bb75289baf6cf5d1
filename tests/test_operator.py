"""Operator-level properties of KMatrix against the NumPy oracle."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kmatrix as km
from oracle import DTYPES, dense_reference, rand, tol

shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))
dtypes = st.sampled_from(DTYPES)
widths = st.integers(1, 3)
expansions = st.sampled_from([1, 1.5, 2, 4])
inits = st.sampled_from(["randn", "ortho", "identity"])


@st.composite
def operators(draw):
    shape = draw(shapes)
    return km.random(
        shape,
        width=draw(widths),
        expansion=draw(expansions),
        dtype=draw(dtypes),
        init=draw(inits),
        rng=draw(st.integers(0, 2**32 - 1)),
    )


@given(operators(), st.integers(0, 2**32 - 1), st.integers(1, 20))
def test_matches_dense_oracle(K, seed, k):
    rng = np.random.default_rng(seed)
    D = dense_reference(K.twiddle, K.shape)
    X = rand(rng, (K.shape[1], k), K.dtype)
    Y = K @ X
    assert Y.shape == (K.shape[0], k) and Y.dtype == K.dtype
    atol = tol(K, np.abs(X).max() * K.internal_size)
    np.testing.assert_allclose(Y, D @ X, atol=atol, rtol=0)
    np.testing.assert_allclose(K.toarray(), D, atol=tol(K, K.internal_size), rtol=0)


@given(operators(), st.integers(0, 2**32 - 1))
def test_adjoint_dot_test(K, seed):
    rng = np.random.default_rng(seed)
    x = rand(rng, K.shape[1], K.dtype)
    y = rand(rng, K.shape[0], K.dtype)
    lhs = np.vdot(y, K @ x)
    rhs = np.vdot(K.H @ y, x)
    bound = tol(K, np.linalg.norm(x), np.linalg.norm(y), K.internal_size)
    assert abs(lhs - rhs) <= bound
    np.testing.assert_allclose(K.rmatvec(y), K.H @ y)


@given(operators())
def test_structure_identities(K):
    D = dense_reference(K.twiddle, K.shape)
    a = tol(K, K.internal_size)
    np.testing.assert_array_equal(K.H.H.twiddle, K.twiddle)
    assert K.H.H.shape == K.shape
    np.testing.assert_allclose(K.H.toarray(), D.conj().T, atol=a, rtol=0)
    np.testing.assert_allclose(K.T.toarray(), D.T, atol=a, rtol=0)
    np.testing.assert_array_equal(K.T.twiddle, K.H.conj().twiddle)
    np.testing.assert_allclose(K.conj().toarray(), D.conj(), atol=a, rtol=0)
    assert isinstance(K.H, km.KMatrix) and isinstance(K.T, km.KMatrix)


@given(operators(), st.integers(0, 2**32 - 1), st.integers(2, 9))
def test_matvec_is_first_column_of_matmat_and_linear(K, seed, k):
    rng = np.random.default_rng(seed)
    X = rand(rng, (K.shape[1], k), K.dtype)
    Y = K.matmat(X)
    a = tol(K, np.abs(X).max() * K.internal_size)
    np.testing.assert_allclose(K.matvec(X[:, 0]), Y[:, 0], atol=a, rtol=0)
    alpha, beta = 0.5, -2.0
    np.testing.assert_allclose(
        K @ (alpha * X[:, 0] + beta * X[:, 1]), alpha * Y[:, 0] + beta * Y[:, 1], atol=4 * a, rtol=0
    )
    # x @ K is (K.T @ x.T).T
    Z = rand(rng, (k, K.shape[0]), K.dtype)
    np.testing.assert_allclose(Z @ K, (K.T @ Z.T).T)
    np.testing.assert_allclose(Z[0] @ K, K.T @ Z[0])


@given(shapes, st.integers(1, 40), widths, widths, dtypes, dtypes, st.integers(0, 2**32 - 1))
def test_product_closure(shape, inner, wa, wb, da, db, seed):
    A = km.random((shape[0], inner), width=wa, dtype=da, rng=seed, init="randn")
    B = km.random((inner, shape[1]), width=wb, dtype=db, expansion=2, rng=seed + 1, init="randn")
    C = A @ B
    assert isinstance(C, km.KMatrix)
    assert C.width == wa + wb
    assert C.shape == (shape[0], shape[1])
    assert C.dtype == np.result_type(da, db)
    # The product keeps each operand's factors exactly (cast up to the result dtype), so
    # the oracle is the product of the cast operands, not of their rounded dense forms.
    ct = C.dtype
    expected = A.astype(ct).toarray() @ B.astype(ct).toarray()
    a = tol(C, C.internal_size)
    np.testing.assert_allclose(C.toarray(), expected, atol=a, rtol=0)
    # (A @ B).H == B.H @ A.H
    np.testing.assert_allclose(C.H.toarray(), (B.H @ A.H).toarray(), atol=a, rtol=0)


@given(operators(), st.sampled_from([2, -0.5, 3.0, 1j, np.float32(0.25), np.complex128(1 - 2j)]))
def test_scalar_closure(K, c):
    from scipy.sparse.linalg import aslinearoperator

    D = K.toarray()
    L = aslinearoperator(D)
    a = tol(K, K.internal_size, abs(c))
    for S, ref, expected in [(c * K, c * L, c * D), (K * c, L * c, c * D), (K / c, L / c, D / c),
                             (-K, -L, -D)]:
        assert isinstance(S, km.KMatrix)
        assert S.dtype == ref.dtype  # the dtype SciPy reports for its scaled operator
        np.testing.assert_allclose(S.toarray(), expected, atol=a, rtol=0)


@pytest.mark.parametrize("kdt", DTYPES)
@pytest.mark.parametrize(
    "xdt", [np.bool_, np.int8, np.int64, np.float32, np.float64, np.complex64, np.complex128]
)
def test_output_dtype_follows_numpy(kdt, xdt):
    K = km.random((5, 6), dtype=kdt, rng=0, init="randn")
    x = np.ones(6, dtype=xdt)
    y = K @ x
    assert y.dtype == np.result_type(kdt, xdt)
    np.testing.assert_allclose(y, K.toarray() @ x.astype(y.dtype), rtol=1e-5, atol=1e-5)
    assert (K @ np.ones((6, 3), dtype=xdt)).dtype == np.result_type(kdt, xdt)


def test_attributes_and_certificate_text():
    K = km.random((100, 60), width=2, expansion=2, dtype=np.complex64, rng=0, init="randn")
    assert K.internal_size == 256 and K.width == 2
    assert K.expansion == 256 / 100
    assert K.nparams == 4 * 2 * 256 * 8 == K.twiddle.size
    assert K.flops == 14 * 256 * 4 * 8
    assert "(BB*)^2_2.56" in K.describe()
    assert K.dtype == np.complex64 and K.shape == (100, 60)
    assert not K.twiddle.flags.writeable


def test_constructor_copies_twiddle():
    tw = km.identity(4).twiddle.copy()
    K = km.KMatrix(tw)
    tw[0, 0, 0, 0, 0] = 7
    assert K.twiddle[0, 0, 0, 0, 0] == 1


def test_identity_and_diag_exact():
    for n in [1, 2, 3, 8, 13]:
        np.testing.assert_array_equal(km.identity(n).toarray(), np.eye(n))
        d = np.arange(1, n + 1) * (1 - 0.5j)
        np.testing.assert_array_equal(km.diag(d).toarray(), np.diag(d))
        assert km.diag(d).width == 1 and km.diag(d).internal_size == max(2, 1 << (n - 1).bit_length())
    assert km.diag(np.arange(3)).dtype == np.float64
    assert km.diag(np.ones(3, np.float32)).dtype == np.float32


@given(st.integers(1, 70), dtypes, st.integers(0, 2**32 - 1))
def test_ortho_init_is_orthogonal(n, dtype, seed):
    K = km.random(n, init="ortho", dtype=dtype, rng=seed, width=2)
    m = K.internal_size
    E = km.KMatrix(K.twiddle)  # full internal operator
    D = E.toarray()
    eps = np.finfo(np.dtype(dtype)).eps
    np.testing.assert_allclose(D.conj().T @ D, np.eye(m), atol=50 * eps * np.log2(m) * K.width)


@pytest.mark.parametrize("dtype", DTYPES)
def test_randn_init_preserves_norm_on_average(dtype):
    x = np.random.default_rng(2).standard_normal((1024, 16))
    ratios = [np.linalg.norm(km.random(1024, width=4, dtype=dtype, rng=s, init="randn") @ x) for s in range(7)]
    assert 0.4 < np.median(ratios) / np.linalg.norm(x) < 2.5


def test_random_is_reproducible():
    a = km.random(17, rng=3, init="randn")
    b = km.random(17, rng=np.random.default_rng(3), init="randn")
    np.testing.assert_array_equal(a.twiddle, b.twiddle)


def test_astype_and_copy():
    K = km.random(9, dtype=np.complex128, rng=0, init="randn")
    with pytest.raises(ValueError, match="imaginary"):
        K.astype(np.float64)
    R = km.random(9, rng=0, init="randn")
    C = R.astype(np.complex64)
    assert C.dtype == np.complex64
    np.testing.assert_allclose(C.astype(np.float64).toarray(), R.toarray(), rtol=1e-6, atol=1e-6)
    with pytest.raises(TypeError, match="float16"):
        R.astype(np.float16)
    c = R.copy()
    assert c is not R and np.array_equal(c.twiddle, R.twiddle)


def test_scipy_linear_operator_interplay():
    from scipy.sparse.linalg import LinearOperator, aslinearoperator

    K = km.random(8, rng=0, init="randn")
    L = aslinearoperator(np.eye(8) * 2)
    P = K @ L  # a generic SciPy product
    assert isinstance(P, LinearOperator) and not isinstance(P, km.KMatrix)
    np.testing.assert_allclose(P @ np.ones(8), 2 * (K @ np.ones(8)))


@pytest.mark.parametrize("kdt", [np.float32, np.float64])
@pytest.mark.parametrize("xdt", [np.complex64, np.complex128])
@pytest.mark.parametrize("k", [None, 1, 5])
def test_real_operator_on_complex_input(kdt, xdt, k):
    K = km.random((150, 130), width=2, dtype=kdt, rng=0, init="randn")  # N = 256: kernel path
    rng = np.random.default_rng(1)
    shape = (130,) if k is None else (130, k)
    x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(xdt)
    y = K @ x
    assert y.dtype == np.result_type(kdt, xdt) and y.shape == (150,) + shape[1:]
    D = dense_reference(K.twiddle, K.shape)
    np.testing.assert_allclose(y, D @ x, atol=tol(K, np.abs(x).max() * 256), rtol=0)


def test_small_operator_fast_path_keeps_the_rules():
    K = km.random((6, 5), width=2, rng=0, init="randn")  # N = 8: dense fast path after first use
    x = np.arange(5.0)
    first = K @ x
    np.testing.assert_array_equal(K @ x, first)
    np.testing.assert_allclose(first, dense_reference(K.twiddle, K.shape) @ x, atol=1e-13)
    with pytest.raises(ValueError, match=r"(?i)dimension mismatch.*\(6,\)"):
        K @ np.ones(6)
    with pytest.raises(ValueError):
        K @ np.ones((5, 2, 2))
    assert (K @ np.ones(5, dtype=np.float32)).dtype == np.float64
    assert (K @ np.ones((5, 3), dtype=np.complex64)).dtype == np.complex128

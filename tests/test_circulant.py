"""Circulant, Toeplitz and convolution: SciPy/NumPy definitions, certificates, dtypes, bad input."""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.linalg
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import kmatrix as km
from kmatrix.testing import assert_adjoint, assert_certificate, assert_matches_dense
from kmatrix.testing.strategies import structured_targets

MODES = ["full", "same", "valid"]
REAL_OR_COMPLEX = [np.float32, np.float64, np.complex64, np.complex128]


def pow2_at_least(k):
    return max(2, 1 << max(k - 1, 0).bit_length())


def embedded_expansion(rows, cols):
    return pow2_at_least(rows + cols - 1) / max(rows, cols)


def vectors(dtype, min_size=1, max_size=40):
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        elements = st.complex_numbers(max_magnitude=10, allow_nan=False, allow_infinity=False,
                                      allow_subnormal=False, width=8 * dtype.itemsize)
    else:
        elements = st.floats(-10, 10, allow_subnormal=False, width=8 * dtype.itemsize)
    return hnp.arrays(dtype, st.integers(min_size, max_size), elements=elements)


def operator_dtype(*dtypes):
    """Real inputs: a real operator (complex factors); complex inputs: complex."""
    single = all(np.dtype(d) in (np.float32, np.complex64) for d in dtypes)
    if all(np.dtype(d).kind != "c" for d in dtypes):
        return np.dtype(np.float32 if single else np.float64)
    return np.dtype(np.complex64 if single else np.complex128)


def product_bound(K, norm_c, x):
    """||error|| of an FFT product: eps * levels * max|lambda| * ||x||, max|lambda| <= ||c||_1."""
    eps = np.finfo(K.dtype).eps
    return 20 * eps * (np.log2(K.internal_size) + 1) * max(norm_c, 1e-300) * np.linalg.norm(x)


# ---------------------------------------------------------------------------- circulant
@given(st.sampled_from(REAL_OR_COMPLEX).flatmap(vectors))
def test_circulant_equals_scipy(c):
    C = km.circulant(c)
    n = c.size
    assert C.shape == (n, n) and C.dtype == operator_dtype(c.dtype)
    assert_matches_dense(C, scipy.linalg.circulant(c))
    if n >= 2 and n & (n - 1) == 0:
        assert C.expansion == 1.0
    assert C.width == 1
    assert_certificate(C, width=1, expansion=embedded_expansion(n, n))


@given(st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_power_of_two_circulant_is_one_bbstar(k, seed):
    n = 1 << k
    rng = np.random.default_rng(seed)
    c = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    C = km.circulant(c)
    assert C.width == 1 and C.internal_size == n and C.expansion == 1.0
    x = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    ref = np.fft.ifft(np.fft.fft(c) * np.fft.fft(x))  # circular convolution c (*) x
    assert np.linalg.norm(C @ x - ref) <= product_bound(C, np.abs(c).sum(), x)


@given(st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_real_circulant_is_a_real_operator(n, seed):
    rng = np.random.default_rng(seed)
    c, X = rng.standard_normal(n), rng.standard_normal((n, 3))
    C = km.circulant(c)
    assert C.dtype == np.float64 and C.real_matrix and C.twiddle.dtype == np.complex128
    Y = C @ X
    assert Y.dtype == np.float64
    ref = scipy.linalg.circulant(c)
    for j in range(3):
        bound = product_bound(C, np.abs(c).sum(), X[:, j])
        assert np.linalg.norm(Y[:, j] - ref @ X[:, j]) <= bound
    y = C @ X[:, 0]
    assert y.dtype == np.float64 and np.linalg.norm(y - ref @ X[:, 0]) <= bound
    Z = X + 1j * rng.standard_normal((n, 3))  # complex input: real and imaginary parts
    assert np.linalg.norm(C @ Z - ref @ Z) <= 4 * product_bound(C, np.abs(c).sum(), Z)


def test_circulant_adjoint():
    rng = np.random.default_rng(3)
    for n in (1, 5, 16, 33):
        assert_adjoint(km.circulant(rng.standard_normal(n) + 1j * rng.standard_normal(n)), rng=n)


# ---------------------------------------------------------------------------- toeplitz
@given(st.sampled_from(REAL_OR_COMPLEX), st.data())
def test_toeplitz_equals_scipy(dtype, data):
    c = data.draw(vectors(dtype))
    r = data.draw(st.none() | vectors(dtype))
    T = km.toeplitz(c) if r is None else km.toeplitz(c, r)
    ref = scipy.linalg.toeplitz(c, r)  # r=None: Hermitian, r = conj(c)
    assert T.shape == ref.shape and T.dtype == operator_dtype(dtype)
    assert_matches_dense(T, ref)
    assert T.width == 1
    assert_certificate(T, width=1, expansion=embedded_expansion(*ref.shape))
    if max(ref.shape) > 1:
        assert T.expansion < 4


@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_generic_toeplitz_uses_rows_plus_cols_minus_one(rows, cols, seed):
    """Entries that would wrap around differ, so the circulant needs rows + cols - 1."""
    rng = np.random.default_rng(seed)
    c, r = rng.standard_normal(rows), rng.standard_normal(cols)
    T = km.toeplitz(c, r)
    assert T.internal_size == pow2_at_least(rows + cols - 1)
    assert_matches_dense(T, scipy.linalg.toeplitz(c, r))
    n = max(rows, cols)
    if n >= 2 and n & (n - 1):  # not a power of two: circulant(c) is such a Toeplitz matrix
        assert km.circulant(rng.standard_normal(n)).internal_size == pow2_at_least(2 * n - 1)


@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_symmetric_toeplitz_wraps_onto_itself(k, seed):
    """A symmetric Toeplitz of size 2**k + 1 fits a circulant of size 2**(k+1), not 2**(k+2)."""
    n = (1 << k) + 1
    c = np.random.default_rng(seed).standard_normal(n)
    T = km.toeplitz(c, c)
    assert T.internal_size == 2 * (n - 1)
    assert_matches_dense(T, scipy.linalg.toeplitz(c, c))


def test_toeplitz_mixed_dtypes_and_first_row_entry_ignored():
    T = km.toeplitz(np.array([1.0, 2.0], dtype=np.float32), [99.0, 3.0, 4.0])
    assert T.dtype == np.float64  # one float64 operand: double precision
    assert np.allclose(T.toarray(), [[1, 3, 4], [2, 1, 3]], atol=1e-14)


# ---------------------------------------------------------------------------- convolution
@given(st.sampled_from(REAL_OR_COMPLEX).flatmap(lambda d: vectors(d, max_size=24)),
       st.integers(1, 30), st.sampled_from(MODES))
def test_convolution_equals_numpy(h, n, mode):
    K = km.convolution(h, n, mode=mode)
    dense = np.stack([np.convolve(h, e, mode) for e in np.eye(n, dtype=h.dtype)], axis=1)
    assert K.shape == dense.shape and K.dtype == operator_dtype(h.dtype)
    assert_matches_dense(K, dense)
    assert K.width == 1
    assert_certificate(K, width=1, expansion=embedded_expansion(*dense.shape))
    if mode == "full":  # zero tails: the circulant needs only the output length
        assert K.internal_size == pow2_at_least(h.size + n - 1)
        assert K.expansion < 2 or h.size + n == 2  # 1x1 sits at the minimal size 2


@pytest.mark.parametrize("mode", ["same", "valid"])
@pytest.mark.parametrize("m, n", [(2, 7), (3, 8), (4, 9), (5, 5), (1, 6), (6, 2), (9, 4)])
def test_convolution_matches_numpys_swap_rule(mode, m, n):
    """numpy.convolve swaps its operands when x is longer than h: the offsets must follow."""
    rng = np.random.default_rng(m * 100 + n)
    h, X = rng.standard_normal(m), rng.standard_normal((n, 4))
    K = km.convolution(h, n, mode=mode)
    ref = np.stack([np.convolve(h, X[:, j], mode) for j in range(4)], axis=1)
    assert K.shape == (ref.shape[0], n)
    Y = K @ X
    assert Y.dtype == np.float64
    assert np.allclose(Y, ref, rtol=0, atol=1e-13 * np.abs(h).sum() * np.abs(X).max())


@given(st.sampled_from(REAL_OR_COMPLEX).flatmap(lambda d: vectors(d, max_size=24)),
       st.integers(1, 30))
def test_circular_convolution_wraps_the_filter(h, n):
    """y[j] = sum_k h[k] x[(j - k) mod n]: the filter wrapped modulo n, a circulant."""
    K = km.convolution(h, n, mode="circular")
    j, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    dense = np.zeros((n, n), dtype=np.result_type(h.dtype, np.float64))
    for k, hk in enumerate(h):
        dense += hk * ((j - i - k) % n == 0)
    assert K.shape == (n, n) and K.dtype == operator_dtype(h.dtype)
    assert_matches_dense(K, dense, rtol=50 * np.finfo(K.dtype).eps * np.log2(2 * n + 2))
    assert K.width == 1
    if h.size <= n:  # then it is NumPy's FFT product of the zero-padded filter
        x = np.arange(1.0, n + 1)
        ref = np.fft.ifft(np.fft.fft(h.astype(np.complex128), n) * np.fft.fft(x))
        ref = ref.real if h.dtype.kind != "c" else ref
        assert np.allclose(K @ x, ref, atol=1e-4 * np.abs(h).sum() * n)


def test_real_toeplitz_like_scipy_and_cg():
    """float64 results as scipy.linalg.matmul_toeplitz; CG on an SPD system stays real."""
    rng = np.random.default_rng(11)
    c, r, X = rng.standard_normal(70), rng.standard_normal(50), rng.standard_normal((50, 6))
    Y = km.toeplitz(c, r) @ X
    ref = scipy.linalg.matmul_toeplitz((c, r), X)
    assert Y.dtype == ref.dtype == np.float64 and np.allclose(Y, ref, atol=1e-12)
    n = 100
    col = 0.5 ** np.arange(n)
    col[0] = 4.0  # diagonally dominant: SPD
    T = km.toeplitz(col)
    b = rng.standard_normal(n)
    x, info = scipy.sparse.linalg.cg(T, b, rtol=1e-12)
    assert info == 0 and x.dtype == np.float64
    assert np.allclose(scipy.linalg.toeplitz(col) @ x, b, atol=1e-9)


def test_convolution_adjoint_is_correlation():
    rng = np.random.default_rng(7)
    h, y = rng.standard_normal(5), rng.standard_normal(12)
    K = km.convolution(h, 8, mode="full")
    assert np.allclose(K.H @ y, np.correlate(y, h, mode="valid"), atol=1e-13)
    assert_adjoint(K, rng=0)


@given(structured_targets(names=["circulant", "toeplitz", "convolution"], max_n=24))
def test_structured_targets(t):
    assert_matches_dense(t.kmatrix, t.dense)
    assert_certificate(t.kmatrix, width=t.width, expansion=t.expansion)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad, exc, match", [
    ([], ValueError, "non-empty 1-D"),
    ([[1.0, 2.0]], ValueError, r"shape \(1, 2\)"),
    (["a", "b"], TypeError, "numeric"),
    ([1.0, np.nan], ValueError, "NaN"),
    ([1.0, np.inf], ValueError, "infinite"),
])
def test_bad_vectors(bad, exc, match):
    with pytest.raises(exc, match=match):
        km.circulant(bad)
    with pytest.raises(exc, match=match):
        km.toeplitz(bad)
    with pytest.raises(exc, match=match):
        km.toeplitz([1.0, 2.0], bad)
    with pytest.raises(exc, match=match):
        km.convolution(bad, 4)


@pytest.mark.parametrize("n, exc", [(0, ValueError), (-2, ValueError), (2.0, TypeError),
                                    (True, TypeError), ("3", TypeError)])
def test_convolution_bad_length(n, exc):
    with pytest.raises(exc, match="n must"):
        km.convolution([1.0, 2.0], n)


@pytest.mark.parametrize("mode", ["Full", "cyclic", None, 0])
def test_convolution_bad_mode(mode):
    with pytest.raises(ValueError, match="mode must be one of"):
        km.convolution([1.0, 2.0], 4, mode=mode)

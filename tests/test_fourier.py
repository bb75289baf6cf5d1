"""Hadamard, DFT and inverse DFT: NumPy/SciPy definitions, certificates, bad input."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, strategies as st

import kmatrix as km
from kmatrix.testing import assert_adjoint, assert_certificate, assert_matches_dense
from kmatrix.testing.strategies import structured_targets

NORMS = ["backward", "ortho", "forward"]


def bluestein_size(n):
    """Circulant size of Bluestein's embedding: smallest power of two >= 2n - 2.

    The chirp Toeplitz is symmetric, so its entry at offset n - 1 may wrap onto itself.
    """
    return 1 << (2 * n - 3).bit_length()


def expected_expansion(n):
    if n == 1:
        return 2.0
    return 1.0 if n & (n - 1) == 0 else bluestein_size(n) / n


def rel_error(K, X, ref):
    """Largest column-wise relative error of ``K @ X`` against ``ref``."""
    Y = K @ X
    return float((np.linalg.norm(Y - ref, axis=0) / np.linalg.norm(ref, axis=0)).max())


def fft_tolerance(n, dtype=np.complex128):
    """Relative error bound of an FFT-based product: a few eps per butterfly level."""
    eps = np.finfo(np.dtype(dtype)).eps
    big = n if n & (n - 1) == 0 else bluestein_size(n)
    return 10 * eps * (np.log2(max(big, 2)) + 1)


# ---------------------------------------------------------------------------- Hadamard
ALL_DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


@given(st.integers(0, 7), st.booleans(), st.sampled_from(ALL_DTYPES))
def test_hadamard_equals_scipy(k, normalized, dtype):
    n = 1 << k
    H = km.hadamard(n, normalized=normalized, dtype=dtype)
    ref = scipy.linalg.hadamard(n).astype(np.float64)
    if normalized:
        ref /= np.sqrt(n)
    assert H.dtype == np.dtype(dtype)
    if normalized:
        assert_matches_dense(H, ref)
    else:  # entries are sums of +-1: exact in every dtype
        assert np.array_equal(H.toarray(), ref)
    assert_certificate(H, width=1, expansion=expected_expansion(n))
    assert H.width == 1 and H.expansion == expected_expansion(n)


def test_hadamard_normalized_is_orthogonal():
    H = km.hadamard(64, normalized=True)
    X = np.random.default_rng(0).standard_normal((64, 3))
    assert np.allclose(H.H @ (H @ X), X, atol=1e-13)


@pytest.mark.parametrize("n", [0, -4, 3, 6, 12, 100])
def test_hadamard_rejects_bad_orders(n):
    with pytest.raises(ValueError, match=str(n)):
        km.hadamard(n)


@pytest.mark.parametrize("n", [2.0, "8", True, None])
def test_hadamard_rejects_non_integers(n):
    with pytest.raises(TypeError, match="integer"):
        km.hadamard(n)


def test_hadamard_rejects_bad_dtype():
    with pytest.raises(TypeError, match="int64"):
        km.hadamard(4, dtype=np.int64)


# ---------------------------------------------------------------------------- DFT / IDFT
@given(st.integers(1, 70), st.sampled_from(NORMS + [None]), st.booleans())
def test_dft_idft_equal_numpy_dense(n, norm, inverse):
    K = (km.idft if inverse else km.dft)(n, norm=norm)
    fft = np.fft.ifft if inverse else np.fft.fft
    assert K.dtype == np.complex128 and K.shape == (n, n)
    assert_matches_dense(K, fft(np.eye(n), axis=0, norm=norm))


@given(st.integers(1, 600), st.sampled_from(NORMS), st.booleans(), st.integers(0, 2**32 - 1))
def test_dft_idft_apply_equal_numpy(n, norm, inverse, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) + 1j * rng.standard_normal((n, 3))
    K = (km.idft if inverse else km.dft)(n, norm=norm)
    fft = np.fft.ifft if inverse else np.fft.fft
    assert rel_error(K, X, fft(X, axis=0, norm=norm)) <= fft_tolerance(n)
    # real input promotes to the complex operator dtype, as NumPy does
    xr = rng.standard_normal(n)
    y = K @ xr
    assert y.dtype == np.complex128
    assert np.linalg.norm(y - fft(xr, norm=norm)) <= fft_tolerance(n) * np.linalg.norm(y)


@pytest.mark.parametrize("n, size", [(3, 4), (5, 8), (6, 16), (9, 16), (17, 32), (100, 256)])
def test_bluestein_circulant_size(n, size):
    assert km.dft(n).internal_size == size == bluestein_size(n)


@given(st.integers(1, 300))
def test_dft_certificate_width_one(n):
    """Width 1 for every n, the certificate table of docs/theory.rst (the paper's bound is width 2)."""
    for K in (km.dft(n), km.idft(n, norm="ortho")):
        assert K.width == 1
        assert K.expansion == expected_expansion(n)
        assert_certificate(K, width=1, expansion=expected_expansion(n))
        if n > 1:
            assert K.expansion < 4


@given(st.integers(0, 9))
def test_power_of_two_ortho_factors_are_unitary(k):
    """The in-place Cooley-Tukey schedule uses only unitary 2x2s when norm='ortho'."""
    n = 1 << k
    tw = km.dft(n, norm="ortho").twiddle
    prod = tw @ np.conj(np.swapaxes(tw, -1, -2))
    assert np.allclose(prod, np.eye(2), atol=1e-15)


@given(st.integers(1, 130), st.sampled_from(NORMS))
def test_idft_inverts_dft_and_ortho_adjoint(n, norm):
    X = np.random.default_rng(n).standard_normal((n, 2))
    F, G = km.dft(n, norm=norm), km.idft(n, norm=norm)
    assert np.linalg.norm(G @ (F @ X) - X) <= 2 * fft_tolerance(n) * np.linalg.norm(X)
    assert_adjoint(F, rng=n)
    if norm == "ortho":  # unitary: the adjoint is the inverse
        assert np.linalg.norm(F.H @ (F @ X) - X) <= 2 * fft_tolerance(n) * np.linalg.norm(X)


@given(st.integers(1, 200), st.booleans())
def test_dft_complex64(n, inverse):
    rng = np.random.default_rng(n)
    X = (rng.standard_normal((n, 2)) + 1j * rng.standard_normal((n, 2))).astype(np.complex64)
    K = (km.idft if inverse else km.dft)(n, dtype=np.complex64)
    assert K.dtype == np.complex64
    ref = (np.fft.ifft if inverse else np.fft.fft)(X.astype(np.complex128), axis=0)
    assert rel_error(K, X, ref) <= fft_tolerance(n, np.complex64)


@given(structured_targets(names=["dft", "idft", "hadamard"], max_n=40))
def test_structured_targets(t):
    assert_matches_dense(t.kmatrix, t.dense)
    assert_certificate(t.kmatrix, width=1, expansion=t.expansion)


@pytest.mark.parametrize("n", [1531, 8192, 10000])
def test_bluestein_accuracy_large(n):
    """Relative error <= 1e-11 at n <= 10**4 (measured: about 1e-15)."""
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 3)) + 1j * rng.standard_normal((n, 3))
    for inverse in (False, True):
        K = (km.idft if inverse else km.dft)(n)
        ref = (np.fft.ifft if inverse else np.fft.fft)(X, axis=0)
        err = rel_error(K, X, ref)
        assert err <= 1e-11
        assert err <= fft_tolerance(n)
        assert K.width == 1 and K.expansion == expected_expansion(n)


@pytest.mark.parametrize("norm", ["Backward", "ortho ", "unitary", 1, ""])
def test_dft_rejects_bad_norm(norm):
    with pytest.raises(ValueError, match="norm must be one of"):
        km.dft(8, norm=norm)
    with pytest.raises(ValueError, match="norm must be one of"):
        km.idft(5, norm=norm)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_dft_rejects_real_dtype(dtype):
    with pytest.raises(TypeError, match="dtype"):
        km.dft(8, dtype=dtype)


@pytest.mark.parametrize("n, exc", [(0, ValueError), (-3, ValueError), (2.5, TypeError),
                                    (True, TypeError), ("4", TypeError)])
def test_dft_rejects_bad_size(n, exc):
    with pytest.raises(exc, match="n must"):
        km.dft(n)
    with pytest.raises(exc, match="n must"):
        km.idft(n)

"""Haar wavelet: direct NumPy transform (and PyWavelets when installed), certificate, bad input."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import kmatrix as km
from kmatrix.testing import assert_adjoint, assert_certificate, assert_matches_dense


def haar_numpy(x, level):
    """Multilevel orthonormal Haar analysis, written out: [a_L, d_L, ..., d_1]."""
    a, details = np.asarray(x, dtype=np.float64), []
    for _ in range(level):
        even, odd = a[0::2], a[1::2]
        details.append((even - odd) / np.sqrt(2))
        a = (even + odd) / np.sqrt(2)
    return np.concatenate([a] + details[::-1])


def haar_dense(n, level):
    return np.stack([haar_numpy(e, level) for e in np.eye(n)], axis=1)


@given(st.integers(0, 7), st.data(), st.sampled_from([np.float32, np.float64, np.complex128]))
def test_haar_matches_direct_transform(k, data, dtype):
    n = 1 << k
    level = data.draw(st.one_of(st.none(), st.integers(0, k)), label="level")
    L = k if level is None else level
    W = km.haar(n, level=level, dtype=dtype)
    assert W.shape == (n, n) and W.dtype == np.dtype(dtype)
    assert_matches_dense(W, haar_dense(n, L))
    assert_certificate(W, width=2 if L and n > 2 else 1, expansion=max(2, n) / n)
    assert_adjoint(W, rng=k)


def test_haar_full_level_is_orthogonal_and_ordered():
    n = 64
    W = km.haar(n)
    x = np.random.default_rng(0).standard_normal(n)
    y = W @ x
    assert np.allclose(y, haar_numpy(x, 6))
    assert np.isclose(y[0], x.sum() / np.sqrt(n))  # the approximation comes first
    assert np.allclose(W.T @ y, x)
    assert W.width == 2 and W.expansion == 1.0


def test_haar_permutation_part_is_exact():
    # Blocks 2-3 move coefficients: 0/1 twiddles only.
    W = km.haar(32)
    assert set(np.unique(W.twiddle[2:])) <= {0.0, 1.0}


@pytest.mark.parametrize("n", [8, 32])
def test_haar_matches_pywavelets(n):
    pywt = pytest.importorskip("pywt")
    x = np.random.default_rng(n).standard_normal(n)
    for level in range(0, n.bit_length()):
        ref = np.concatenate(pywt.wavedec(x, "haar", mode="periodization", level=level))
        assert np.allclose(km.haar(n, level=level) @ x, ref, atol=1e-12)


@pytest.mark.parametrize("n", [3, 6, 12, 100])
def test_haar_rejects_non_powers_of_two(n):
    with pytest.raises(ValueError, match=rf"power of two; got n = {n}"):
        km.haar(n)


def test_haar_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n must be >= 1"):
        km.haar(0)
    with pytest.raises(TypeError, match="n must be an integer"):
        km.haar(8.0)
    with pytest.raises(ValueError, match=r"level must be <= log2\(n\) = 3"):
        km.haar(8, level=4)
    with pytest.raises(ValueError, match="level must be >= 0"):
        km.haar(8, level=-1)
    with pytest.raises(TypeError, match="level must be an integer"):
        km.haar(8, level=True)
    with pytest.raises(TypeError, match="dtype"):
        km.haar(8, dtype=np.int32)

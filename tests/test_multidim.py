"""dftn / idftn / convolution2d on row-major flattened arrays: NumPy/SciPy oracles, certificates, bad input."""

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, strategies as st

import kmatrix as km
from kmatrix.testing import assert_adjoint, assert_certificate, assert_matches_dense

NORMS = [None, "backward", "ortho", "forward"]
shapes = st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple)


def _pow2(k):
    return 1 << max(k - 1, 0).bit_length()


def _dft_internal(n):
    """Internal size of dft(n): n for powers of two (2 for n = 1), else Bluestein's circulant."""
    return max(2, n) if n & (n - 1) == 0 else _pow2(2 * n - 2)


def _fft_matrix(shape, norm, inverse):
    size = int(np.prod(shape))
    fn = np.fft.ifftn if inverse else np.fft.fftn
    return np.stack([fn(e.reshape(shape), norm=norm).ravel() for e in np.eye(size)], axis=1)


@given(shapes, st.sampled_from(NORMS), st.booleans())
def test_dftn_matches_numpy(shape, norm, inverse):
    K = (km.idftn if inverse else km.dftn)(shape, norm=norm)
    size = int(np.prod(shape))
    assert K.shape == (size, size) and K.dtype == np.complex128
    assert_matches_dense(K, _fft_matrix(shape, norm, inverse))
    sides = [n for n in shape if n > 1] or [1]
    expansion = np.prod([_dft_internal(n) for n in sides]) / np.prod(sides)
    assert_certificate(K, width=3, expansion=expansion)
    if all(n & (n - 1) == 0 for n in sides):
        assert K.width == 1


def test_dftn_powers_of_two_are_one_bbstar():
    x = np.random.default_rng(0).standard_normal((8, 4, 2))
    F = km.dftn(x.shape, norm="ortho", dtype=np.complex64)
    assert F.width == 1 and F.expansion == 1 and F.dtype == np.complex64
    assert np.allclose(F @ x.ravel(), np.fft.fftn(x, norm="ortho").ravel(), atol=1e-5)
    assert_adjoint(F, rng=0)
    # An int is a 1-D shape.
    assert np.allclose(km.dftn(8).toarray(), km.dft(8).toarray())


def test_idftn_inverts_dftn():
    x = np.random.default_rng(1).standard_normal(30) + 0j
    y = km.dftn((5, 6)) @ x
    assert np.allclose(km.idftn((5, 6)) @ y, x)


@pytest.mark.parametrize("shape, exc, match", [
    ((), ValueError, "at least one axis"),
    ((3, 0), ValueError, r"shape\[1\] must be >= 1"),
    ((3, 2.0), TypeError, r"shape\[1\] must be an integer"),
    ("ab", TypeError, r"shape\[0\] must be an integer"),
    (True, TypeError, "shape"),
    (None, TypeError, "shape"),
])
def test_dftn_rejects_bad_shapes(shape, exc, match):
    with pytest.raises(exc, match=match):
        km.dftn(shape)


def test_dftn_rejects_bad_norm_and_dtype():
    with pytest.raises(ValueError, match="norm"):
        km.dftn((2, 2), norm="unitary")
    with pytest.raises(TypeError, match="complex"):
        km.idftn((2, 2), dtype=np.float64)


# ---------------------------------------------------------------------------- convolution2d
def _conv_dense(h, shape, mode):
    size = int(np.prod(shape))
    return np.stack(
        [scipy.signal.convolve2d(e.reshape(shape), h, mode=mode).ravel() for e in np.eye(size)],
        axis=1,
    )


@given(
    st.tuples(st.integers(1, 6), st.integers(1, 6)),
    st.tuples(st.integers(1, 5), st.integers(1, 5)),
    st.sampled_from(["full", "same", "valid"]),
    st.sampled_from([np.float32, np.float64, np.complex128]),
    st.integers(0, 2**32 - 1),
)
def test_convolution2d_matches_scipy(shape, kshape, mode, dtype, seed):
    (m1, n1), (m2, n2) = shape, kshape
    valid_ok = (m1 >= m2 and n1 >= n2) or (m2 >= m1 and n2 >= n1)
    if mode == "valid" and not valid_ok:
        return
    rng = np.random.default_rng(seed)
    h = rng.standard_normal(kshape).astype(dtype)
    if np.dtype(dtype).kind == "c":
        h = h + 1j * rng.standard_normal(kshape)
    K = km.convolution2d(h, shape, mode=mode)
    dense = _conv_dense(h.astype(np.complex128), shape, mode)
    assert K.shape == dense.shape
    # The dtype is the 1-D Toeplitz operator's for the kernel's values.
    assert K.dtype == km.toeplitz(h.ravel()[:1]).dtype
    # a real kernel gives a real operator (the dense oracle was computed in complex)
    assert_matches_dense(K, (dense.real if K.dtype.kind == "f" else dense).astype(K.dtype))
    assert K.dtype.kind == np.dtype(dtype).kind
    width = 2 if mode == "full" or (mode == "valid" and m1 >= m2 and n1 >= n2) else 3
    assert_certificate(K, width=width, expansion=2 if mode == "full" else None)
    if mode == "valid" and m1 >= m2 and n1 >= n2:
        assert K.expansion < 4


def test_convolution2d_certificate_examples():
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal((32, 32)), rng.standard_normal((3, 3))
    for mode, width in [("full", 2), ("same", 3), ("valid", 2)]:
        K = km.convolution2d(h, x.shape, mode=mode)
        ref = scipy.signal.convolve2d(x, h, mode=mode)
        assert np.allclose(K @ x.ravel(), ref.ravel())
        assert K.width == width
    assert km.convolution2d(h, x.shape, mode="valid").expansion == 1.0
    # A 1 x k kernel on one row is a 1-D convolution: no permutation at all.
    K = km.convolution2d(np.ones((1, 3)), (1, 8))
    assert K.width == 1 and np.allclose(K @ np.arange(8.0), np.convolve(np.ones(3), np.arange(8.0)))
    assert_adjoint(km.convolution2d(h + 1j, (5, 7), mode="same"), rng=1)


def test_convolution2d_rejects_bad_input():
    h = np.ones((2, 2))
    with pytest.raises(ValueError, match="mode must be one of"):
        km.convolution2d(h, (4, 4), mode="circular")
    with pytest.raises(ValueError, match="at least as large"):
        km.convolution2d(np.ones((1, 5)), (3, 3), mode="valid")
    with pytest.raises(ValueError, match="h must be 2-D"):
        km.convolution2d(np.ones(3), (4, 4))
    with pytest.raises(ValueError, match="h contains NaN"):
        km.convolution2d(np.array([[1.0, np.nan]]), (4, 4))
    with pytest.raises(TypeError, match="h must be numeric"):
        km.convolution2d(np.array([["a"]]), (4, 4))
    with pytest.raises(ValueError, match="rows must be >= 1"):
        km.convolution2d(h, (0, 4))
    with pytest.raises(ValueError, match="shape must be an int or a pair"):
        km.convolution2d(h, (2, 3, 4))

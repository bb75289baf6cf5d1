"""DCT, DST (types 1-4), their inverses, n-D versions and the Hartley transform.

Dense oracles are scipy.fft's transforms along axis 0 and the cas definition; the
certificates are those of the theory page."""

import numpy as np
import pytest
import scipy.fft
from hypothesis import given, settings, strategies as st

import kmatrix as km
from kmatrix.testing import assert_adjoint, assert_certificate, assert_matches_dense

NORMS = [None, "backward", "ortho", "forward"]
FUNCS = {"dct": (km.dct, scipy.fft.dct), "dst": (km.dst, scipy.fft.dst),
         "idct": (km.idct, scipy.fft.idct), "idst": (km.idst, scipy.fft.idst)}


def dft_size(name, type_, n):
    """Length of the DFT the construction uses (type 1: the symmetric extension's)."""
    kind = name.lstrip("i")
    if type_ == 1:
        return 2 * (n - 1) if kind == "dct" else 2 * (n + 1)
    return 2 * n


def is_pow2(v):
    return v >= 2 and v & (v - 1) == 0


def bluestein_size(n):
    """Smallest power of two >= 2n - 1 (an upper bound on the chirp circulant's size)."""
    return max(2, 1 << (2 * n - 2).bit_length())


def expected_certificate(name, type_, n):
    if type_ in (2, 3) and is_pow2(n) and n >= 4:
        return 4, 1.0  # Makhoul: the DFT of the same length
    P = dft_size(name, type_, n)
    if is_pow2(P):
        return 2, P / n
    if type_ == 1 and is_pow2(n):
        return 3, 2.0  # extension, one circulant of size 2n, fold
    return 1, 2 * bluestein_size(n) / n


@given(st.sampled_from(sorted(FUNCS)), st.integers(1, 4), st.integers(1, 70),
       st.sampled_from(NORMS), st.sampled_from([None, True, False]), st.integers(0, 2**32 - 1))
@settings(max_examples=150, deadline=None)
def test_equals_scipy(name, type_, n, norm, orthogonalize, seed):
    ours, theirs = FUNCS[name]
    if name.lstrip("i") == "dct" and type_ == 1 and n == 1:
        return  # not defined (checked in test_bad_arguments)
    K = ours(n, type=type_, norm=norm, orthogonalize=orthogonalize)
    assert K.shape == (n, n) and K.dtype == np.float64 and K.real_matrix
    ref = theirs(np.eye(n), type=type_, norm=norm, orthogonalize=orthogonalize, axis=0)
    assert_matches_dense(K, ref)
    X = np.random.default_rng(seed).standard_normal((n, 3))
    Y = K @ X
    assert Y.dtype == np.float64
    Xref = theirs(X, type=type_, norm=norm, orthogonalize=orthogonalize, axis=0)
    assert np.allclose(Y, Xref, rtol=1e-12, atol=1e-12 * np.abs(Xref).max())
    width, expansion = expected_certificate(name, type_, n)
    assert K.width == width
    assert_certificate(K, width=width, expansion=expansion)


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("type_", [2, 3, 4])
@pytest.mark.parametrize("k", [0, 1, 2, 5, 10])
def test_powers_of_two(name, type_, k):
    """Types 2 and 3 from n = 4: (BB*)^4_1; type 4 and the smallest sizes: (BB*)^2_2."""
    n = 1 << k
    K = FUNCS[name][0](n, type=type_, norm="ortho")
    want = (4, 1.0) if type_ in (2, 3) and n >= 4 else (2, 2.0)
    assert (K.width, K.expansion) == want
    assert_certificate(K, width=want[0], expansion=want[1])
    if k <= 5:
        assert_matches_dense(K, FUNCS[name][1](np.eye(n), type=type_, norm="ortho", axis=0))


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("k", [1, 2, 3, 6, 10, 12])
def test_type_1_at_powers_of_two(name, k):
    """n = 2**k: (BB*)^3_2 (the DST-I of size 2 included; the DCT-I of size 2 is a
    natural size), accurate to rounding at every size (no growth with n)."""
    n = 1 << k
    K = FUNCS[name][0](n, type=1, norm="ortho")
    if name.lstrip("i") == "dct" and n == 2:
        assert (K.width, K.expansion) == (2, 1.0)
        return
    assert (K.width, K.expansion) == (3, 2.0)
    assert_certificate(K, width=3, expansion=2.0)
    X = np.random.default_rng(k).standard_normal((n, 3))
    want = FUNCS[name][1](X, type=1, norm="ortho", axis=0)
    assert np.linalg.norm(K @ X - want) <= 4e-15 * np.linalg.norm(want)
    if k <= 6:
        assert_matches_dense(K, FUNCS[name][1](np.eye(n), type=1, norm="ortho", axis=0))


@pytest.mark.parametrize("k", [1, 3, 6])
def test_type_1_at_its_natural_sizes(k):
    C = km.dct((1 << k) + 1, type=1)
    assert C.width == 2 and C.internal_size == 2 << k and C.expansion < 2
    S = km.dst((1 << k) - 1, type=1) if k > 1 else km.dst(1, type=1)
    assert S.width == 2 and S.internal_size == max(4, 2 << k)
    for K, f, n in [(C, scipy.fft.dct, (1 << k) + 1), (S, scipy.fft.dst, S.shape[0])]:
        assert_matches_dense(K, f(np.eye(n), type=1, axis=0))


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.complex128])
def test_dtypes(dtype):
    n = 12
    K = km.dct(n, norm="ortho", dtype=dtype)
    assert K.dtype == dtype
    assert K.real_matrix == (np.dtype(dtype).kind == "f")
    X = np.random.default_rng(0).standard_normal((n, 4)).astype(np.float32)
    Y = K @ X
    assert Y.dtype == np.result_type(dtype, np.float32)
    tol = 1e-5 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-12
    assert np.allclose(Y, scipy.fft.dct(X.astype(np.float64), norm="ortho", axis=0), atol=tol)


def test_complex_input_transforms_real_and_imaginary_parts():
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((20, 3)) + 1j * rng.standard_normal((20, 3))
    for t in (1, 2, 3, 4):
        Y = km.dst(20, type=t) @ Z
        assert Y.dtype == np.complex128
        assert np.allclose(Y, scipy.fft.dst(Z, type=t, axis=0), atol=1e-11)
        assert np.allclose(km.dct(20, type=t) @ Z[:, 0], scipy.fft.dct(Z[:, 0], type=t), atol=1e-11)


def test_ortho_is_orthogonal_and_type_3_is_the_transpose_of_type_2():
    for n in (8, 13):
        C2, C3 = km.dct(n, norm="ortho").toarray(), km.dct(n, type=3, norm="ortho").toarray()
        assert np.allclose(C2 @ C2.T, np.eye(n), atol=1e-13)
        assert np.allclose(C3, C2.T, atol=1e-13)
        assert np.allclose(km.dct(n, norm="ortho").T.toarray(), C3, atol=1e-13)
    assert_adjoint(km.dst(9, type=4), rng=0)
    assert_adjoint(km.dct(16, type=2), rng=1)


@given(st.integers(1, 70), st.sampled_from(NORMS))
@settings(max_examples=40, deadline=None)
def test_hartley(n, norm):
    H = km.dht(n, norm=norm)
    k = np.arange(n)
    angle = 2 * np.pi * (np.outer(k, k) % n) / n  # exact reduction: an accurate oracle
    scale = {None: 1, "backward": 1, "ortho": n**-0.5, "forward": 1 / n}[norm]
    assert_matches_dense(H, scale * (np.cos(angle) + np.sin(angle)))
    assert H.dtype == np.float64 and H.real_matrix and H.width == 1
    bound = 2.0 if is_pow2(n) else 2 * bluestein_size(n) / n
    assert_certificate(H, width=1, expansion=bound)


def test_hartley_is_an_involution_up_to_n():
    x = np.random.default_rng(2).standard_normal(32)
    H = km.dht(32)
    assert np.allclose(H @ (H @ x), 32 * x)
    assert (H.width, H.expansion) == (1, 2.0)


@pytest.mark.parametrize("shape", [(5,), (4, 8), (3, 5), (2, 3, 4), 6])
@pytest.mark.parametrize("name", ["dctn", "dstn", "idctn", "idstn"])
@pytest.mark.parametrize("type_", [1, 2, 4])
def test_nd_equals_scipy(shape, name, type_):
    full = (shape,) if isinstance(shape, int) else shape
    if type_ == 1 and name in ("dctn", "idctn") and min(full) < 2:
        return
    K = getattr(km, name)(shape, type=type_, norm="ortho")
    x = np.random.default_rng(3).standard_normal(full)
    ref = getattr(scipy.fft, name)(x, type=type_, norm="ortho").ravel()
    assert K.shape == (x.size, x.size) and K.dtype == np.float64
    assert np.allclose(K @ x.ravel(), ref, atol=1e-12)
    # the Kronecker rule's certificate: the widest factor plus one per misaligned side
    # (a square factor narrower than its internal size has two), expansions multiply
    ones = [getattr(km, name.rstrip("n"))(s, type=type_) for s in full]
    assert K.expansion == pytest.approx(np.prod([o.expansion for o in ones]))
    misaligned = 2 * sum(o.shape[0] != o.internal_size for o in ones[1:])
    assert_certificate(K, width=max(o.width for o in ones) + misaligned,
                       expansion=np.prod([o.expansion for o in ones]))


def test_nd_power_of_two_2d():
    K = km.dctn((16, 16), norm="ortho")
    x = np.random.default_rng(4).standard_normal((16, 16))
    assert np.allclose(K @ x.ravel(), scipy.fft.dctn(x, norm="ortho").ravel(), atol=1e-13)
    assert K.width == 4 and K.expansion == 1.0  # (BB*)^4_1 each, aligned: nothing added
    K4 = km.dctn((16, 16), type=4)  # (BB*)^2_2 each: both sides of B misaligned, +2
    assert K4.width == 4 and K4.expansion == 4.0


@pytest.mark.parametrize("call, exc, match", [
    (lambda: km.dct(8, type=5), ValueError, "type must be 1, 2, 3 or 4; got 5"),
    (lambda: km.dst(8, type=0), ValueError, "type must be"),
    (lambda: km.dct(8, type=2.0), TypeError, "type must be an integer"),
    (lambda: km.dct(8, type=True), TypeError, "type must be an integer"),
    (lambda: km.dct(0), ValueError, "n must be >= 1; got 0"),
    (lambda: km.idst(-3), ValueError, "n must be >= 1"),
    (lambda: km.dct(2.5), TypeError, "n must be an integer"),
    (lambda: km.dct(1, type=1), ValueError, "type 1 needs n >= 2"),
    (lambda: km.idct(1, type=1), ValueError, "type 1 needs n >= 2"),
    (lambda: km.dct(8, norm="bad"), ValueError, "norm must be one of"),
    (lambda: km.dht(8, norm="orthonormal"), ValueError, "norm must be one of"),
    (lambda: km.dct(8, orthogonalize="yes"), TypeError, "orthogonalize must be"),
    (lambda: km.dct(8, dtype=np.int64), TypeError, "dtype must be one of"),
    (lambda: km.dht(0), ValueError, "n must be >= 1"),
    (lambda: km.dctn((3, -2)), ValueError, r"shape\[1\] must be >= 1; got -2"),
    (lambda: km.dstn((3, 0)), ValueError, r"shape\[1\] must be >= 1"),
    (lambda: km.dctn(()), TypeError, "shape must be"),
    (lambda: km.dctn("8"), TypeError, "shape must be"),
    (lambda: km.dctn((4, 2.0)), TypeError, r"shape\[1\] must be an integer"),
    (lambda: km.dctn((4, 1), type=1), ValueError, "type 1 needs n >= 2"),
])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_non_finite_input_stays_in_its_column():
    """Two real columns share a complex one: a NaN must not reach its partner column."""
    X = np.random.default_rng(5).standard_normal((16, 4))
    X[3, 0] = np.nan
    X[2, 1] = np.inf
    Y = km.dct(16) @ X
    ref = scipy.fft.dct(X, axis=0)
    assert np.isnan(Y[:, 0]).all() and not np.isfinite(Y[:, 1]).any()
    assert np.allclose(Y[:, 2:], ref[:, 2:], atol=1e-12)

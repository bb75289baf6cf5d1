"""fit's default starts: the orthogonal start, the matched permutation start, and the
learned-permutation fallback."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import kmatrix as km
from kmatrix._reference import apply_reference
from kmatrix.learn import round_permutation
from kmatrix.learn._problem import orthogonal_scale
from kmatrix.learn.parametrizations import make_parametrization
from kmatrix.learn.routing import matched_permutation, route_logits


def _switches(logits):
    """The 0/1 network of hard switches (keep where the logit is positive)."""
    keep = logits > 0
    tw = np.zeros(logits.shape + (2, 2))
    tw[..., 0, 0] = tw[..., 1, 1] = keep
    tw[..., 0, 1] = tw[..., 1, 0] = ~keep
    return tw


@given(st.integers(1, 7), st.integers(0, 2**31), st.integers(1, 2))
@settings(max_examples=40, deadline=None)
def test_route_logits_routes_every_permutation(m, seed, width):
    n = 1 << m
    p = np.random.default_rng(seed).permutation(n)
    logits = route_logits(p, m, width)
    assert logits.shape == (2 * width, m, n // 2)
    assert np.all(np.abs(logits) == 4.0)
    image = apply_reference(_switches(logits), np.arange(float(n)), (n, n))
    np.testing.assert_array_equal(image, p)


def test_route_logits_rejects_non_permutations():
    with pytest.raises(ValueError, match="permutation of range"):
        route_logits(np.array([0, 0, 1, 2]), 2)
    with pytest.raises(ValueError, match="permutation of range"):
        route_logits(np.arange(8), 2)


@pytest.mark.parametrize("complex_", [False, True])
def test_matched_permutation_pairs_rows(complex_):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((32, 20)) + (1j * rng.standard_normal((32, 20)) if complex_ else 0)
    p = rng.permutation(32)
    np.testing.assert_array_equal(matched_permutation(X, 3.0 * X[p]), p)


@pytest.mark.parametrize("n, seed", [(16, 0), (64, 1), (64, 2)])
def test_permutation_fit_recovers_hidden_permutation_by_default(n, seed):
    rng = np.random.default_rng(seed)
    p = rng.permutation(n)
    X = rng.standard_normal((n, 4 * n))
    res = km.fit(X=X, Y=X[p], parametrization="permutation", rng=seed)
    assert res.converged
    P, q = round_permutation(res, return_indices=True)
    np.testing.assert_array_equal(q, p)
    np.testing.assert_array_equal(P @ X, X[p])


def test_permutation_fit_from_noisy_pairs():
    rng = np.random.default_rng(5)
    n = 32
    p = rng.permutation(n)
    X = rng.standard_normal((n, 4 * n))
    Y = X[p] + 0.05 * rng.standard_normal(X.shape)
    res = km.fit(X=X, Y=Y, parametrization="permutation", rng=0, max_iter=200)
    np.testing.assert_array_equal(round_permutation(res, return_indices=True)[1], p)
    # The noise cannot be explained: the fit reports it.
    assert not res.converged and 0.01 < res.rel_error < 0.2


def test_init_match_needs_a_square_permutation_fit():
    X = np.eye(8)
    with pytest.raises(ValueError, match="init='match'"):
        km.fit(X=X, Y=X, init="match")
    with pytest.raises(ValueError, match="init='match'"):
        km.fit(X=np.ones((6, 4)), Y=np.ones((6, 4)), parametrization="permutation", init="match")


@given(st.integers(1, 4), st.integers(1, 2), st.integers(0, 2**31))
@settings(max_examples=25, deadline=None)
def test_orthogonal_from_twiddle_inverts_twiddle_and_projects(m, width, seed):
    rng = np.random.default_rng(seed)
    param = make_parametrization("orthogonal", 2 * width, m, False)
    theta = param.initial("randn", rng)
    tw = param.twiddle(theta)
    np.testing.assert_allclose(param.twiddle(param.from_twiddle(tw)), tw, atol=1e-12)
    # A perturbed block goes to the nearest element of its component of O(2).
    noisy = tw + 1e-3 * rng.standard_normal(tw.shape)
    back = param.twiddle(param.from_twiddle(noisy))
    assert np.abs(back - tw).max() < 1e-2
    det = lambda t: t[..., 0, 0] * t[..., 1, 1] - t[..., 0, 1] * t[..., 1, 0]  # noqa: E731
    np.testing.assert_array_equal(np.sign(det(back)), np.sign(det(tw)))


@given(st.integers(1, 4), st.integers(1, 2), st.integers(0, 2**31))
@settings(max_examples=25, deadline=None)
def test_unitary_from_twiddle_inverts_twiddle_and_projects(m, width, seed):
    rng = np.random.default_rng(seed)
    param = make_parametrization("orthogonal", 2 * width, m, True)
    tw = param.twiddle(param.initial("ortho", rng))
    np.testing.assert_allclose(param.twiddle(param.from_twiddle(tw)), tw, atol=1e-12)
    # Any block goes to its polar factor: the nearest unitary 2x2.
    noisy = tw + 0.3 * (rng.standard_normal(tw.shape) + 1j * rng.standard_normal(tw.shape))
    back = param.twiddle(param.from_twiddle(noisy))
    u, _, vh = np.linalg.svd(noisy)
    np.testing.assert_allclose(back, u @ vh, atol=1e-12)


def test_orthogonal_scale_detects_orthogonal_data():
    rng = np.random.default_rng(0)
    Q = km.random(16, rng=1).toarray()
    X = rng.standard_normal((16, 40))
    assert np.isclose(orthogonal_scale(X, 3.0 * Q @ X), 3.0)
    assert np.isclose(orthogonal_scale(np.eye(8), np.fft.fft(np.eye(8))), np.sqrt(8))
    A = km.random(16, init="randn", rng=1).toarray()
    assert orthogonal_scale(X, A @ X) is None
    assert orthogonal_scale(np.zeros((4, 4)), np.eye(4)) is None


@pytest.mark.parametrize("n, seed", [(16, 0), (16, 2), (32, 1)])
def test_default_fit_recovers_orthogonal_teachers(n, seed):
    T = km.random(n, rng=seed).toarray()
    res = km.fit(T, rng=seed)
    assert res.converged, res.message
    assert res.message.startswith("unitary stage")
    np.testing.assert_allclose(res.kmatrix.toarray(), T, atol=1e-5)
    assert res.kmatrix.dtype == np.float64 and res.parametrization == "free"


def test_default_fit_scaled_hadamard_and_dft_without_permutation():
    H = 3.0 * scipy.linalg.hadamard(32)
    res = km.fit(H, rng=0)
    assert res.converged and res.permutation is None
    np.testing.assert_allclose(res.kmatrix.toarray(), H, atol=1e-4)
    F = np.fft.fft(np.eye(16), axis=0)
    res = km.fit(F, rng=0)
    assert res.converged and res.kmatrix.dtype == np.complex128
    np.testing.assert_allclose(res.kmatrix.toarray(), F, atol=1e-4)


@pytest.mark.parametrize("name", ["dft", "hadamard"])
def test_width_two_fit_recovers_width_one_transforms(name):
    # A wider fit keeps the extra BB* free but must still find what width 1 holds.
    n = 64
    if name == "dft":
        T = np.fft.fft(np.eye(n), axis=0, norm="ortho")
    else:
        T = 2.0 * scipy.linalg.hadamard(n)
    res = km.fit(T, width=2, rng=1, model="plain", permutation=None)
    assert res.converged, res.message
    assert res.kmatrix.width == 2 and res.kmatrix.dtype == T.dtype
    err = np.linalg.norm(res.kmatrix.toarray() - T) / np.linalg.norm(T)
    assert err <= 1e-6
    assert "width 1 and identity blocks" in res.message


def test_callback_sees_the_scaled_operator_in_the_orthogonal_start():
    T = 5.0 * km.random(8, rng=0).toarray()
    seen = []
    res = km.fit(T, rng=0, callback=lambda it, K, rel: seen.append(
        np.linalg.norm(K.toarray() - T) / np.linalg.norm(T) - rel) or False)
    assert res.converged and np.abs(seen).max() < 1e-8


def test_permutation_auto_falls_back_to_a_learned_permutation():
    # Too few iterations for the plain fit of a non-orthogonal target: the further
    # attempts (Fourier start, real part, learned permutation) are tried too, and the
    # best result is returned.
    T = km.random(8, init="randn", rng=0).toarray()
    res = km.fit(T, rng=0, max_iter=5, restarts=2)
    assert res.message.startswith(
        ("plain fit: ", "learned permutation: ", "Fourier start: ", "real part")
    )
    plain = km.fit(T, rng=0, max_iter=5, restarts=2, permutation=None, model="plain")
    assert res.rel_error <= plain.rel_error
    # No fallback for a converged fit, or for data pairs with model="plain".
    res = km.fit(scipy.linalg.hadamard(8), rng=0)
    assert res.converged and res.permutation is None and res.message.startswith("unitary")
    X = np.eye(8)
    res = km.fit(X=X, Y=T, rng=0, max_iter=5, model="plain")
    assert res.permutation is None and not res.message.startswith("plain fit")
    with pytest.raises(ValueError, match="permutation must be"):
        km.fit(T, permutation="always")


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_learned_permutation_keeps_the_target_dtype(dtype):
    T = (np.arange(16).reshape(4, 4) % 3 + 1).astype(dtype)
    res = km.fit(T, max_iter=3, permutation="learn", restarts=1, rng=0)
    assert res.kmatrix.dtype == dtype
    # max_iter=0 asks for no optimization: no second attempt either.
    res = km.fit(T, max_iter=0, rng=0)
    assert res.kmatrix.dtype == dtype and res.permutation is None


def test_default_fit_takes_a_nested_list():
    # An array_like target, not only an ndarray or an operator.
    T = scipy.linalg.hadamard(8).tolist()
    res = km.fit(T, rng=0)
    assert res.converged
    np.testing.assert_allclose(res.kmatrix.toarray(), np.array(T), atol=1e-5)
    with pytest.raises(ValueError, match="2-D"):
        km.fit([1.0, 2.0], rng=0)

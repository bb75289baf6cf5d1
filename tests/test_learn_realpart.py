"""The real-part model and the further attempts of fit's default (model="auto")."""

import numpy as np
import pytest
import scipy.fft
import scipy.linalg

import kmatrix as km
from kmatrix.learn.parametrizations import make_parametrization
from kmatrix.learn.realpart import (
    RealPartObjective, dft_start, first_level_permutations, fit_real_part, real_kmatrix,
)


@pytest.mark.parametrize("name", ["free", "orthogonal"])
def test_real_part_gradient_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    p = make_parametrization(name, 2, 3, True)
    X = rng.standard_normal((8, 5))
    Y = rng.standard_normal((8, 5))
    obj = RealPartObjective(p, X, Y)
    theta = p.initial("randn" if name == "free" else "ortho", rng)
    _, g = obj(theta)
    h = 1e-6
    for k in rng.choice(theta.size, 12, replace=False):
        e = np.zeros_like(theta)
        e[k] = h
        fd = (obj(theta + e)[0] - obj(theta - e)[0]) / (2 * h)
        assert np.isclose(fd, g[k], rtol=1e-5, atol=1e-9)


def test_real_part_loss_is_the_real_residual():
    rng = np.random.default_rng(1)
    K = km.random(8, dtype=np.complex128, rng=2)
    p = make_parametrization("free", 2, 3, True)
    X = rng.standard_normal((8, 3))
    Y = rng.standard_normal((8, 3))
    loss, _ = RealPartObjective(p, X, Y)(p.to_params(K.twiddle))
    R = (K.toarray() @ X).real - Y
    assert np.isclose(loss, 0.5 * np.sum(R**2) / np.sum(Y**2))


def test_real_kmatrix_is_the_real_part():
    K = km.random(16, dtype=np.complex128, rng=3)
    R = real_kmatrix(K.twiddle, K.shape)
    assert R.dtype == np.float64 and R.real_matrix
    np.testing.assert_allclose(R.toarray(), K.toarray().real, atol=1e-12)
    x = np.random.default_rng(0).standard_normal((16, 3))
    assert (R @ x).dtype == np.float64


def test_first_level_permutations_are_eight_distinct_permutations():
    ps = first_level_permutations(16)
    assert len(ps) == 8 and len({tuple(p) for p in ps}) == 8
    for p in ps:
        assert sorted(p) == list(range(16))
    np.testing.assert_array_equal(ps[0], np.arange(16))
    # Makhoul's order for the DCT-II: evens, then the odds reversed.
    makhoul = np.concatenate([np.arange(0, 16, 2), np.arange(15, 0, -2)])
    assert any(np.array_equal(p, makhoul) for p in ps)


def _check_exact(res, T):
    K = res.kmatrix
    assert K.dtype == np.float64
    dense = K.toarray()
    assert dense.dtype == np.float64
    assert np.linalg.norm(dense - T) <= 1e-6 * np.linalg.norm(T) * 1.01
    # the returned error is the honest one
    assert np.isclose(res.rel_error, np.linalg.norm(dense - T) / np.linalg.norm(T), rtol=1e-3)


@pytest.mark.parametrize("name, n", [("dct2", 16), ("dst2", 16), ("hartley", 16), ("dct2", 32)])
def test_real_part_model_recovers_real_transforms(name, n):
    eye = np.eye(n)
    if name == "dct2":
        T = scipy.fft.dct(eye, type=2, norm="ortho", axis=0)
    elif name == "dst2":
        T = scipy.fft.dst(eye, type=2, norm="ortho", axis=0)
    else:
        F = np.fft.fft(eye, norm="ortho", axis=0)
        T = F.real - F.imag
    res = km.fit(T, model="real part", rng=0, tol=1e-9)
    assert res.converged and res.model == "real part"
    assert sorted(res.permutation) == list(range(n))
    _check_exact(res, T)
    assert np.linalg.norm(res.kmatrix.toarray() - T) <= 1e-8 * np.linalg.norm(T)


def test_default_fit_finds_the_dst_through_the_real_part():
    T = scipy.fft.dst(np.eye(32), type=2, norm="ortho", axis=0)
    res = km.fit(T, width=2, rng=0)
    assert res.converged and res.model == "real part" and res.message.startswith("real part")
    _check_exact(res, T)
    # model="plain" turns the further attempts off
    res = km.fit(T, width=2, rng=0, model="plain", permutation=None, max_iter=50)
    assert res.model == "plain" and not res.converged


def test_default_fit_gives_up_a_stalled_plain_fit_early():
    # The plain fit of the DCT-II of size 32 with width 2 stalls (4165 iterations with
    # model="plain"); before the real-part model, the default gives it up early.
    T = scipy.fft.dct(np.eye(32), type=2, norm="ortho", axis=0)
    its = []
    res = km.fit(T, width=2, rng=0, callback=lambda it, K, rel: its.append(it))
    # The plain fit's iterations count up; the next attempt counts from 1 again.
    plain = next(i for i in range(1, len(its)) if its[i] <= its[i - 1])
    assert plain <= 1500
    assert res.converged and res.model == "real part"
    _check_exact(res, T)


@pytest.mark.parametrize("n", [16, 32])
def test_default_fit_finds_circular_convolution(n):
    h = np.random.default_rng(4).standard_normal(n)
    T = km.convolution(h, n, mode="circular").toarray()
    res = km.fit(T, width=2, rng=0)
    assert res.converged and res.message.startswith("Fourier start")
    assert res.kmatrix.dtype == np.float64 and res.kmatrix.width == 1
    np.testing.assert_allclose(res.kmatrix.toarray(), T, atol=1e-5)


def test_real_part_keeps_float32_and_the_scale():
    T = 1e5 * scipy.fft.dct(np.eye(16), type=2, norm="ortho", axis=0).astype(np.float32)
    res = km.fit(T, model="real part", rng=0, tol=1e-5)
    assert res.kmatrix.dtype == np.float32 and res.converged
    np.testing.assert_allclose(res.kmatrix.toarray(), T, rtol=0, atol=1e-4 * 1e5)


def test_model_bad_arguments():
    with pytest.raises(ValueError, match="model must be one of"):
        km.fit(np.eye(8), model="real")
    with pytest.raises(ValueError, match="real data"):
        km.fit(np.eye(8) * 1j, model="real part")
    with pytest.raises(ValueError, match="square power-of-two"):
        km.fit(np.eye(6), model="real part")
    with pytest.raises(ValueError, match="square power-of-two"):
        km.fit(np.eye(8), model="real part", parametrization="orthogonal")


@pytest.mark.parametrize("phases", ["none", "out", "both"])
def test_dft_start_is_the_dft_between_unit_diagonals(phases):
    n = 16
    A = km.KMatrix(dft_start(n, np.random.default_rng(3), phases)).toarray()
    F = np.fft.fft(np.eye(n), norm="ortho", axis=0)
    if phases == "none":
        np.testing.assert_allclose(A, F, atol=1e-14)
    # A = D F E with unit diagonals D (rows) and E (columns, identity unless "both")
    E = A[0] / F[0] * np.conj(A[0, 0] / F[0, 0])
    D = A[:, 0] / (F[:, 0] * E[0])
    np.testing.assert_allclose(np.abs(D), 1, atol=1e-12)
    np.testing.assert_allclose(np.abs(E), 1, atol=1e-12)
    np.testing.assert_allclose(A, D[:, None] * F * E[None, :], atol=1e-12)
    if phases != "both":
        np.testing.assert_allclose(E, 1, atol=1e-12)


def test_dft_start_bad_phases():
    with pytest.raises(ValueError, match="phases must be one of"):
        dft_start(8, np.random.default_rng(0), "rows")


def _real_transform(name, n):
    eye = np.eye(n)
    if name == "dct2":
        return scipy.fft.dct(eye, type=2, norm="ortho", axis=0)
    if name == "dst2":
        return scipy.fft.dst(eye, type=2, norm="ortho", axis=0)
    F = np.fft.fft(eye, norm="ortho", axis=0)
    return F.real - F.imag


@pytest.mark.parametrize("name", ["dct2", "dst2", "hartley"])
def test_dft_start_alone_recovers_real_transforms_exactly(name):
    n = 32
    T = _real_transform(name, n)
    # One attempt: the unitary fits all start at the DFT itself.
    tw, p, history, msg = fit_real_part(
        np.eye(n), T, tol=1e-9, max_iter=1000, rng=np.random.default_rng(0), attempts=1
    )
    assert msg.startswith("real part (1 attempt;") and history[-1] <= 1e-9
    R = real_kmatrix(tw, (n, n)) @ km.permutation(p)
    assert R.dtype == np.float64
    dense = R.toarray()
    assert dense.dtype == np.float64
    assert np.linalg.norm(dense - T) <= 1e-6 * np.linalg.norm(T)


def test_real_part_model_does_not_claim_a_gaussian_matrix():
    n = 16
    T = np.random.default_rng(5).standard_normal((n, n))
    # The DFT start does not bring an unstructured target near it.
    tw, p, history, msg = fit_real_part(
        np.eye(n), T, tol=1e-6, max_iter=100, rng=np.random.default_rng(0), attempts=1
    )
    R = (real_kmatrix(tw, (n, n)) @ km.permutation(p)).toarray()
    assert np.linalg.norm(R - T) > 1e-3 * np.linalg.norm(T)
    assert min(history) > 1e-3 and msg.startswith("real part (1 attempt;")

"""Learned recursive permutations and restarts in fit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kmatrix as km
from kmatrix.learn.parametrizations import make_parametrization
from kmatrix.learn.permutations import RecursivePermutation
from kmatrix.learn.structure import PermutedObjective


def bit_reversal(n):
    m = n.bit_length() - 1
    return np.array([int(format(i, f"0{m}b")[::-1], 2) for i in range(n)])


@given(st.integers(1, 5), st.integers(0, 2**31), st.booleans())
@settings(max_examples=25, deadline=None)
def test_recursive_permutation_gradient_and_adjoint(m, seed, complex_):
    n = 1 << m
    rp = RecursivePermutation(n)
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(rp.size)
    x = rng.standard_normal((n, 3)) + (1j * rng.standard_normal((n, 3)) if complex_ else 0)
    g = rng.standard_normal((n, 3)) + (1j * rng.standard_normal((n, 3)) if complex_ else 0)
    _, tape = rp.apply(logits, x, tape=True)
    dx, dlogits = rp.backward(tape, g)
    loss = lambda lg: np.real(np.vdot(g, rp.apply(lg, x)))  # noqa: E731
    eps = 1e-6
    num = [(loss(logits + eps * e) - loss(logits - eps * e)) / (2 * eps) for e in np.eye(rp.size)]
    np.testing.assert_allclose(dlogits, num, atol=1e-8)
    # dx is P^T g: the adjoint dot test
    z = rng.standard_normal((n, 3))
    assert np.isclose(np.vdot(rp.apply(logits, z), g), np.vdot(z, dx))


@given(st.integers(1, 7), st.integers(0, 2**31))
@settings(max_examples=30, deadline=None)
def test_hard_rounding_is_an_exact_permutation(m, seed):
    n = 1 << m
    rp = RecursivePermutation(n)
    logits = np.random.default_rng(seed).standard_normal(rp.size) * 3
    p = rp.indices(logits)
    assert np.array_equal(np.sort(p), np.arange(n))
    # the saturated relaxation is that permutation's matrix, and so is km.permutation(p)
    hard = np.where(rp.choices(logits), 60.0, -60.0)
    np.testing.assert_array_equal(rp.apply(hard, np.eye(n)), np.eye(n)[p])
    np.testing.assert_array_equal(km.permutation(p).toarray(), np.eye(n)[p])


def test_separation_at_every_level_is_the_bit_reversal():
    for n in (2, 8, 64):
        rp = RecursivePermutation(n)
        logits = np.tile([5.0, -5.0, -5.0], rp.m)
        assert np.array_equal(rp.indices(logits), bit_reversal(n))


def test_permuted_objective_gradient_matches_central_differences():
    n, m = 8, 3
    rng = np.random.default_rng(0)
    param = make_parametrization("free", 2, m, True)
    rp = RecursivePermutation(n)
    X = rng.standard_normal((n, 5))
    Y = rng.standard_normal((n, 5)) + 1j * rng.standard_normal((n, 5))
    obj = PermutedObjective(param, rp, X, Y)
    theta = np.concatenate([param.initial("randn", rng), rng.standard_normal(rp.size)])
    _, grad = obj(theta)
    eps = 1e-6
    idx = rng.choice(theta.size, 40, replace=False)
    idx = np.concatenate([idx, np.arange(theta.size - rp.size, theta.size)])
    for i in idx:
        e = np.zeros(theta.size)
        e[i] = eps
        num = (obj(theta + e)[0] - obj(theta - e)[0]) / (2 * eps)
        assert abs(num - grad[i]) <= 1e-6 * max(1.0, abs(num))


def test_fit_learns_the_dft_permutation_n16():
    T = np.fft.fft(np.eye(16), norm="ortho", axis=0)
    res = km.fit(T, permutation="learn", restarts=2, rng=0)
    assert res.converged and res.rel_error <= 1e-6
    assert np.array_equal(np.sort(res.permutation), np.arange(16))
    K = res.kmatrix
    assert isinstance(K, km.KMatrix)
    dense = K.toarray()
    assert np.linalg.norm(dense - T) <= 1e-6 * np.linalg.norm(T)
    # K = K0 @ P with P exactly the learned permutation
    assert res.restarts and res.restarts[0].permutation is not None


def test_restarts_keep_every_history_and_return_the_best():
    teacher = km.random(8, init="ortho", rng=1).toarray()
    res = km.fit(teacher, restarts=3, rng=0, max_iter=5, tol=0.0, model="plain")
    assert len(res.restarts) == 3
    assert res.rel_error == min(r.rel_error for r in res.restarts)
    assert all(len(r.history) >= 2 for r in res.restarts)


def test_restart_and_permutation_bad_arguments():
    T = np.eye(8)
    with pytest.raises(ValueError, match="restarts"):
        km.fit(T, restarts=0)
    with pytest.raises(ValueError, match="permutation must be 'auto', 'learn' or None"):
        km.fit(T, permutation="yes")
    with pytest.raises(ValueError, match="power of two"):
        km.fit(np.eye(6), permutation="learn", restarts=1)
    with pytest.raises(ValueError, match="parametrization='free'"):
        km.fit(T, permutation="learn", parametrization="orthogonal")
    bad = np.eye(8)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        km.fit(bad, permutation="learn", restarts=2)
    with pytest.raises(ValueError, match="same number of columns"):
        km.fit(X=np.ones((8, 3)), Y=np.ones((8, 4)), restarts=2)

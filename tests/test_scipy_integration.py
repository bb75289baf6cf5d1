"""K-matrices handed to SciPy solvers give the dense NumPy answers."""

import threading

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import kmatrix as km


def test_gmres_and_cg():
    n = 64
    Q = km.random(n, init="ortho", width=2, rng=0)
    # A = I + 0.3 Q is well conditioned (|0.3 Q| < 1)
    A = km.identity(n) + 0.3 * Q
    assert isinstance(A, km.KMatrix)
    b = np.random.default_rng(1).standard_normal(n)
    Ad = A.toarray()
    x, info = spla.gmres(A, b, rtol=1e-12, atol=0, restart=n)
    assert info == 0
    np.testing.assert_allclose(x, np.linalg.solve(Ad, b), rtol=1e-8, atol=1e-8)
    # SPD: A^H A
    S = A.H @ A
    x, info = spla.cg(S, b, rtol=1e-12, atol=0)
    assert info == 0
    np.testing.assert_allclose(x, np.linalg.solve(S.toarray(), b), rtol=1e-7, atol=1e-7)


def test_lsqr_tall():
    K = km.random((50, 20), width=2, rng=2, init="randn")
    b = np.random.default_rng(3).standard_normal(50)
    x = spla.lsqr(K, b, atol=1e-14, btol=1e-14, iter_lim=2000)[0]
    np.testing.assert_allclose(x, np.linalg.lstsq(K.toarray(), b, rcond=None)[0], rtol=1e-6, atol=1e-8)


def test_eigsh_and_svds():
    K = km.random(40, width=2, rng=4, init="randn")
    H = K + K.H
    vals = spla.eigsh(H, k=4, which="LA", return_eigenvectors=False)
    dense = np.linalg.eigvalsh(H.toarray())
    np.testing.assert_allclose(np.sort(vals), dense[-4:], rtol=1e-8, atol=1e-8)
    s = spla.svds(K, k=3, return_singular_vectors=False)
    np.testing.assert_allclose(np.sort(s), np.linalg.svd(K.toarray(), compute_uv=False)[:3][::-1], rtol=1e-8)


@pytest.mark.parametrize("threaded", [False, True])
def test_concurrent_applies_match_serial(threaded, monkeypatch):
    import kmatrix.backends.cpu.apply as ap
    import kmatrix._threads as thr

    K = km.random(1024, width=2, dtype=np.complex128, rng=5, init="randn")
    X = np.random.default_rng(6).standard_normal((1024, 96))
    serial = K @ X
    if threaded:  # every apply shares its rows with pool threads, all on one pool
        monkeypatch.setenv("KMATRIX_NUM_THREADS", "2")
        monkeypatch.setattr(ap, "_PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(thr, "usable_cores", lambda: 2)
    results = [None] * 6
    errors = []

    def work(i):
        try:
            for _ in range(3):
                results[i] = K @ X
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        np.testing.assert_array_equal(r, serial)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("width, dtype", [(1, np.float64), (2, np.float64), (1, np.complex128)])
def test_default_random_is_well_conditioned(seed, width, dtype):
    # The default init is orthogonal: a new user's first lsqr on km.random converges.
    K = km.random(256, width=width, dtype=dtype, rng=seed)
    assert np.linalg.cond(K.toarray()) < 1e3
    x = np.random.default_rng(seed).standard_normal(256)
    sol = spla.lsqr(K, K @ x, atol=1e-12, btol=1e-12)[0]
    assert np.linalg.norm(sol - x) <= 1e-8 * np.linalg.norm(x)

"""km.fit on Dask data: streamed mini-batch Adam, never the whole data set in memory."""

import threading
import weakref

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import kmatrix as km  # noqa: E402


def _fail_scheduler(*args, **kwargs):
    raise AssertionError("something was computed before the checks")


def _teacher(n=16, cols=512, chunk=64, seed=5):
    T = km.random(n, width=1, init="randn", rng=seed)
    X = np.random.default_rng(1).standard_normal((n, cols))
    return T, X, T @ X, chunk


@pytest.mark.parametrize("batch_size", [None, 32])
def test_teacher_recovered_like_in_memory_adam(batch_size):
    T, X, Y, chunk = _teacher()
    # a start 10% away from the teacher, entry by entry
    noise = np.random.default_rng(2).standard_normal(T.twiddle.shape)
    K0 = km.KMatrix(T.twiddle * (1 + 0.1 * noise))
    kw = dict(method="adam", lr=3e-3, max_iter=400, tol=1e-4, rng=0, init=K0)
    res = km.fit(X=da.from_array(X, chunks=(16, chunk)), Y=da.from_array(Y, chunks=(16, chunk)),
                 batch_size=batch_size, **kw)
    mem = km.fit(X=X, Y=Y, batch_size=batch_size or chunk, **kw)
    assert res.kmatrix.dtype == np.float64 and res.kmatrix.shape == (16, 16)
    assert res.n_iter == 400 and len(res.history) == 401
    # the reported error is the exact error of the returned operator on all the data
    exact = np.linalg.norm(res.kmatrix @ X - Y) / np.linalg.norm(Y)
    assert res.rel_error == pytest.approx(exact, rel=1e-9)
    assert res.rel_error < 0.1 * res.history[0]
    assert res.rel_error < 2 * mem.rel_error


def test_converges_and_stops_at_tol():
    T, X, Y, chunk = _teacher(n=8, cols=256)
    res = km.fit(X=da.from_array(X, chunks=(8, 64)), Y=da.from_array(Y, chunks=(8, 64)),
                 method="adam", lr=1e-3, max_iter=3000, tol=2e-3, rng=0,
                 init=km.KMatrix(T.twiddle * 1.01))
    assert res.converged and res.rel_error <= 2e-3 and res.n_iter < 3000
    assert "<= tol" in res.message


def test_chunks_are_computed_one_at_a_time():
    """A data set of 40 delayed chunks: at most a few are ever alive at once."""
    n, width, nchunks = 8, 16, 40
    T = km.random(n, rng=0)
    lock = threading.Lock()
    state = {"alive": 0, "peak": 0, "made": 0}

    def gone():
        with lock:
            state["alive"] -= 1

    def make(j, y):
        a = np.random.default_rng(j).standard_normal((n, width))
        if y:
            a = T @ a
        with lock:
            state["alive"] += 1
            state["made"] += 1
            state["peak"] = max(state["peak"], state["alive"])
        weakref.finalize(a, gone)
        return a

    def data(y):
        parts = [da.from_delayed(dask.delayed(make)(j, y), (n, width), np.float64)
                 for j in range(nchunks)]
        return da.concatenate(parts, axis=1)

    with dask.config.set(scheduler="sync"):
        res = km.fit(X=data(False), Y=data(True), method="adam", max_iter=60, lr=1e-2, rng=0,
                     batch_size=24, tol=0)
    assert res.n_iter == 60
    # 60 steps of 24 columns read 90 chunks of each array; the passes before and after
    # the fit read each chunk once or twice
    assert state["made"] <= 2 * (90 + 1 + 3 * nchunks)
    assert state["peak"] <= 6  # X and Y: current chunk, next chunk, one spare
    assert state["alive"] == 0 or state["alive"] <= 2


@pytest.mark.parametrize("dtype, want", [
    (np.float32, np.float32), (np.int64, np.float64), (np.complex64, np.complex64),
])
def test_dtype_rules_as_for_numpy(dtype, want):
    X = (np.random.default_rng(0).standard_normal((8, 32)) * 4).astype(dtype)
    Xd = da.from_array(X, chunks=(8, 8))
    res = km.fit(X=Xd, Y=Xd, method="adam", max_iter=5, rng=0)
    assert res.kmatrix.dtype == want
    res = km.fit(X=Xd, Y=X, method="adam", max_iter=5, rng=0, dtype=np.complex128)
    assert res.kmatrix.dtype == np.complex128


def test_vectors_and_mixed_numpy_operands():
    T = km.random((6, 8), rng=1)
    x = np.random.default_rng(0).standard_normal(8)
    res = km.fit(X=da.from_array(x, chunks=4), Y=T @ x, method="adam", max_iter=20, rng=0)
    assert res.kmatrix.shape == (6, 8)
    exact = np.linalg.norm(res.kmatrix @ x - T @ x) / np.linalg.norm(T @ x)
    assert res.rel_error == pytest.approx(exact, rel=1e-9)


def test_bad_input_fails_before_computing():
    X = da.ones((8, 12), chunks=(8, 4))
    cases = [
        (dict(X=X, Y=da.ones((8, 10), chunks=(8, 5)), method="adam"), ValueError, "same number of columns"),
        (dict(X=X, Y=da.ones((8, 12), chunks=(8, 6)), method="adam"), ValueError, "same column chunks"),
        (dict(X=X, Y=da.ones(8), method="adam"), ValueError, "both be 1-D or both 2-D"),
        (dict(X=X, Y=X), ValueError, "method='adam'"),  # the default, L-BFGS
        (dict(X=X, Y=X, method="adam", permutation="learn"), ValueError, "in memory"),
        (dict(X=X, Y=X, method="adam", restarts=2), ValueError, "in memory"),
        (dict(X=X, Y=X, method="adam", relax=True), ValueError, "in memory"),
        (dict(X=X, Y=X, method="adam", batch_size=0), ValueError, "batch_size"),
        (dict(X=X.astype(str), Y=X, method="adam"), TypeError, "numeric"),
        (dict(X=X[X > 0], Y=X, method="adam"), ValueError, "known chunk sizes"),
        (dict(X=X, Y=X, method="adam", probes=4), ValueError, "probes"),
    ]
    with dask.config.set(scheduler=_fail_scheduler):
        for kwargs, err, match in cases:
            with pytest.raises(err, match=match):
                km.fit(**kwargs)
        with pytest.raises(TypeError, match="target in memory"):
            km.fit(X)


def test_bad_values_are_found_by_the_first_pass():
    X = np.ones((8, 12))
    X[3, 7] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        km.fit(X=da.from_array(X, chunks=4), Y=np.ones((8, 12)), method="adam")
    with pytest.raises(ValueError, match="zero"):
        km.fit(X=da.ones((8, 12), chunks=4), Y=np.zeros((8, 12)), method="adam")

"""workers=, set_workers/get_workers and KMATRIX_NUM_THREADS: same results for every
thread count, scipy.fft's argument rules, and applies that stay fast when threads
outnumber the cores."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import kmatrix as km
import kmatrix._threads as thr
from oracle import rand

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORES = thr.usable_cores()


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("KMATRIX_NUM_THREADS", raising=False)


@pytest.fixture(scope="module")
def big():
    # 1024 x 256 float64: 2 MiB, the smallest batch that runs on several threads
    K = km.random(1024, width=2, rng=0)
    X = rand(np.random.default_rng(1), (1024, 256), np.float64)
    return K, X, K.toarray()


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_every_method_gives_the_same_bits_for_every_workers(big, dtype, no_env):
    K0, X0, _ = big
    K = K0.astype(dtype)
    X = X0.astype(dtype)
    for method, arg in ((K.matmat, X), (K.rmatmat, X), (K.dot, X), (K.matvec, X[:, 0]),
                        (K.rmatvec, X[:, 0])):
        ref = method(arg, workers=1)
        for w in (2, -1, None, 64):
            np.testing.assert_array_equal(method(arg, workers=w), ref, err_msg=f"{w}")
    np.testing.assert_array_equal(K @ X, K.matmat(X, workers=1))
    # a real operator on complex input (split into one real batch) and rectangular shapes
    R = km.random((1000, 700), width=1, expansion=1.2, rng=2)
    Z = rand(np.random.default_rng(3), (700, 300), np.complex128)
    np.testing.assert_array_equal(R.matmat(Z, workers=2), R.matmat(Z, workers=1))
    np.testing.assert_allclose(R.matmat(Z, workers=-1), R.toarray() @ Z, atol=1e-10)


def test_results_match_the_dense_product(big):
    K, X, D = big
    for w in (1, 2, -1):
        np.testing.assert_allclose(K.matmat(X, workers=w), D @ X, atol=1e-10)
        np.testing.assert_allclose(K.rmatmat(X, workers=w), D.T @ X, atol=1e-10)


def test_vjp_workers(big):
    K, X, _ = big
    G = rand(np.random.default_rng(4), (1024, 256), np.float64)
    dx1, dt1 = km.vjp(K, X, G, workers=1)
    for w in (2, -1):
        dx, dt = km.vjp(K, X, G, workers=w)
        np.testing.assert_array_equal(dx, dx1)
        np.testing.assert_allclose(dt, dt1, rtol=1e-12, atol=1e-9 * np.abs(dt1).max())
    with pytest.raises(ValueError, match="workers"):
        km.vjp(K, X, G, workers=0)


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-CORES - 1, ValueError),
                                      ("abc", TypeError), (1.5, TypeError), (True, TypeError),
                                      ([2], TypeError)])
def test_bad_workers_name_the_argument(bad, exc):
    K = km.random(8, rng=0)
    for call in (lambda: K.matvec(np.ones(8), workers=bad),  # checked even for one vector
                 lambda: K.matmat(np.ones((8, 2)), workers=bad),
                 lambda: K.rmatvec(np.ones(8), workers=bad),
                 lambda: K.rmatmat(np.ones((8, 2)), workers=bad),
                 lambda: K.dot(np.ones(8), workers=bad),
                 lambda: km.vjp(K, np.ones(8), np.ones(8), workers=bad)):
        with pytest.raises(exc, match="workers"):
            call()
    with pytest.raises(exc, match="workers"):
        with km.set_workers(bad):
            pass


def test_negative_workers_count_from_the_usable_cores(no_env):
    with km.set_workers(-1):
        assert km.get_workers() == CORES
    with km.set_workers(-CORES):
        assert km.get_workers() == 1
    assert thr.threads_for(-1) == CORES
    assert thr.threads_for(10 * CORES) == CORES  # accepted, and all cores used
    with km.set_workers(10 * CORES):
        assert km.get_workers() == 10 * CORES
        assert thr.threads_for() == CORES


def test_set_workers_nests_restores_and_is_per_thread(no_env):
    assert km.get_workers() == CORES
    with km.set_workers(3):
        assert km.get_workers() == 3
        with km.set_workers(1):
            assert km.get_workers() == 1
            seen = []
            t = threading.Thread(target=lambda: seen.append(km.get_workers()))
            t.start()
            t.join()
            assert seen == [CORES]  # other threads keep their own default
            with km.set_workers(None):  # back to the default inside
                assert km.get_workers() == CORES
            assert km.get_workers() == 1
        assert km.get_workers() == 3
        with pytest.raises(RuntimeError):
            with km.set_workers(2):
                raise RuntimeError
        assert km.get_workers() == 3
    assert km.get_workers() == CORES


def test_environment_variable(monkeypatch, big):
    K, X, _ = big
    monkeypatch.setenv("KMATRIX_NUM_THREADS", "1")
    assert km.get_workers() == 1
    with km.set_workers(2):  # the context wins over the variable
        assert km.get_workers() == 2
    monkeypatch.setenv("KMATRIX_NUM_THREADS", "64")
    assert km.get_workers() == 64 and thr.threads_for() == CORES
    monkeypatch.setenv("KMATRIX_NUM_THREADS", "")  # empty: unset
    assert km.get_workers() == CORES
    for bad in ("abc", "0", "-1", "1.5"):
        monkeypatch.setenv("KMATRIX_NUM_THREADS", bad)
        with pytest.raises(ValueError, match=f"KMATRIX_NUM_THREADS.*{bad!r}"):
            km.get_workers()
        with pytest.raises(ValueError, match="KMATRIX_NUM_THREADS"):
            K @ X
        # an explicit count does not read the variable
        np.testing.assert_array_equal(K.matmat(X, workers=1), K.matmat(X, workers=2))


def test_bad_environment_variable_is_reported_when_used_not_at_import():
    env = dict(os.environ, KMATRIX_NUM_THREADS="abc")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    code = textwrap.dedent("""
        import kmatrix as km
        try:
            km.get_workers()
        except ValueError as exc:
            print("raised:", exc)
        """)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "raised: environment variable KMATRIX_NUM_THREADS" in out.stdout
    assert "'abc'" in out.stdout


def test_default_leaves_out_cores_busy_elsewhere(monkeypatch, no_env):
    monkeypatch.setattr(thr, "usable_cores", lambda: 4)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    for busy, expect in ((0, 4), (1, 3), (3, 1), (9, 1)):
        monkeypatch.setattr(thr, "_busy_elsewhere", lambda busy=busy: busy)
        assert thr.threads_for() == expect
        assert thr.threads_for(4) == 4  # an explicit count is used as given
        with km.set_workers(-1):
            assert thr.threads_for() == 4


def test_busy_count_needs_two_samples(monkeypatch):
    # (machine, ours): 3 busy threads elsewhere twice, then only our own
    samples = iter([(4, 1), (5, 2), (3, 3)])
    monkeypatch.setattr(thr, "_running_threads", lambda: next(samples))
    monkeypatch.setattr(thr, "_load", (float("-inf"), 0, 0))
    monkeypatch.setattr(thr, "_LOAD_TTL_S", 0.0)
    assert thr._busy_elsewhere() == 0  # one sample of 3 busy threads: not yet
    assert thr._busy_elsewhere() == 3  # two in a row
    assert thr._busy_elsewhere() == 0  # gone: our own threads are not a load


def test_running_threads_counts_this_process():
    machine, ours = thr._running_threads()
    assert machine >= ours >= 1  # at least the calling thread, and it is on the machine


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_concurrent_applies_with_different_workers(big, dtype):
    K0, X0, D0 = big
    K = K0.astype(dtype)
    X = X0.astype(dtype)
    ref = K.matmat(X, workers=1)
    errors = []
    results = {}

    def work(i, w):
        try:
            for _ in range(3):
                if i % 2:
                    with km.set_workers(w):
                        results[i] = K @ X
                else:
                    results[i] = K.matmat(X, workers=w)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    ts = [threading.Thread(target=work, args=(i, w))
          for i, w in enumerate([1, 2, -1, 3, 2, 8])]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errors and len(results) == len(ts)
    for r in results.values():
        np.testing.assert_array_equal(r, ref)


def test_oversubscribed_apply_finishes_promptly():
    # 8 threads forced onto this machine's cores (more than it has, in a child process)
    # and another process keeping a core busy: a spinning barrier took ~100x the
    # one-thread time here; units taken one at a time and yielding waits keep it close
    code = textwrap.dedent("""
        import time
        import numpy as np, kmatrix as km, kmatrix._threads as thr
        K = km.random(1024, width=1, rng=0)
        X = np.ones((1024, 256))
        def best(w, reps=5):
            out = []
            for _ in range(reps):
                t = time.perf_counter(); K.matmat(X, workers=w); out.append(time.perf_counter() - t)
            return min(out)
        K.matmat(X, workers=1)
        one = best(1)
        thr.usable_cores = lambda: 8  # let 8 threads run on the real cores
        K.matmat(X, workers=8)
        many = best(8)
        print(one, many)
        """)
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=300)
    finally:
        busy.kill()
        busy.wait()
    assert out.returncode == 0, out.stderr
    one, many = map(float, out.stdout.split())
    assert many < max(20 * one, 0.5), (one, many)

"""K-matrices on Dask arrays: results equal the NumPy ones, lazily, for every chunking."""

import os
import tempfile

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import kmatrix as km  # noqa: E402
from kmatrix.backends import fourstep  # noqa: E402
from dask_helpers import assert_close, data as _data, fail_scheduler as _fail_scheduler  # noqa: E402



def _lazy(fn, *args):
    """``fn(*args)`` with any computation during graph building made an error."""
    with dask.config.set(scheduler=_fail_scheduler):
        return fn(*args)


CHUNKINGS = [
    (256, 5),               # whole columns, column chunks
    (64, 7),                # regular row chunks
    ((50, 100, 106), (3, 9)),  # irregular row chunks
    (16, 12),               # chunks below sqrt(N): raised to sqrt(N)
]


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("width", [1, 2])
def test_matmat_matches_numpy(chunks, width):
    K = km.random(256, width=width, rng=width)
    X = _data((256, 12), np.float64)
    Xd = da.from_array(X, chunks=chunks)
    Y = _lazy(lambda: K @ Xd)
    assert isinstance(Y, da.Array) and Y.dtype == np.float64
    assert Y.chunks == Xd.chunks  # the result is chunked like the input
    assert_close(Y.compute(), K @ X)
    assert_close(_lazy(K.matmat, Xd).compute(), K.matmat(X))


@pytest.mark.parametrize("chunks", [(100, 4), (30, 4), ((7, 50, 43), (4,))])
@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_rectangular_complex_and_adjoint(chunks, dtype):
    K = km.random((100, 70), width=2, dtype=dtype, rng=3)
    X = _data((70, 4), dtype)
    ch = (min(70, chunks[0]) if isinstance(chunks[0], int) else (7, 50, 13), chunks[1])
    Y = _lazy(lambda: K @ da.from_array(X, chunks=ch))
    assert Y.shape == (100, 4) and Y.dtype == dtype
    assert_close(Y.compute(), K @ X)
    G = _data((100, 4), dtype, seed=1)
    Gd = da.from_array(G, chunks=chunks)
    for got, want in [(K.H @ Gd, K.H @ G), (_lazy(K.rmatmat, Gd), K.rmatmat(G))]:
        assert got.shape == (70, 4)
        assert_close(got.compute(), want)


@pytest.mark.parametrize("chunks", [64, (100, 60, 96), 256])
def test_vectors_real_operator_complex_input(chunks):
    K = km.random(256, width=1, rng=5)
    x = _data(256, np.complex64)
    y = _lazy(lambda: K @ da.from_array(x, chunks=chunks))
    assert y.shape == (256,) and y.dtype == np.complex128
    assert_close(y.compute(), K @ x)
    assert_close(_lazy(K.rmatvec, da.from_array(x, chunks=chunks)).compute(), K.rmatvec(x))
    # x @ K for a 2-D Dask x is (K.T @ x.T).T
    X = _data((3, 256), np.float64)
    assert_close((da.from_array(X, chunks=(3, 64)) @ K).compute(), X @ K)


@pytest.mark.parametrize("chunks", [(256, 3), (64, 5), ((50, 100, 106), (10,))])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_vjp_matches_numpy(chunks, dtype):
    K = km.random(256, width=2, dtype=dtype, rng=7)
    X, G = _data((256, 10), dtype), _data((256, 10), dtype, seed=2)
    dx, dt = km.vjp(K, X, G)
    dxd, dtd = _lazy(km.vjp, K, da.from_array(X, chunks=chunks), da.from_array(G, chunks=chunks))
    assert isinstance(dxd, da.Array) and isinstance(dtd, da.Array)
    assert dtd.shape == K.twiddle.shape and dtd.dtype == K.dtype
    got_dx, got_dt = dask.compute(dxd, dtd)
    assert_close(got_dx, dx)
    assert_close(got_dt, dt)


def test_vjp_rectangular_vector_mixed_inputs():
    K = km.random((40, 100), width=1, rng=8)
    x, g = _data(100, np.float64), _data(40, np.float64, seed=3)
    dx, dt = km.vjp(K, x, g)
    dxd, dtd = km.vjp(K, da.from_array(x, chunks=30), g)  # NumPy G is chunked like X
    assert dxd.shape == (100,)
    assert_close(dxd.compute(), dx)
    assert_close(dtd.compute(), dt)


def test_operator_enters_the_graph_once():
    K = km.random(64, width=1, rng=0)
    Y = K @ da.ones((64, 40), chunks=(64, 4))
    graph = dict(Y.__dask_graph__())
    held = [k for k, v in graph.items() if getattr(v, "value", v) is K]
    assert len(held) == 1 and len(graph) > 10


def test_row_chunks_never_hold_a_whole_column():
    from dask.callbacks import Callback

    n = 1 << 10
    K = km.random(n, width=2, rng=0)
    x = _data(n, np.float64)
    sizes = []

    class Record(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            # (the final concatenation into one NumPy array is what .compute() asks for)
            if isinstance(result, np.ndarray) and "finalize" not in str(key):
                sizes.append(result.size)

    with Record():
        y = (K @ da.from_array(x, chunks=128)).compute(scheduler="sync")
    assert_close(y, K @ x)
    # every array a task makes is at most C = 128 entries (P * L = 8 * 16 once transposed)
    assert len(sizes) > 8 and max(sizes) <= 128


@pytest.mark.parametrize("width", [1, 2, 3])
def test_exchanges_per_width(width):
    """A width-w operator costs 2w + 2 transposes: its runs alternate H, L, ..., L, H."""
    tw = km.random(1 << 8, width=width, rng=0).twiddle
    runs = fourstep.stages(tw, 16)
    assert [high for high, _ in runs] == [True, False] * width + [True]
    assert sum(len(f) for _, f in runs) == tw.shape[0] * tw.shape[1]
    # an identity first block leaves its high run out: one exchange less
    tw = tw.copy()
    tw[0, :4] = np.eye(2)
    assert fourstep.stages(tw, 16)[0][0] is False


def test_bad_input_gets_the_numpy_errors():
    K = km.random((16, 8), rng=0)
    for bad in [da.ones((9, 2)), da.ones((8, 2, 2)), da.ones(16)]:
        with pytest.raises(ValueError, match=r"expects an array of shape \(8,\) or \(8, k\)"):
            K @ bad
    with pytest.raises(ValueError, match=r"rmatmat expects an array of shape \(16,\)"):
        K.rmatmat(da.ones((8, 2)))
    x = da.ones(8, chunks=4)
    unknown = x[x > 0]
    with pytest.raises(ValueError, match="known chunk sizes"):
        K @ unknown
    with pytest.raises(TypeError, match="numeric"):
        K @ da.from_array(np.array(["a"] * 8))
    with pytest.raises(TypeError, match="not one of"):
        K @ da.ones(8, dtype=np.float16).astype(np.longdouble)
    with pytest.raises(ValueError, match="vjp expects G with the shape"):
        km.vjp(K, da.ones((8, 2)), da.ones((16, 3)))


def test_tasks_run_one_kernel_thread(monkeypatch):
    seen = []
    real_dot = km.KMatrix.dot

    def spy(self, x, workers=None):
        if isinstance(x, np.ndarray):  # a task's chunk, not the Dask array itself
            seen.append(workers)
        return real_dot(self, x, workers=workers)

    monkeypatch.setattr(km.KMatrix, "dot", spy)
    K = km.random(64, rng=0)
    x = da.ones((64, 8), chunks=(64, 4))
    y = (K @ x).compute(scheduler="sync")
    np.testing.assert_allclose(y, K.toarray() @ np.ones((64, 8)))
    assert seen == [1, 1]


def test_distributed_local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None,
        worker_dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        K = km.random((200, 256), width=1, dtype=np.complex128, rng=4)
        X = _data((256, 6), np.complex128)
        cols = da.from_array(X, chunks=(256, 2))
        rows = da.from_array(X, chunks=(64, 6))
        got = client.compute([K @ cols, K @ rows, km.vjp(K, rows, da.ones((200, 6)))[1]], sync=True)
        assert_close(got[0], K @ X)
        assert_close(got[1], K @ X)
        assert_close(got[2], km.vjp(K, X, np.ones((200, 6)))[1])
        # the exchanges through files: a directory every worker process sees
        with tempfile.TemporaryDirectory() as tmp, dask.config.set(
                {"kmatrix.exchange": "disk", "kmatrix.exchange-directory": tmp}):
            assert_close(client.compute(K @ rows, sync=True), K @ X)
            assert os.listdir(tmp) == []

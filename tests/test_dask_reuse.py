"""One KMatrix applied to many Dask arrays: its twiddles are sent to a cluster once."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

import kmatrix as km  # noqa: E402
from kmatrix.backends import dask_keys  # noqa: E402


def test_graph_key_of_the_operator_is_reused_without_a_cluster():
    K = km.random(64, rng=0)
    keys = [(K @ da.ones((64, 8), chunks=(64, 4))).__dask_graph__() for _ in range(2)]
    held = [[k for k, v in dict(g).items() if getattr(v, "value", v) is K] for g in keys]
    assert held[0] == held[1] and len(held[0]) == 1


def test_twiddles_are_serialized_once_per_cluster(monkeypatch):
    pickled = []
    reduce = km.KMatrix.__reduce__
    monkeypatch.setattr(km.KMatrix, "__reduce__", lambda self: pickled.append(1) or reduce(self))
    rng = np.random.default_rng(0)
    with distributed.LocalCluster(
        processes=True, n_workers=1, threads_per_worker=1, dashboard_address=None,
    ) as cluster, distributed.Client(cluster):
        K = km.random(64, width=2, rng=1)
        for _ in range(3):
            X = rng.standard_normal((64, 6))
            got = (K @ da.from_array(X, chunks=(64, 2))).compute()
            np.testing.assert_allclose(got, K @ X, rtol=1e-12, atol=1e-12)
        dx, dt = km.vjp(K, da.from_array(X, chunks=(64, 3)), da.ones((64, 6), chunks=(64, 3)))
        np.testing.assert_allclose(dt.compute(), km.vjp(K, X, np.ones((64, 6)))[1], atol=1e-12)
        assert len(pickled) == 1  # scattered once, then referred to by key
        # without the cache every graph carries (and serializes) the operator again
        monkeypatch.setattr(dask_keys, "current_client", lambda: None)
        K2 = km.random(64, width=2, rng=1)
        for _ in range(2):
            (K2 @ da.from_array(X, chunks=(64, 2))).compute()
        assert len(pickled) >= 1 + 2  # at least once per graph

        # split columns: each chunk's share of the twiddle is scattered once too
        monkeypatch.undo()
        K3 = km.random(256, width=1, rng=2)
        x = rng.standard_normal(256)
        kept = None
        for _ in range(3):
            np.testing.assert_allclose((K3 @ da.from_array(x, chunks=32)).compute(), K3 @ x,
                                       rtol=1e-12, atol=1e-12)
            now = {k: [f.key for f in v] for k, v in K3._cache["kmatrix-local-scattered"].items()}
            assert kept is None or now == kept
            kept = now
        assert len(kept) == len(km.backends.fourstep.stages(K3.twiddle, 32))

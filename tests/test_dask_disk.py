"""The split-column schedule with its exchanges through files: the same results as
NumPy, no chunk held by Dask between runs, every file removed, clear errors."""

import os

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
from dask.callbacks import Callback  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

import kmatrix as km  # noqa: E402
from dask_helpers import assert_close, data as _data, fail_scheduler as _fail_scheduler  # noqa: E402


@pytest.fixture
def files(tmp_path):
    """The disk exchange into a fresh directory (checked empty afterwards)."""
    with dask.config.set({"kmatrix.exchange": "disk", "kmatrix.exchange-directory": str(tmp_path)}):
        yield tmp_path
    assert os.listdir(tmp_path) == []


OPERATORS = {
    "width 1": lambda: km.random(256, width=1, rng=1),
    "width 2 complex": lambda: km.random(256, width=2, dtype=np.complex128, rng=2),
    "rectangular": lambda: km.random((200, 256), width=1, rng=3),
    "generated dft": lambda: km.dft(256, lazy=True),
    "stored dft": lambda: km.dft(256),
}


@pytest.mark.parametrize("make", OPERATORS.values(), ids=OPERATORS.keys())
@pytest.mark.parametrize("chunks", [(64, 7), ((50, 100, 106), (3, 9)), (16, 12)])
def test_equals_numpy(files, make, chunks):
    K = make()
    X = _data((K.shape[1], 12), np.float64)
    with dask.config.set(scheduler=_fail_scheduler):
        Y = K @ da.from_array(X, chunks=chunks)
        YH = K.H @ da.from_array(_data((K.shape[0], 12), np.complex128), chunks=(48, 5))
    assert os.listdir(files) == []  # nothing is written before .compute()
    assert_close(Y.compute(), K @ X)
    assert_close(YH.compute(), K.H @ _data((K.shape[0], 12), np.complex128))
    if Y.shape[0] == X.shape[0]:
        assert Y.chunks == da.from_array(X, chunks=chunks).chunks


@settings(max_examples=25, deadline=None)
@given(log_n=st.integers(2, 9), cut=st.integers(0, 4), k=st.integers(1, 3),
       width=st.integers(1, 2), seed=st.integers(0, 2**16))
def test_any_size_and_chunking(tmp_path_factory, log_n, cut, k, width, seed):
    n = 1 << log_n
    chunk = max(1, n >> cut)
    K = km.random(n, width=width, rng=seed)
    x = _data((n, k), np.float64, seed)
    where = tmp_path_factory.mktemp("exchange")
    with dask.config.set({"kmatrix.exchange": "disk", "kmatrix.exchange-directory": str(where)}):
        y = (K @ da.from_array(x, chunks=(chunk, 1))).compute(scheduler="sync")
    assert_close(y, K @ x)
    assert os.listdir(where) == []


def test_no_chunk_is_held_between_runs(files):
    n, c = 1 << 10, 128
    K = km.random(n, width=2, rng=0)
    x = _data(n, np.complex128)
    made = {}

    class Record(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if isinstance(key, tuple) and str(key[0]).startswith("kmatrix-files"):
                made[key] = result

    with Record():
        y = (K @ da.from_array(x, chunks=c)).compute(scheduler="sync")
    assert_close(y, K @ x)
    returned = [v for v in made.values() if v is not None]
    # only the last run returns chunks (of C rows); every other task wrote its result
    assert len(made) > 5 * len(returned) and len(returned) == n // c
    assert all(v.size == c for v in returned)


def test_a_missing_file_is_named(files):
    K = km.random(256, width=1, rng=0)
    y = K @ da.from_array(_data(256, np.float64), chunks=32)

    class Lose(Callback):
        def _pretask(self, key, dsk, state):
            if "-written-" in str(key):
                for f in os.listdir(files):
                    os.remove(files / f)

    with Lose(), pytest.raises(FileNotFoundError, match="exchange file missing"):
        y.compute(scheduler="sync")


def test_bad_configuration_and_no_room(tmp_path, monkeypatch):
    K = km.random(256, rng=0)
    x = da.ones(256, chunks=32)
    with dask.config.set({"kmatrix.exchange": "disc"}):
        with pytest.raises(ValueError, match="'kmatrix.exchange' must be one of"):
            K @ x
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10, 10, 100))
    with dask.config.set({"kmatrix.exchange": "disk", "kmatrix.exchange-directory": str(tmp_path)}):
        with pytest.raises(OSError, match="writes 2048 bytes .* which has 100 free"):
            K @ x
        K @ da.ones(256, chunks=256)  # whole columns need no exchange


def test_generated_factors_run_in_place_on_the_chunks_they_read(files, monkeypatch):
    """A chunk read from a file is overwritten by its factors; the input's own chunks
    are never written to."""
    from kmatrix.backends import fourstep

    calls = []
    real = fourstep.apply_generated

    def spy(formula, factors, high, split, i, block, overwrite_x=False):
        out = real(formula, factors, high, split, i, block, overwrite_x)
        calls.append((overwrite_x, np.shares_memory(out, block)))
        return out

    monkeypatch.setattr(fourstep, "apply_generated", spy)
    n = 1 << 10
    x = _data(n, np.complex128)
    kept = x.copy()
    y = (km.dft(n, lazy=True) @ da.from_array(x, chunks=128)).compute(scheduler="sync")
    assert_close(y, np.fft.fft(kept))
    assert np.array_equal(x, kept)
    assert calls and all(owned == shared for owned, shared in calls)
    assert any(owned for owned, _ in calls)

"""save/load and pickle round trips; corrupt files are rejected with ValueError."""

import io
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kmatrix as km
from oracle import DTYPES


@given(
    st.tuples(st.integers(1, 33), st.integers(1, 33)),
    st.integers(1, 3),
    st.sampled_from(DTYPES),
    st.integers(0, 1000),
)
def test_round_trips(shape, width, dtype, seed):
    K = km.random(shape, width=width, dtype=dtype, rng=seed, init="randn")
    buf = io.BytesIO()
    km.save(buf, K)
    buf.seek(0)
    for K2 in (km.load(buf), pickle.loads(pickle.dumps(K))):
        assert K2.shape == K.shape and K2.dtype == K.dtype
        np.testing.assert_array_equal(K2.twiddle, K.twiddle)


def test_path_round_trip(tmp_path):
    K = km.random((5, 9), width=2, rng=0, init="randn")
    km.save(tmp_path / "k.npz", K)
    K2 = km.load(tmp_path / "k.npz")
    np.testing.assert_array_equal(K2.toarray(), K.toarray())


def _archive(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    return buf


def _valid_arrays():
    K = km.random(8, rng=0, init="randn")
    return dict(format=np.array("kmatrix"), version=np.array(1), twiddle=K.twiddle, shape=np.array([8, 8]))


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(format=np.array("other")), "format"),
        (dict(version=np.array(99)), "version 99"),
        (dict(version=np.array("1")), "version"),
        (dict(shape=np.array([9, 8])), "inconsistent"),
        (dict(shape=np.array([8.0, 8.0])), "shape"),
        (dict(twiddle=np.zeros((2, 3, 3, 2, 2))), "inconsistent"),
        (dict(twiddle=np.zeros((2, 3, 4, 2, 2), dtype=np.int32)), "inconsistent"),
        (dict(extra=np.zeros(1)), "expected arrays"),
    ],
)
def test_inconsistent_files_rejected(change, match):
    arrays = _valid_arrays()
    arrays.update(change)
    with pytest.raises(ValueError, match=match):
        km.load(_archive(**arrays))


def test_not_ours_and_truncated(tmp_path):
    with pytest.raises(ValueError):
        km.load(io.BytesIO(b"this is not an archive"))
    p = tmp_path / "plain.npy"
    np.save(p, np.zeros(3))
    with pytest.raises(ValueError, match="npz"):
        km.load(p)
    buf = io.BytesIO()
    km.save(buf, km.random(64, rng=0, init="randn"))
    data = buf.getvalue()
    with pytest.raises(ValueError):
        km.load(io.BytesIO(data[: len(data) // 2]))
    # a pickled object array inside must not be unpickled
    obj = _valid_arrays()
    obj["twiddle"] = np.array([object()], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **obj)
    buf.seek(0)
    with pytest.raises(ValueError):
        km.load(buf)


def test_save_rejects_non_kmatrix():
    with pytest.raises(TypeError, match="KMatrix"):
        km.save(io.BytesIO(), np.eye(2))


def test_zip_is_plain_npz():
    buf = io.BytesIO()
    km.save(buf, km.identity(4))
    assert set(zipfile.ZipFile(io.BytesIO(buf.getvalue())).namelist()) == {
        "format.npy", "version.npy", "twiddle.npy", "shape.npy"}

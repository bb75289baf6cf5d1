"""save/load and pickle round trips; corrupt files are rejected with ValueError."""

import io
import pickle
import struct
import tracemalloc
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


# --------------------------------------------------------------------------- paths
def test_save_appends_npz_like_numpy_and_load_finds_it(tmp_path, monkeypatch):
    K = km.random((6, 9), width=2, rng=1)
    monkeypatch.chdir(tmp_path)
    km.save("model", K)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    for name in ("model", "model.npz", tmp_path / "model", str(tmp_path / "model").encode()):
        np.testing.assert_array_equal(km.load(name).toarray(), K.toarray())
    km.save(tmp_path / "other.npz", K)  # no second suffix
    km.save(tmp_path / "model.v1", K)  # np.savez appends .npz to any other suffix
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "model.v1.npz", "other.npz"]
    assert km.load(tmp_path / "model.v1").shape == K.shape
    # An existing file under the exact name wins over the name with .npz appended.
    (tmp_path / "model").write_bytes(b"not a kmatrix file")
    with pytest.raises(ValueError, match="not a kmatrix file"):
        km.load("model")


def test_open_binary_file_objects(tmp_path):
    K = km.random(12, width=1, dtype=np.complex64, rng=2)
    p = tmp_path / "k"
    with open(p, "wb") as f:  # a file object keeps its name: no suffix appended
        km.save(f, K)
    with open(p, "rb") as f:
        K2 = km.load(f)
    np.testing.assert_array_equal(K2.twiddle, K.twiddle)
    with open(p, "r", encoding="latin-1") as f, pytest.raises(TypeError, match="binary"):
        km.load(f)
    with pytest.raises(TypeError, match="path or a seekable binary file"):
        km.load(12)


def test_missing_file_raises_file_not_found(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere") as info:
        km.load(missing)
    assert info.value.filename == str(missing)
    assert "nowhere.npz" in str(info.value)
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        km.load(str(missing) + ".npz")


def test_text_file_is_not_a_kmatrix_file(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("rows, cols\n8, 8\n" * 20)
    with pytest.raises(ValueError, match="not a kmatrix file") as info:
        km.load(p)
    assert "pickle" not in str(info.value) and "notes.txt" in str(info.value)


# --------------------------------------------------------------------------- headers
def _npz_bytes(K=None):
    buf = io.BytesIO()
    km.save(buf, K if K is not None else km.random(8, width=1, rng=0))
    return buf.getvalue()


def _rewrite(data, member, edit, compression=zipfile.ZIP_STORED):
    """Archive ``data`` with ``member``'s bytes replaced by ``edit(bytes)``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as dst:
        for name in src.namelist():
            raw = src.read(name)
            dst.writestr(name, edit(raw) if name == member else raw)
    out.seek(0)
    return out


def _replace_header(text):
    def edit(raw):
        start, end = raw.index(b"{"), raw.index(b"\n")
        new = text.encode("latin-1")
        assert len(new) <= end - start
        return raw[:start] + new.ljust(end - start) + raw[end:]
    return edit


@pytest.mark.parametrize(
    "edit, what",
    [
        (_replace_header("{'descr': '<f8', 'fortran_order': False, 'shape': ((((("), "header"),
        (_replace_header("{'descr': '<q9', 'fortran_order': False, 'shape': (2, 3, 4, 2, 2), }"),
         "descr"),
        (_replace_header("[1, 2, 3]"), "dictionary"),
        (_replace_header("{'descr': '<f8', 'fortran_order': 'no', 'shape': (2, 3, 4, 2, 2), }"),
         "fortran_order"),
        (lambda raw: b"\x93NUMPX" + raw[6:], "magic"),
        (lambda raw: raw[:12], "header"),
        (lambda raw: raw[:6] + b"\x09\x00" + raw[8:], "version"),
    ],
)
def test_corrupt_npy_header_is_a_value_error(edit, what):
    with pytest.raises(ValueError, match="twiddle.npy") as info:
        km.load(_rewrite(_npz_bytes(), "twiddle.npy", edit))
    assert what in str(info.value)


def test_object_member_is_refused_without_unpickling():
    arrays = _valid_arrays()
    arrays["shape"] = np.array([8, 8], dtype=object)
    with pytest.raises(ValueError, match="shape.npy.*pickled"):
        km.load(_archive(**arrays))


@pytest.mark.parametrize(
    "declared, match",
    [
        ("(2, 22, 2097152, 2, 2)", "declares shape"),  # 1.5 GB declared, a few bytes held
        ("(2, 3, 4, 2, 2)", "declares shape"),  # 1536 bytes declared, 256 held
        ("(32,)", "5 axes"),  # right size, wrong layout
        ("(4, 2, 1, 2, 2)", "axis 2"),  # right size, N//2 inconsistent with m
        ("(2, 2, -2, -2, 2)", "negative"),
    ],
)
def test_forged_twiddle_headers_rejected_before_reading(declared, match):
    def edit(raw):
        return _replace_header(
            f"{{'descr': '<f8', 'fortran_order': False, 'shape': {declared}, }}")(raw)
    # a (2, 2, 2, 2, 2) float64 twiddle holds 256 bytes of data
    data = _npz_bytes(km.random(4, width=1, rng=0))
    with pytest.raises(ValueError, match=match):
        km.load(_rewrite(data, "twiddle.npy", edit))


def _forged_archive(twiddle_header, data_bytes=4096):
    """A deflated kmatrix archive whose twiddle member holds ``twiddle_header`` and
    ``data_bytes`` zero bytes, while the zip directory records exactly the size that
    the header declares (so the two agree and only the data can tell)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, twiddle_header)
    head = header.getvalue()
    dtype = np.lib.format.descr_to_dtype(twiddle_header["descr"])
    declared = len(head) + int(np.prod(twiddle_header["shape"])) * dtype.itemsize
    src = zipfile.ZipFile(io.BytesIO(_npz_bytes(km.random(4, width=1, rng=0))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, head + bytes(data_bytes) if name == "twiddle.npy" else src.read(name))
    data = bytearray(out.getvalue())
    # central directory entries: signature, ..., uncompressed size at +24, name at +46
    entry, patched = data.index(b"PK\x01\x02"), 0
    while entry >= 0:
        name_len = struct.unpack_from("<H", data, entry + 28)[0]
        if data[entry + 46: entry + 46 + name_len] == b"twiddle.npy":
            struct.pack_into("<I", data, entry + 24, declared)
            patched += 1
        entry = data.find(b"PK\x01\x02", entry + 4)
    assert patched == 1 and len(data) < 20000
    return io.BytesIO(bytes(data))


def _peak_memory_of_failed_load(file, match):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            km.load(file)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_forged_sizes_do_not_allocate_the_declared_size():
    # A 1.5 GB twiddle declared by both the .npy header and the zip directory, in a
    # file of a few kilobytes: only inflating can find out, and memory follows the data.
    forged = _forged_archive(
        {"descr": "<f4", "fortran_order": False, "shape": (2, 22, 2097152, 2, 2)})
    assert _peak_memory_of_failed_load(forged, "twiddle.npy.*truncated") < 50 * 2**20


def test_huge_item_dtype_is_refused_before_anything_is_allocated():
    # One 1 GB item (a subarray dtype), declared by header and directory alike.
    forged = _forged_archive(
        {"descr": [("a", "<f8", (2**27,))], "fortran_order": False, "shape": ()})
    assert _peak_memory_of_failed_load(forged, "twiddle dtype") < 50 * 2**20


# --------------------------------------------------------------------------- byte order
@pytest.mark.parametrize("dtype", DTYPES)
def test_big_endian_twiddles_and_files(dtype):
    K = km.random((7, 5), width=2, dtype=dtype, rng=3)
    big = K.twiddle.astype(np.dtype(dtype).newbyteorder(">"))
    Kb = km.KMatrix(big, K.shape)
    assert Kb.dtype == K.dtype and Kb.twiddle.dtype.isnative
    x = np.arange(5.0)
    np.testing.assert_array_equal(Kb @ x, K @ x)
    buf = io.BytesIO()
    km.save(buf, Kb)
    buf.seek(0)
    np.testing.assert_array_equal(km.load(buf).toarray(), K.toarray())
    # every member of the file big-endian
    arrays = dict(format=np.array("kmatrix", dtype=">U7"), version=np.array(1, dtype=">i8"),
                  twiddle=big, shape=np.array(K.shape, dtype=">i8"))
    K2 = km.load(_archive(**arrays))
    assert K2.shape == K.shape and K2.dtype == K.dtype and K2.twiddle.dtype.isnative
    np.testing.assert_array_equal(K2.toarray(), K.toarray())


def test_fortran_ordered_and_compressed_members_load():
    K = km.random(16, width=2, dtype=np.complex128, rng=4)
    arrays = _valid_arrays()
    arrays["twiddle"] = np.asfortranarray(K.twiddle)
    arrays["shape"] = np.array([16, 16])
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    buf.seek(0)
    np.testing.assert_array_equal(km.load(buf).twiddle, K.twiddle)


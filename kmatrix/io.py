"""Persistence: ``save`` and ``load`` K-matrices as versioned ``.npz`` files (no pickle).

A kmatrix file is a plain NumPy ``.npz`` archive with four members: ``format``
(the string ``"kmatrix"``), ``version`` (an integer), ``twiddle`` (the factors in the
canonical layout) and ``shape`` (``rows, cols``).  :func:`load` reads the archive with
:mod:`zipfile` and :mod:`numpy.lib.format` rather than :func:`numpy.load`, so that
every ``.npy`` header is checked against the layout and against the size of its
member *before* any array data is read: a small or forged file cannot make it
allocate more memory than its data actually holds.
"""

from __future__ import annotations

__all__ = ["save", "load", "FORMAT_NAME", "FORMAT_VERSION"]

import errno
import math
import os
import tokenize
from typing import BinaryIO
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

from ._layout import SUPPORTED_DTYPES, validate_shape, validate_twiddle
from ._operator import KMatrix

FORMAT_NAME = "kmatrix"
FORMAT_VERSION = 1
_KEYS = ("format", "version", "shape", "twiddle")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_CHUNK = 1 << 24
# Everything a malformed .npy header or zip member can raise while being parsed or
# inflated; each is reported as a ValueError naming the file and the member.
_READ_ERRORS = (
    ValueError, SyntaxError, TypeError, KeyError, OverflowError, RecursionError,
    tokenize.TokenError, EOFError, OSError, zlib.error, zipfile.BadZipFile,
    NotImplementedError, RuntimeError,
)
# present only for operators whose complex factors multiply to a real matrix
_REAL_KEY = "real_matrix"


def save(file: str | os.PathLike[str] | BinaryIO, K: KMatrix) -> None:
    """Save ``K`` to ``file`` (a path or a binary file object) as ``.npz``.

    The archive holds ``format`` ("kmatrix"), ``version``, ``twiddle`` and ``shape``,
    and ``real_matrix`` (True) for a :attr:`~kmatrix.KMatrix.real_matrix` operator.
    As with :func:`numpy.savez`, ``.npz`` is appended to a path that does not already
    end with it; :func:`load` finds the file under the same name.

    Parameters
    ----------
    file : str, path-like or binary file object
    K : KMatrix

    Examples
    --------
    >>> import io, numpy as np, kmatrix as km
    >>> buf = io.BytesIO()
    >>> K = km.random(10, rng=0)
    >>> km.save(buf, K); _ = buf.seek(0)
    >>> K2 = km.load(buf)
    >>> np.array_equal(K2.twiddle, K.twiddle) and K2.shape == K.shape
    True
    """
    if not isinstance(K, KMatrix):
        raise TypeError(f"save expects a KMatrix; got {type(K).__name__}")
    extra = {_REAL_KEY: np.array(True)} if K.real_matrix else {}
    np.savez(
        file,
        format=np.array(FORMAT_NAME),
        version=np.array(FORMAT_VERSION, dtype=np.int64),
        twiddle=np.asarray(K.twiddle),
        shape=np.array(K.shape, dtype=np.int64),
        **extra,
    )


def load(file: str | os.PathLike[str] | BinaryIO) -> KMatrix:
    """Load a K-matrix saved by :func:`save`; the file is validated, never unpickled.

    Parameters
    ----------
    file : str, path-like or binary file object
        A path that does not exist and does not end with ``.npz`` is looked up with
        ``.npz`` appended, the name :func:`save` (like :func:`numpy.savez`) gives it.

    Returns
    -------
    KMatrix

    Raises
    ------
    FileNotFoundError
        If no file exists under the path (or under the path with ``.npz`` appended).
    ValueError
        If the file is not a kmatrix archive, is truncated or corrupt, has an
        unsupported version, or holds arrays whose headers, sizes or layout are
        inconsistent.  Array headers are checked before any array data is read.

    Examples
    --------
    >>> import io, kmatrix as km
    >>> buf = io.BytesIO(); km.save(buf, km.identity(4)); _ = buf.seek(0)
    >>> km.load(buf).shape
    (4, 4)
    """
    if isinstance(file, (str, bytes, os.PathLike)):
        path = _resolve_path(os.fsdecode(file))
        with open(path, "rb") as fobj:
            return _load_archive(fobj, repr(path))
    if not hasattr(file, "read") or not hasattr(file, "seek"):
        raise TypeError(
            f"load expects a path or a seekable binary file object; got {type(file).__name__}"
        )
    name = getattr(file, "name", None)
    return _load_archive(file, repr(name) if isinstance(name, str) else "the file object")


def _resolve_path(path):
    if os.path.exists(path):
        return path
    if not path.endswith(".npz") and os.path.exists(path + ".npz"):
        return path + ".npz"
    tried = "" if path.endswith(".npz") else f" (nor {path + '.npz'!r})"
    raise FileNotFoundError(errno.ENOENT, f"No such kmatrix file{tried}", path)


def _load_archive(fobj, label):
    start = fobj.tell()
    magic = fobj.read(4)
    if isinstance(magic, str):
        raise TypeError(f"load needs a file opened in binary mode ('rb'); {label} is text")
    fobj.seek(start)
    if magic[:4] not in _ZIP_MAGIC:
        what = "a single .npy array" if magic.startswith(b"\x93NUM") else "not a zip archive"
        raise ValueError(
            f"{label} is not a kmatrix file: it is {what}, expected an .npz archive "
            "written by kmatrix.save"
        )
    try:
        archive = zipfile.ZipFile(fobj)
    except _READ_ERRORS as exc:
        raise ValueError(f"{label} is not a readable kmatrix file (corrupt or truncated .npz "
                         f"archive: {exc})") from exc
    with archive:
        members = _members(archive, label)
        # Every header is checked before the data it describes is read.
        headers = {key: _header(archive, info, label) for key, info in members.items()}
        fmt_shape, _, fmt_dtype, _, _ = headers["format"]
        if fmt_dtype.kind != "U" or fmt_shape != () or fmt_dtype.itemsize > 4 * 64:
            raise ValueError(f"{label} is not a kmatrix file: its format field is an array "
                             f"of shape {fmt_shape} and dtype {fmt_dtype}, not a string")
        fmt = str(_read_member(archive, members["format"], headers["format"], label))
        if fmt != FORMAT_NAME:
            raise ValueError(
                f"{label} is not a kmatrix file: format is {fmt!r}, expected {FORMAT_NAME!r}"
            )
        _check_int_header(headers["version"], (), "version", label)
        version = int(_read_member(archive, members["version"], headers["version"], label))
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{label} has unsupported kmatrix file version {version}; this "
                f"library reads version {FORMAT_VERSION}"
            )
        _check_int_header(headers["shape"], (2,), "shape", label)
        _check_twiddle_header(headers["twiddle"], label)
        shape = _read_member(archive, members["shape"], headers["shape"], label)
        twiddle = _read_member(archive, members["twiddle"], headers["twiddle"], label)
        real = False
        if _REAL_KEY in members:
            real_shape, _, real_dtype, _, _ = headers[_REAL_KEY]
            if real_shape != () or real_dtype != np.bool_:
                raise ValueError(f"{label} has a malformed {_REAL_KEY} field: expected a "
                                 f"boolean, got shape {real_shape} and dtype {real_dtype}")
            real = bool(_read_member(archive, members[_REAL_KEY], headers[_REAL_KEY], label))
    try:
        twiddle = validate_twiddle(twiddle)
        shape = validate_shape(tuple(int(s) for s in shape), 2 * twiddle.shape[2])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{label} holds inconsistent arrays: {exc}") from exc
    return KMatrix(twiddle, shape, real_matrix=real)


def _members(archive, label):
    infos = archive.infolist()
    names = sorted(info.filename for info in infos)
    required = sorted(key + ".npy" for key in _KEYS)
    if names != required and names != sorted(required + [_REAL_KEY + ".npy"]):
        found = [n[:-4] if n.endswith(".npy") else n for n in names]
        raise ValueError(
            f"{label} is not a kmatrix file: expected arrays {sorted(_KEYS)} (and optionally "
            f"{_REAL_KEY!r}), found {found}"
        )
    return {info.filename[:-4]: info for info in infos}


def _header(archive, info, label):
    """Return ``(shape, fortran_order, dtype, offset, nbytes)`` of a member's array.

    Only the header is read; the declared shape and dtype must account for exactly the
    member's uncompressed size after the header.
    """
    try:
        with archive.open(info) as fp:
            version = npy_format.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, fortran, dtype = npy_format.read_array_header_2_0(fp)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
            offset = fp.tell()
    except _READ_ERRORS as exc:
        raise ValueError(f"{label}: member {info.filename!r} has a corrupt .npy header "
                         f"({type(exc).__name__}: {exc})") from exc
    if dtype.hasobject:
        raise ValueError(f"{label}: member {info.filename!r} holds Python objects (pickled "
                         "data), which a kmatrix file never contains; refusing to load it")
    if any(s < 0 for s in shape):
        raise ValueError(f"{label}: member {info.filename!r} declares a negative shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if offset + nbytes != info.file_size:
        raise ValueError(
            f"{label}: member {info.filename!r} declares shape {shape} of {dtype} "
            f"({nbytes} bytes of data) but holds {info.file_size - offset} bytes of data"
        )
    return shape, fortran, dtype, offset, nbytes


def _check_int_header(header, expected_shape, field, label):
    shape, _, dtype, _, _ = header
    if shape != expected_shape or dtype.kind not in "iu":
        what = "an integer" if expected_shape == () else f"{expected_shape[0]} integers"
        raise ValueError(f"{label} has a malformed {field} field: expected {what}, "
                         f"got an array of shape {shape} and dtype {dtype}")


def _check_twiddle_header(header, label):
    # The layout rules are validate_twiddle's, applied to a zero-strided view of the
    # declared shape: nothing of the declared size is allocated.
    shape, _, dtype, _, _ = header
    native = dtype.newbyteorder("=")
    try:
        if native not in SUPPORTED_DTYPES:
            raise TypeError("twiddle dtype must be one of float32, float64, complex64, "
                            f"complex128; got {dtype}")
        # The size check bounded the element count by the member's size.
        probe = np.lib.stride_tricks.as_strided(np.zeros(1, native), shape, (0,) * len(shape))
        validate_twiddle(probe, check_finite=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{label} holds inconsistent arrays: twiddle declared with shape "
                         f"{shape} and dtype {dtype}: {exc}") from exc


def _read_member(archive, info, header, label):
    """Read one member's array after its header was checked.

    Memory grows with the data actually inflated and never beyond the size the header
    declares, however large the zip directory says the member is.
    """
    shape, fortran, dtype, offset, nbytes = header
    buf = bytearray()
    try:
        with archive.open(info) as fp:
            fp.seek(offset)
            while len(buf) < nbytes:
                chunk = fp.read(min(_CHUNK, nbytes - len(buf)))
                if not chunk:
                    break
                buf += chunk
    except _READ_ERRORS as exc:
        raise ValueError(f"{label}: member {info.filename!r} is corrupt or truncated "
                         f"({type(exc).__name__}: {exc})") from exc
    if len(buf) != nbytes:
        raise ValueError(f"{label}: member {info.filename!r} is truncated: "
                         f"{len(buf)} of {nbytes} bytes of data")
    array = np.frombuffer(buf, dtype=dtype)
    if fortran:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)

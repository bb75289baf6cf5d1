"""Persistence: ``save`` and ``load`` K-matrices as versioned ``.npz`` files (no pickle)."""

__all__ = ["save", "load", "FORMAT_NAME", "FORMAT_VERSION"]

import zipfile

import numpy as np

from ._layout import validate_shape, validate_twiddle
from ._operator import KMatrix

FORMAT_NAME = "kmatrix"
FORMAT_VERSION = 1
_KEYS = {"format", "version", "twiddle", "shape"}
# present only for operators whose complex factors multiply to a real matrix
_REAL_KEY = "real_matrix"


def save(file, K):
    """Save ``K`` to ``file`` (a path or a binary file object) as ``.npz``.

    The archive holds ``format`` ("kmatrix"), ``version``, ``twiddle`` and ``shape``,
    and ``real_matrix`` (True) for a :attr:`~kmatrix.KMatrix.real_matrix` operator.

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


def load(file):
    """Load a K-matrix saved by :func:`save`; the file is validated, never unpickled.

    Raises
    ------
    ValueError
        If the file is not a kmatrix archive, is truncated or corrupt, has an
        unsupported version, or holds inconsistent arrays.

    Examples
    --------
    >>> import io, kmatrix as km
    >>> buf = io.BytesIO(); km.save(buf, km.identity(4)); _ = buf.seek(0)
    >>> km.load(buf).shape
    (4, 4)
    """
    try:
        z = np.load(file, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError(f"not a kmatrix file: expected an .npz archive, got {type(z).__name__}")
        with z:
            keys = set(z.files)
            if keys != _KEYS and keys != _KEYS | {_REAL_KEY}:
                raise ValueError(
                    f"not a kmatrix file: expected arrays {sorted(_KEYS)} (and optionally "
                    f"{_REAL_KEY!r}), found {sorted(keys)}"
                )
            real = z[_REAL_KEY] if _REAL_KEY in keys else np.array(False)
            if real.shape != () or real.dtype != np.bool_:
                raise ValueError(f"kmatrix file has a malformed real_matrix field: {real!r}")
            fmt = z["format"]
            if fmt.shape != () or str(fmt) != FORMAT_NAME:
                raise ValueError(f"not a kmatrix file: format is {fmt!r}, expected {FORMAT_NAME!r}")
            version = z["version"]
            if version.shape != () or version.dtype.kind not in "iu":
                raise ValueError(f"kmatrix file has a malformed version field: {version!r}")
            if int(version) != FORMAT_VERSION:
                raise ValueError(
                    f"unsupported kmatrix file version {int(version)}; this library reads "
                    f"version {FORMAT_VERSION}"
                )
            twiddle = z["twiddle"]
            shape = z["shape"]
    except ValueError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"not a readable kmatrix file: {exc}") from exc
    if shape.shape != (2,) or shape.dtype.kind not in "iu":
        raise ValueError(f"kmatrix file has a malformed shape field: {shape!r}")
    try:
        twiddle = validate_twiddle(twiddle)
        shape = validate_shape(tuple(int(s) for s in shape), 2 * twiddle.shape[2])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"kmatrix file holds inconsistent arrays: {exc}") from exc
    return KMatrix(twiddle, shape, real_matrix=bool(real))

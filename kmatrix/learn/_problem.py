"""Input handling for :func:`~kmatrix.learn.fit`: argument checks, the fitting data
``(X, Y)`` for a target or for data pairs, and the live progress line."""

from __future__ import annotations

__all__ = [
    "Progress",
    "numeric",
    "target_data",
    "pair_data",
    "fit_geometry",
    "determinant_sign",
    "orthogonal_scale",
]

import operator
import sys
import time

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import issparse
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from .._operator import KMatrix
from .._checks import check_memory, twiddle_nbytes, value_dtype
from .._layout import internal_size_for, log2_exact
from .checks import pair_shapes
from .parametrizations import make_parametrization

# Targets with at most this many columns are compared on the identity (exactly);
# wider ones on random Gaussian probe vectors.
IDENTITY_MAX_COLS = 1024
DEFAULT_PROBES = 256


class Progress:
    """A live line on stderr: tqdm when installed, else a carriage-return line."""

    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self.bar = None
        self.enabled = enabled
        self.total = total
        self.label = label
        self.last = 0.0
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=label, file=sys.stderr, leave=True)

    def update(self, it: int, rel: float) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.n = it
            self.bar.set_postfix_str(f"rel_error={rel:.3e}", refresh=True)
            return
        now = time.perf_counter()
        if now - self.last >= 0.1 or it >= self.total:
            self.last = now
            sys.stderr.write(f"\r{self.label}: iter {it}/{self.total}  rel_error {rel:.3e}   ")
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def numeric(a: Any, name: str) -> npt.NDArray:
    if isinstance(a, (KMatrix, LinearOperator)) or issparse(a):
        raise TypeError(f"{name} must be a dense array; got {type(a).__name__}")
    a = np.asarray(a)
    if a.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be numeric; got dtype {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return a


def target_data(
    target: Any, probes: str | int | None, rng: np.random.Generator
) -> tuple[npt.NDArray, npt.NDArray, np.dtype]:
    """``(X, Y, dtype)`` for a target: the identity or Gaussian probes as ``X``, and the
    operator dtype of the target's values (the one dtype rule)."""
    if isinstance(target, LinearOperator) or issparse(target):
        op = aslinearoperator(target)
        dense = None
    else:
        dense = numeric(target, "target")
        if dense.ndim != 2:
            raise ValueError(f"target must be 2-D (rows, cols); got shape {dense.shape}")
        op = None
    rows, cols = (dense if dense is not None else op).shape
    if probes is None:
        probes = "identity" if cols <= IDENTITY_MAX_COLS else DEFAULT_PROBES
    if isinstance(probes, str):
        if probes != "identity":
            raise ValueError(f"probes must be 'identity', a positive int or None; got {probes!r}")
        X = np.eye(cols)
        Y = dense if dense is not None else op.matmat(X)
    else:
        try:
            k = operator.index(probes)
        except TypeError:
            raise TypeError(f"probes must be 'identity', an int or None; got {probes!r}") from None
        if k < 1:
            raise ValueError(f"probes must be >= 1; got {k}")
        X = rng.standard_normal((cols, k))
        Y = dense @ X if dense is not None else op.matmat(X)
    Y = numeric(Y, "target @ probes")
    dtype = dense.dtype if dense is not None else np.dtype(op.dtype)
    return X, Y, value_dtype(dtype, name="target")


def pair_data(X: Any, Y: Any) -> tuple[npt.NDArray, npt.NDArray, np.dtype]:
    X = numeric(X, "X")
    Y = numeric(Y, "Y")
    X, Y = pair_shapes(X, Y)
    return X, Y, value_dtype(X.dtype, Y.dtype, name="X and Y")


def determinant_sign(X: npt.NDArray, Y: npt.NDArray, n: int) -> int:
    """Sign of ``det M`` for the least-squares map ``M X ~ Y`` of real ``n x n`` data.

    An orthogonal operator's determinant is +1 or -1, and a continuous path cannot
    change it; the fit's init takes the data's. 0 when the data do not decide: padded
    shapes (``S E S^T`` with a square ``E`` larger than the data), fewer than ``n``
    columns, complex data or a singular ``M``.
    """
    if X.shape[0] != n or Y.shape[0] != n or X.shape[1] < n or X.dtype.kind == "c" or Y.dtype.kind == "c":
        return 0
    # M X = Y  <=>  X^T M^T = Y^T, solved in the least-squares sense.
    Mt = np.linalg.lstsq(X.T, Y.T, rcond=None)[0]
    sign, logdet = np.linalg.slogdet(Mt)
    return int(sign) if np.isfinite(logdet) else 0


# Columns of the data on which orthogonality up to scale is tested (a necessary
# condition on any subset; the Gram matrix of all columns of a large batch would
# cost k**2).
GRAM_COLUMNS = 512
# Relative deviation of the Gram matrices below which the data count as orthogonal
# up to scale: well above rounding of float32 data, and an approximately orthogonal
# target still gains from the orthogonal start (a free polish follows).
GRAM_TOL = 1e-4


def orthogonal_scale(X: npt.NDArray, Y: npt.NDArray) -> float | None:
    """``c > 0`` if the data look like ``Y = c Q X`` with ``Q`` orthogonal/unitary, else
    ``None``.

    ``Y = c Q X`` implies ``Y^H Y = c^2 X^H X`` on any set of columns, which is tested
    on the first :data:`GRAM_COLUMNS`; ``c = ||Y||_F / ||X||_F``.
    """
    Xs, Ys = X[:, :GRAM_COLUMNS], Y[:, :GRAM_COLUMNS]
    x2 = float(np.vdot(Xs, Xs).real)
    y2 = float(np.vdot(Ys, Ys).real)
    if not (x2 > 0 and y2 > 0):
        return None
    gx = Xs.conj().T @ Xs / x2
    gy = Ys.conj().T @ Ys / y2
    if np.linalg.norm(gy - gx) > GRAM_TOL * np.linalg.norm(gx):
        return None
    return float(np.sqrt(float(np.vdot(Y, Y).real) / float(np.vdot(X, X).real)))


def fit_geometry(
    rows: int, cols: int, width: int, expansion: float, parametrization: str,
    compute: np.dtype, complex_out: bool, data_bytes: int,
) -> tuple[int, int, int, Any]:
    """``(nblocks, N, log2 N, parametrization)`` of a fit, after checking its memory.

    The estimate counts the parameters, the gradient and L-BFGS's 2 * 20 correction
    pairs (48 twiddles of the compute dtype) plus ``data_bytes`` of data held at once.
    """
    nblocks = 2 * width
    big = internal_size_for(rows, cols, expansion)
    check_memory(
        48 * twiddle_nbytes(nblocks, big, compute) + data_bytes,
        f"fitting a K-matrix of width {width} at internal size N = 2**{big.bit_length() - 1}",
    )
    m = log2_exact(big)
    param = make_parametrization(parametrization, nblocks, m, complex_out)
    if param.name == "permutation" and rows != cols:
        raise ValueError(
            f"parametrization='permutation' needs a square shape; got ({rows}, {cols})"
        )
    return nblocks, big, m, param

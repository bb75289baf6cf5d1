"""K-matrices on Dask arrays: ``K @ X`` and :func:`~kmatrix.vjp` as lazy task graphs.

Nothing here runs until the result is computed. Two schedules, chosen by how the rows
of the input are chunked:

* **whole columns** (one chunk along axis 0): one task per column chunk runs the
  ordinary kernels; the operator enters the graph once, as a single key that every task
  reads (a worker unpickles it once and keeps its plan between tasks);
* **split columns** (several row chunks, the huge-``N`` case): the four-step schedule of
  :mod:`kmatrix.backends.fourstep`, written as a graph by
  :mod:`kmatrix.backends.dask_rows` -- local runs of factors on aligned chunks of ``C``
  rows, exact transposes of the chunk grid in between. No task holds a whole column.

Task bodies and shared graph keys live in :mod:`kmatrix.backends.dask_keys`.
"""

__all__ = ["check_input", "apply", "vjp"]

from operator import getitem

import numpy as np

import dask.array as da
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from .dask_keys import operator_key, operator_token, result_dtype, run_one_thread, run_vjp_one_thread
from .dask_rows import apply_rows, vjp_rows

_NUMERIC_KINDS = "biufc"


# ---------------------------------------------------------------- checks
def check_input(x, n_expected, name):
    """The same checks as for a NumPy ``x``, made on the Dask array's metadata."""
    if x.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} expects a numeric array; got dtype {x.dtype}")
    if any(np.isnan(c) for cs in x.chunks for c in cs):
        raise ValueError(
            f"{name} expects a Dask array with known chunk sizes; got shape {x.shape} "
            "(call x.compute_chunk_sizes() first)"
        )
    if x.ndim not in (1, 2) or x.shape[0] != n_expected:
        raise ValueError(
            f"{name} expects an array of shape ({n_expected},) or ({n_expected}, k); "
            f"got shape {x.shape}"
        )
    return x


# ---------------------------------------------------------------- apply
def apply(op, x):
    """``op @ x`` for a Dask array ``x`` of shape ``(cols,)`` or ``(cols, k)``, lazily."""
    dtype = result_dtype(op, x.dtype)
    if x.numblocks[0] == 1:
        rows = op.shape[0]
        return da.map_blocks(
            run_one_thread, operator_key(op), x, dtype=dtype, chunks=((rows,),) + x.chunks[1:],
            meta=np.empty((0,) * x.ndim, dtype=dtype),
        )
    vector = x.ndim == 1
    x2 = x[:, None] if vector else x
    y = apply_rows(op, x2, dtype)
    return y[:, 0] if vector else y


# ---------------------------------------------------------------- vjp
def _as_dask(a, like):
    if a is None or hasattr(a, "__dask_graph__"):
        return a
    a = np.asarray(a)
    if a.ndim != like.ndim:
        return da.from_array(a, chunks=-1)  # the shape check reports it
    rows = like.chunks[0] if a.shape[0] == like.shape[0] else max(like.chunks[0])
    return da.from_array(a, chunks=(rows,) + like.chunks[1:])


def vjp(op, X, G):
    """:func:`kmatrix.vjp` for Dask ``X`` and/or ``G``: ``(dX, dtwiddle)`` as Dask arrays."""
    rows, cols = op.shape
    X = _as_dask(X, G)
    G = _as_dask(G, X)
    for a, name, n in ((X, "X", cols), (G, "G", rows)):
        check_input(a, n, f"vjp {name}")
    want = (rows,) if X.ndim == 1 else (rows, X.shape[1])
    if G.shape != want:
        raise ValueError(f"vjp expects G with the shape of K @ X, {want}; got shape {G.shape}")
    dtype = result_dtype(op, X.dtype, G.dtype)
    vector = X.ndim == 1
    x2, g2 = (X[:, None], G[:, None]) if vector else (X, G)
    if x2.numblocks[0] == 1 and g2.numblocks[0] == 1:
        dx, dtw = _vjp_columns(op, x2, g2.rechunk({1: x2.chunks[1]}), dtype)
    else:
        dx, dtw = vjp_rows(op, x2, g2, dtype)
    return (dx[:, 0] if vector else dx), dtw


def _second(pair):
    return pair[1][None]


def _vjp_columns(op, x, g, dtype):
    key = operator_key(op)
    name = f"kmatrix-vjp-{tokenize(operator_token(op), x.name, g.name)}"
    dsk = {(name, j): (run_vjp_one_thread, key.key, (x.name, 0, j), (g.name, 0, j))
           for j in range(x.numblocks[1])}
    dx_name, dt_name = name + "-dx", name + "-dt"
    zeros = (0,) * op.twiddle.ndim
    for j in range(x.numblocks[1]):
        dsk[(dx_name, 0, j)] = (getitem, (name, j), 0)
        dsk[(dt_name, j) + zeros] = (_second, (name, j))
    deps = [x, g, key]
    dx = da.Array(HighLevelGraph.from_collections(dx_name, dsk, dependencies=deps), dx_name,
                  x.chunks, meta=np.empty((0, 0), dtype))
    parts = da.Array(
        HighLevelGraph.from_collections(dt_name, dsk, dependencies=deps), dt_name,
        ((1,) * x.numblocks[1],) + tuple((s,) for s in op.twiddle.shape),
        meta=np.empty((0,) * 6, op.dtype),
    )
    return dx, parts.sum(axis=0)

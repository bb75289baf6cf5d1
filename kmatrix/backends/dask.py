"""K-matrices on Dask arrays: ``K @ X`` and :func:`~kmatrix.vjp` as lazy task graphs.

Nothing here runs until the result is computed. Two schedules, chosen by how the rows
of the input are chunked:

* **whole columns** (one chunk along axis 0): one task per column chunk runs the
  ordinary kernels; the operator enters the graph once, as a single key that every task
  reads (a worker unpickles it once and keeps its plan between tasks);
* **split columns** (several row chunks, the huge-``N`` case): the four-step schedule of
  :mod:`kmatrix.backends.fourstep` -- local runs of factors on aligned chunks of
  ``C`` rows, exact transposes of the chunk grid in between. No task holds a whole
  column; each chunk's share of the twiddle enters the graph once.

Each task runs the kernels on one thread: Dask's own threads (or processes) are the
parallelism, and a pool of kernel threads per task would oversubscribe the worker.
"""

__all__ = ["check_input", "apply", "vjp"]

import sys
from operator import getitem

import numpy as np

import dask.array as da
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from .._generated import GeneratedKMatrix
from .._layout import SUPPORTED_DTYPES
from .._operator import KMatrix
from . import fourstep

_NUMERIC_KINDS = "biufc"


# ---------------------------------------------------------------- one kernel thread per task
# Dask runs one task per worker thread: each task applies its chunk on one kernel thread,
# so the worker's threads are not oversubscribed.
def _run(op, block):
    """``op @ block`` on one kernel thread (a 1-column block runs the vector path)."""
    if block.ndim == 2 and block.shape[1] == 1:
        return op.dot(block[:, 0], workers=1)[:, None]
    return op.dot(block, workers=1)


def _run_vjp(op, x, g):
    from ..learn.vjp import vjp as host_vjp

    return host_vjp(op, x, g, workers=1)


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


def _result_dtype(op, *dtypes):
    dtype = np.result_type(op.dtype, *dtypes)
    if dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            f"cannot apply a {op.dtype} KMatrix to {np.result_type(*dtypes)} input: the result "
            f"type {dtype} is not one of float32, float64, complex64, complex128"
        )
    return dtype


def _twiddle(op):
    """The operator's twiddle: its array, or the formula a generated operator computes
    it from (:mod:`kmatrix.backends.fourstep` reads either)."""
    return op.formula if isinstance(op, GeneratedKMatrix) else op.twiddle


def _token(op):
    """A content hash of the operator (computed once: its twiddle is read-only)."""
    tok = op._cache.get("dask-token")
    if tok is None:
        tw = _twiddle(op)
        tok = op._cache["dask-token"] = tokenize(getattr(tw, "token", tw), op.shape)
    return tok


def _client():
    """The ``distributed`` client that is Dask's current scheduler, or None."""
    if "distributed" not in sys.modules:
        return None
    from dask.base import get_scheduler
    from distributed import Client

    client = getattr(get_scheduler(), "__self__", None)
    return client if isinstance(client, Client) and client.status == "running" else None


def _shared(op, name, make):
    """``make()`` as one graph key, made once per operator and reused by later graphs.

    On a ``distributed`` client the value is scattered to the cluster once (and kept
    there while the operator lives): later graphs refer to it by key instead of
    serializing it again. Otherwise it is a literal of the graph, built once.
    """
    client = _client()
    if client is None:
        d = op._cache.get(name)
        if d is None:
            key = f"{name}-{_token(op)}"
            d = op._cache[name] = Delayed(
                key, HighLevelGraph.from_collections(key, {key: make()}, dependencies=()))
        return d
    futures = op._cache.setdefault(f"{name}-scattered", {})
    fut = futures.get(client.id)
    if fut is None or fut.status != "finished":
        fut = futures[client.id] = client.scatter(make(), broadcast=True, hash=False)
    return Delayed(fut.key, HighLevelGraph.from_collections(fut.key, {fut.key: fut}, ()))


def _operator_key(op):
    """The operator as one graph key shared by every task (sent once per cluster)."""
    return _shared(op, "kmatrix-operator", lambda: op)


# ---------------------------------------------------------------- apply
def apply(op, x):
    """``op @ x`` for a Dask array ``x`` of shape ``(cols,)`` or ``(cols, k)``, lazily."""
    dtype = _result_dtype(op, x.dtype)
    if x.numblocks[0] == 1:
        rows = op.shape[0]
        return da.map_blocks(
            _run, _operator_key(op), x, dtype=dtype, chunks=((rows,),) + x.chunks[1:],
            meta=np.empty((0,) * x.ndim, dtype=dtype),
        )
    vector = x.ndim == 1
    x2 = x[:, None] if vector else x
    split = fourstep.Split.for_chunks(op.internal_size, x.chunks[0])
    z = _pad(x2, op.internal_size, split)
    for high, factors in fourstep.stages(_twiddle(op), split.chunk):
        z = _stage(op, z, high, factors, split, dtype)[0]
    y = _finish(z, op.shape[0], x2, split)
    return y[:, 0] if vector else y


def _pad(x, n, split):
    """``x`` zero-padded to ``n`` rows, as ``(P, C, k)`` in the natural layout."""
    cols, k = x.shape
    if cols < n:
        zeros = da.zeros((n - cols, k), dtype=x.dtype, chunks=(split.chunk, x.chunks[1]))
        x = da.concatenate([x, zeros], axis=0)
    x = x.rechunk({0: split.chunk})
    return x.reshape(split.parts, split.chunk, k)


def _layout(z, high, split):
    """``z`` in the natural or the transposed layout (an all-to-all when it changes)."""
    want = ((split.parts,), (split.span,) * split.count(True)) if high else (
        (1,) * split.parts, (split.chunk,))
    if z.chunks[:2] == want:
        return z
    # one direct exchange: Dask's planner would otherwise stage the transpose through
    # blocks of whole columns, which is what the schedule exists to avoid
    block = split.chunk * max(z.chunks[2]) * z.dtype.itemsize
    return z.rechunk(want + z.chunks[2:], block_size_limit=block)


def _stage(op, z, high, factors, split, dtype, gradient=None):
    """Run one run of factors on every chunk of ``z`` (moved to its layout first).

    Returns ``(output, input in this layout, places)``. With ``gradient`` (the incoming
    gradient in this layout) the tasks compute the local vjp instead and the output is
    ``(dz, dtwiddle pieces)``.
    """
    z = _layout(z, high, split)
    places, nblocks, mloc = fourstep.local_layout(factors, high, split, _twiddle(op).shape[1])
    token = tokenize(_token(op), high, tuple(map(tuple, places)), split.chunk)
    opname = f"kmatrix-local-{token}"
    index = 1 if high else 0
    run = _run_chunk
    if isinstance(op, GeneratedKMatrix):
        # each task computes its chunk's factors from the formula, one at a time, and
        # applies each as it comes: no twiddle travels, none is held whole
        run, dsk = _run_generated, {}
        factors = np.array(factors, dtype=np.int64)
        opkey = lambda i: (op.formula, factors, high, split.n, split.chunk, i)  # noqa: E731
    else:
        local = [(_local_operator, places, nblocks, mloc, srcs)
                 for srcs in _local_sources(op, token, places, high, split)]
        if z.numblocks[2] == 1:
            # one task per chunk: the chunk's operator is built inside the task that uses it
            dsk = {}
            opkey = local.__getitem__
        else:
            # several column blocks share each chunk's operator, built once
            dsk = {(opname, i): task for i, task in enumerate(local)}
            opkey = lambda i: (opname, i)  # noqa: E731
    if gradient is None:
        name = f"kmatrix-stage-{tokenize(token, z.name)}"
        for idx in np.ndindex(*z.numblocks):
            dsk[(name,) + idx] = (run, opkey(idx[index]), (z.name,) + idx)
        graph = HighLevelGraph.from_collections(name, dsk, dependencies=[z])
        return da.Array(graph, name, z.chunks, meta=np.empty((0, 0, 0), dtype)), z, places
    g = gradient.rechunk(z.chunks)
    name = f"kmatrix-stage-vjp-{tokenize(token, z.name, g.name)}"
    for idx in np.ndindex(*z.numblocks):
        dsk[(name,) + idx] = (_vjp_chunk, places, opkey(idx[index]), (z.name,) + idx,
                              (g.name,) + idx)
    dz_name, dt_name = name + "-dz", name + "-dt"
    for idx in np.ndindex(*z.numblocks):
        dsk[(dz_name,) + idx] = (getitem, (name,) + idx, 0)
        dsk[(dt_name, idx[index], idx[2], 0, 0, 0, 0)] = (getitem, (name,) + idx, 1)
    graph = HighLevelGraph.from_collections(dz_name, dsk, dependencies=[z, g])
    dz = da.Array(graph, dz_name, z.chunks, meta=np.empty((0, 0, 0), dtype))
    nloc = 1 << mloc
    graph_t = HighLevelGraph.from_collections(dt_name, dsk, dependencies=[z, g])
    count, ncol = split.count(high), z.numblocks[2]
    pieces = da.Array(
        graph_t, dt_name,
        ((1,) * count, (1,) * ncol, (len(places),), (nloc // 2,), (2,), (2,)),
        meta=np.empty((0,) * 6, op.dtype),
    )
    return (dz, pieces.sum(axis=1)), z, places


def _local_sources(op, token, places, high, split):
    """Each chunk's share of the twiddle for one run: views of it, or on a
    ``distributed`` client futures of copies scattered once per operator and cluster."""
    srcs = [tuple(fourstep.local_sources(op.twiddle, places, high, split, i))
            for i in range(split.count(high))]
    client = _client()
    if client is None:
        return srcs
    cache = op._cache.setdefault("kmatrix-local-scattered", {})
    futs = cache.get((client.id, token))
    if futs is None or any(f.status != "finished" for f in futs):
        copies = [tuple(np.ascontiguousarray(a) for a in s) for s in srcs]
        futs = cache[(client.id, token)] = client.scatter(copies, hash=False)
    return futs


def _local_operator(places, nblocks, mloc, srcs):
    return KMatrix._from_owned(fourstep.build_local(places, nblocks, mloc, srcs[0].dtype, srcs))


def _run_generated(spec, block):
    formula, factors, high, n, chunk, i = spec
    return fourstep.apply_generated(formula, factors, high, fourstep.Split(n, chunk), i, block)


def _run_chunk(op, block):
    shape = block.shape
    return _run(op, block.reshape(op.shape[1], shape[2])).reshape(shape)


def _vjp_chunk(places, op, block, g):
    shape = block.shape
    dz, dtw = _run_vjp(op, block.reshape(-1, shape[2]), g.reshape(-1, shape[2]))
    return dz.reshape(shape), dtw[places[:, 2], places[:, 3]][None, None]


def _finish(z, rows, like, split):
    """Back to the natural layout, the first ``rows`` rows, chunked like ``like``'s rows
    (the same chunks when the row counts agree, else its largest chunk size)."""
    z = _layout(z, False, split)
    y = z.reshape(split.n, z.shape[2])[:rows]
    return y.rechunk({0: like.chunks[0] if rows == like.shape[0] else max(like.chunks[0])})


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
    dtype = _result_dtype(op, X.dtype, G.dtype)
    vector = X.ndim == 1
    x2, g2 = (X[:, None], G[:, None]) if vector else (X, G)
    if x2.numblocks[0] == 1 and g2.numblocks[0] == 1:
        dx, dtw = _vjp_columns(op, x2, g2.rechunk({1: x2.chunks[1]}), dtype)
    else:
        dx, dtw = _vjp_rows(op, x2, g2, dtype)
    return (dx[:, 0] if vector else dx), dtw


def _second(pair):
    return pair[1][None]


def _vjp_columns(op, x, g, dtype):
    key = _operator_key(op)
    name = f"kmatrix-vjp-{tokenize(_token(op), x.name, g.name)}"
    dsk = {(name, j): (_run_vjp, key.key, (x.name, 0, j), (g.name, 0, j))
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


def _vjp_rows(op, x, g, dtype):
    """The four-step schedule forward (keeping each run's input), then backward."""
    n = op.internal_size
    split = fourstep.Split.for_chunks(n, x.chunks[0])
    runs = fourstep.stages(op.twiddle, split.chunk, skip_identity=False)
    z = _pad(x, n, split)
    inputs = []
    for high, factors in runs:
        z, z_in, _ = _stage(op, z, high, factors, split, dtype)
        inputs.append(z_in)
    grad = _pad(g.rechunk({1: x.chunks[1]}).astype(dtype), n, split)
    rows = {}
    for (high, factors), z_in in zip(reversed(runs), reversed(inputs)):
        grad = _layout(grad, high, split)
        (grad, pieces), _, places = _stage(op, z_in, high, factors, split, dtype, grad)
        rows.update(_gradient_rows(pieces, places, high, split))
    dx = _finish(grad, op.shape[1], x, split)
    nb, m = op.twiddle.shape[:2]
    dtw = da.stack([da.stack([rows[(b, j)] for j in range(m)]) for b in range(nb)])
    return dx, dtw


def _gradient_rows(pieces, places, high, split):
    """``{(block, factor): dtwiddle[block, factor]}`` from a run's per-chunk pieces."""
    count, nf = pieces.shape[:2]
    half = split.n // 2
    if high:
        p2, span = split.parts // 2, split.span
        arr = pieces.reshape(count, nf, p2, span, 2, 2).transpose(1, 2, 0, 3, 4, 5)
    else:
        arr = pieces.transpose(1, 0, 2, 3, 4)
    arr = arr.reshape(nf, half, 2, 2)
    return {(int(b), int(j)): arr[f] for f, (b, j, _, _) in enumerate(places)}

"""The split-column schedule on Dask: a K-matrix applied to columns cut into row chunks.

:mod:`kmatrix.backends.fourstep` says which factors run where; this module writes that
as a task graph -- local runs of factors on aligned chunks of ``C`` rows, exact
transposes of the chunk grid (Dask's rechunk) in between. No task holds a whole column;
each chunk's share of a stored twiddle enters the graph once, and a generated operator's
tasks compute their own.
"""

__all__ = ["apply_rows", "vjp_rows"]

from operator import getitem

import numpy as np

import dask.array as da
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from .._generated import GeneratedKMatrix
from .._operator import KMatrix
from . import fourstep
from .dask_keys import current_client, operator_token, run_one_thread, run_vjp_one_thread, twiddle_of


def apply_rows(op, x, dtype):
    """``op @ x`` for a 2-D Dask ``x`` with several row chunks, lazily."""
    split = fourstep.Split.for_chunks(op.internal_size, x.chunks[0])
    z = _pad(x, op.internal_size, split)
    for high, factors in fourstep.stages(twiddle_of(op), split.chunk):
        z = _stage(op, z, high, factors, split, dtype)[0]
    return _finish(z, op.shape[0], x, split)


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
    places, nblocks, mloc = fourstep.local_layout(factors, high, split, twiddle_of(op).shape[1])
    token = tokenize(operator_token(op), high, tuple(map(tuple, places)), split.chunk)
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
    client = current_client()
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
    return run_one_thread(op, block.reshape(op.shape[1], shape[2])).reshape(shape)


def _vjp_chunk(places, op, block, g):
    shape = block.shape
    dz, dtw = run_vjp_one_thread(op, block.reshape(-1, shape[2]), g.reshape(-1, shape[2]))
    return dz.reshape(shape), dtw[places[:, 2], places[:, 3]][None, None]


def _finish(z, rows, like, split):
    """Back to the natural layout, the first ``rows`` rows, chunked like ``like``'s rows
    (the same chunks when the row counts agree, else its largest chunk size)."""
    z = _layout(z, False, split)
    y = z.reshape(split.n, z.shape[2])[:rows]
    return y.rechunk({0: like.chunks[0] if rows == like.shape[0] else max(like.chunks[0])})



def vjp_rows(op, x, g, dtype):
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

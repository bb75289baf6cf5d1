"""The split-column schedule on Dask: a K-matrix applied to columns cut into row chunks.

:mod:`kmatrix.backends.fourstep` says which factors run where; this module writes that
as a task graph -- local runs of factors on aligned chunks of ``C`` rows
(:mod:`kmatrix.backends.dask_local`), exact transposes of the chunk grid in between:
Dask's rechunk, or with ``dask.config.set({"kmatrix.exchange": "disk"})`` files
(:mod:`kmatrix.backends.dask_disk`, the forward product only). No task holds a whole
column; each chunk's share of a stored twiddle enters the graph once, and a generated
operator's tasks compute their own.
"""

__all__ = ["apply_rows", "vjp_rows"]

from operator import getitem

import numpy as np

import dask.array as da
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from . import fourstep
from .dask_disk import apply_through_files, exchange_method
from .dask_keys import twiddle_of
from .dask_local import local_run, vjp_chunk


def apply_rows(op, x, dtype):
    """``op @ x`` for a 2-D Dask ``x`` with several row chunks, lazily."""
    split = fourstep.Split.for_chunks(op.internal_size, x.chunks[0])
    z = _pad(x, op.internal_size, split)
    runs = fourstep.stages(twiddle_of(op), split.chunk)
    if runs and exchange_method() == "disk":
        z = apply_through_files(op, z, runs, split, dtype, op.shape[0])
    else:
        for high, factors in runs:
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
    local = local_run(op, high, factors, split, z.numblocks[2])
    dsk = dict(local.graph)
    index = 1 if high else 0
    if gradient is None:
        name = f"kmatrix-stage-{tokenize(local.token, z.name)}"
        for idx in np.ndindex(*z.numblocks):
            dsk[(name,) + idx] = (local.run, local.opkey(idx[index]), (z.name,) + idx)
        graph = HighLevelGraph.from_collections(name, dsk, dependencies=[z])
        return da.Array(graph, name, z.chunks, meta=np.empty((0, 0, 0), dtype)), z, local.places
    places = local.places
    g = gradient.rechunk(z.chunks)
    name = f"kmatrix-stage-vjp-{tokenize(local.token, z.name, g.name)}"
    for idx in np.ndindex(*z.numblocks):
        dsk[(name,) + idx] = (vjp_chunk, places, local.opkey(idx[index]), (z.name,) + idx,
                              (g.name,) + idx)
    dz_name, dt_name = name + "-dz", name + "-dt"
    for idx in np.ndindex(*z.numblocks):
        dsk[(dz_name,) + idx] = (getitem, (name,) + idx, 0)
        dsk[(dt_name, idx[index], idx[2], 0, 0, 0, 0)] = (getitem, (name,) + idx, 1)
    graph = HighLevelGraph.from_collections(dz_name, dsk, dependencies=[z, g])
    dz = da.Array(graph, dz_name, z.chunks, meta=np.empty((0, 0, 0), dtype))
    nloc = local.size
    graph_t = HighLevelGraph.from_collections(dt_name, dsk, dependencies=[z, g])
    count, ncol = split.count(high), z.numblocks[2]
    pieces = da.Array(
        graph_t, dt_name,
        ((1,) * count, (1,) * ncol, (len(places),), (nloc // 2,), (2,), (2,)),
        meta=np.empty((0,) * 6, op.dtype),
    )
    return (dz, pieces.sum(axis=1)), z, places


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

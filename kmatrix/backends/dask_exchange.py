"""The all-to-all exchanges of the four-step schedule, as explicit Dask tasks.

The schedule keeps its data ``z`` of shape ``(P, C, k)`` in one of two chunk layouts
(:mod:`kmatrix.backends.fourstep`): *natural*, one chunk per ``hi`` (chunks
``(1, C, k_c)``), or *transposed*, one chunk per range of ``L`` values of ``lo`` (chunks
``(P, L, k_c)``). Moving between them is an exact transpose of the chunk grid: every
source chunk sends one piece to every destination chunk.

Here that is written out directly -- one slicing task per piece and one task per
destination chunk that concatenates its pieces -- and the destination task may also run
the next local run of factors on what it gathered, so an exchange followed by a run
costs ``P^2 + P`` tasks instead of the pieces, the merges and the run tasks separately
(Dask's general rechunk plans for arbitrary chunk grids and may stage a transpose
through intermediate chunks; this one never does).
"""

__all__ = ["layout_chunks", "in_layout", "exchange"]

from operator import getitem

import numpy as np

import dask.array as da
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph


def layout_chunks(high, split):
    """Chunks of the first two axes in the transposed (``high``) or natural layout."""
    if high:
        return ((split.parts,), (split.span,) * split.count(True))
    return ((1,) * split.parts, (split.chunk,))


def in_layout(z, high, split):
    return z.chunks[:2] == layout_chunks(high, split)


def _gather(pieces, axis):
    return np.concatenate(pieces, axis=axis) if len(pieces) > 1 else pieces[0]


def _gather_run(run, op, pieces, axis):
    return run(op, _gather(pieces, axis))


def exchange(z, high, split, run=None, ops=None, extra=None, dtype=None, token=None):
    """``z`` moved to the transposed (``high``) or natural layout.

    With ``run`` (``run(op, block)``) and ``ops`` (chunk index -> the operator's key or
    task), each destination task applies ``run`` to the block it gathered; ``extra``
    (a dict) is merged into the graph (the operators' own tasks), ``dtype`` is the
    result's; ``token`` identifies ``run`` and ``ops``. ``z`` must be in the other
    layout (see :func:`in_layout`).
    """
    src_high = not high
    if not in_layout(z, src_high, split):
        raise ValueError(f"exchange expects chunks {layout_chunks(src_high, split)}; "
                         f"got {z.chunks[:2]}")
    count, span, parts = split.count(True), split.span, split.parts
    ncol = z.numblocks[2]
    label = "exchange" if run is None else "exchange-run"
    token = tokenize(z.name, high, split.n, split.chunk, token)
    name = f"kmatrix-{label}-{token}"
    pname = f"kmatrix-exchange-piece-{token}"
    dsk = dict(extra or {})
    if high:  # natural -> transposed: chunk hi sends lo range j to destination j
        for hi in range(parts):
            for j in range(count):
                for c in range(ncol):
                    dsk[(pname, hi, j, c)] = (getitem, (z.name, hi, 0, c),
                                              (slice(None), slice(j * span, (j + 1) * span)))
        dests = [((name, 0, j, c), [(pname, hi, j, c) for hi in range(parts)], 0, j)
                 for j in range(count) for c in range(ncol)]
    else:  # transposed -> natural: chunk j sends row hi to destination hi
        for j in range(count):
            for hi in range(parts):
                for c in range(ncol):
                    dsk[(pname, j, hi, c)] = (getitem, (z.name, 0, j, c), (slice(hi, hi + 1),))
        dests = [((name, hi, 0, c), [(pname, j, hi, c) for j in range(count)], 1, hi)
                 for hi in range(parts) for c in range(ncol)]
    for key, pieces, axis, i in dests:
        dsk[key] = (_gather, pieces, axis) if run is None else (
            _gather_run, run, ops(i), pieces, axis)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[z])
    dtype = z.dtype if dtype is None else dtype
    return da.Array(graph, name, layout_chunks(high, split) + z.chunks[2:],
                    meta=np.empty((0, 0, 0), dtype))

"""The local runs of the split-column schedule: one run of factors on each chunk.

Both exchanges of :mod:`kmatrix.backends.dask_rows` (Dask's rechunk, or files through
:mod:`kmatrix.backends.dask_disk`) call the same task bodies made here: a small
K-matrix per chunk built from that chunk's share of a stored twiddle, or, for a
generated operator, the chunk's factors computed from the formula inside the task.
"""

__all__ = ["LocalRun", "local_run", "vjp_chunk"]

from typing import NamedTuple

import numpy as np

from dask.base import tokenize

from .._generated import GeneratedKMatrix
from .._operator import KMatrix
from . import fourstep
from .dask_keys import current_client, operator_token, run_one_thread, run_vjp_one_thread, twiddle_of


class LocalRun(NamedTuple):
    """How the tasks of one run apply its factors to chunk ``i``: ``run(opkey(i), block)``
    (``run(..., overwrite_x=True)`` where the task owns ``block``: it may be reused).

    ``graph`` holds the keys ``opkey`` may name (operators shared by several column
    blocks); ``places`` is :func:`kmatrix.backends.fourstep.local_layout`'s and ``size``
    the size of the chunk's local operator.
    """

    run: object
    opkey: object
    graph: dict
    places: np.ndarray
    size: int
    token: str


def local_run(op, high, factors, split, ncol):
    """The :class:`LocalRun` of ``factors`` on ``op``'s chunks in the layout ``high``,
    for inputs of ``ncol`` column blocks."""
    places, nblocks, mloc = fourstep.local_layout(factors, high, split, twiddle_of(op).shape[1])
    token = tokenize(operator_token(op), high, tuple(map(tuple, places)), split.chunk)
    if isinstance(op, GeneratedKMatrix):
        # each task computes its chunk's factors from the formula, one at a time, and
        # applies each as it comes: no twiddle travels, none is held whole
        factors = np.array(factors, dtype=np.int64)
        return LocalRun(_run_generated, lambda i: (op.formula, factors, high, split.n,
                                                   split.chunk, i), {}, places, 1 << mloc, token)
    local = [(_local_operator, places, nblocks, mloc, srcs)
             for srcs in _local_sources(op, token, places, high, split)]
    if ncol == 1:
        # one task per chunk: the chunk's operator is built inside the task that uses it
        return LocalRun(_run_chunk, local.__getitem__, {}, places, 1 << mloc, token)
    # several column blocks share each chunk's operator, built once
    opname = f"kmatrix-local-{token}"
    graph = {(opname, i): task for i, task in enumerate(local)}
    return LocalRun(_run_chunk, lambda i: (opname, i), graph, places, 1 << mloc, token)


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


def _run_generated(spec, block, overwrite_x=False):
    formula, factors, high, n, chunk, i = spec
    return fourstep.apply_generated(formula, factors, high, fourstep.Split(n, chunk), i, block,
                                    overwrite_x)


def _run_chunk(op, block, overwrite_x=False):
    # overwrite_x is a permission (as in scipy.fft): the kernels write a new array
    shape = block.shape
    return run_one_thread(op, block.reshape(op.shape[1], shape[2])).reshape(shape)


def vjp_chunk(places, op, block, g):
    """The local vjp of one chunk: ``(dblock, this chunk's twiddle gradient pieces)``."""
    shape = block.shape
    dz, dtw = run_vjp_one_thread(op, block.reshape(-1, shape[2]), g.reshape(-1, shape[2]))
    return dz.reshape(shape), dtw[places[:, 2], places[:, 3]][None, None]

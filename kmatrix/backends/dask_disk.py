"""The split-column schedule's exchanges through files.

Dask's rechunk moves every transposed chunk through worker memory, and its
peer-to-peer method buffers several chunks per worker on top of what the tasks hold.
Selected by ``dask.config.set({"kmatrix.exchange": "disk"})``, the exchanges go through
a directory instead: the task that runs a chunk's factors writes each piece of its
result into the file of the chunk that needs it, at that piece's place (one file per
destination chunk, written by every source, read once); the next run's task reads its
file into one buffer, deletes it, runs its factors and writes again. Between runs no
chunk is held by Dask, so a worker's memory is what its running tasks hold.

The directory (``"kmatrix.exchange-directory"``, default Dask's
``"temporary-directory"`` or the system's) must be one that every worker sees: any
local directory on one machine, a shared file system on a cluster. A file is read once
and deleted, so a task cannot be recomputed after its exchange was read: a lost worker
makes the computation fail (rerun it) instead of recomputing a part of it. A result
computed in part, or a failed computation, leaves the unread files behind.
"""

__all__ = ["exchange_method", "exchange_directory", "apply_through_files"]

import errno
import os
import shutil
import tempfile
import uuid

import numpy as np

import dask
import dask.array as da
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from .dask_keys import operator_token
from .dask_local import local_run

METHODS = ("rechunk", "disk")
_BINARY = getattr(os, "O_BINARY", 0)


def exchange_method():
    """The configured exchange: ``"rechunk"`` (Dask's, the default) or ``"disk"``."""
    method = dask.config.get("kmatrix.exchange", "rechunk")
    if method not in METHODS:
        raise ValueError(
            f"dask config 'kmatrix.exchange' must be one of {METHODS}; got {method!r}")
    return method


def exchange_directory():
    """Where the exchange files go: ``"kmatrix.exchange-directory"``, else Dask's
    ``"temporary-directory"``, else the system's temporary directory."""
    path = (dask.config.get("kmatrix.exchange-directory", None)
            or dask.config.get("temporary-directory", None) or tempfile.gettempdir())
    return os.path.abspath(os.path.expanduser(str(path)))


def apply_through_files(op, z, runs, split, dtype, rows):
    """``z`` (``(P, C, k)`` in the natural layout) through ``runs`` of
    :func:`kmatrix.backends.fourstep.stages`, exchanging through files; the result is in
    the natural layout. Chunks holding none of the first ``rows`` rows are zeros: their
    pieces are neither written nor read (a caller that never computes them would leave
    their files behind)."""
    directory = exchange_directory()
    _check_space(directory, z.shape, dtype)
    steps = list(runs)
    # the input and the output are in the natural layout: an empty run moves them
    if steps[0][0]:
        steps.insert(0, (False, []))
    if steps[-1][0]:
        steps.append((False, []))
    base = f"kmatrix-files-{tokenize(operator_token(op), z.name, uuid.uuid4().hex)}"
    last = len(steps) - 1
    wanted = -(-rows // split.chunk)  # chunks of the last run that hold result rows
    dsk = {}

    def key(r, q, c):
        return (base, q, 0, c) if r == last else (f"{base}-{r}", q, c)

    def path(r, d, c):
        return os.path.join(directory, f"{base}-x{r}-{d}-{c}.bin")

    for r, (high, factors) in enumerate(steps):
        local = local_run(op, high, factors, split, z.numblocks[2]) if factors else None
        if local is not None:
            dsk.update(local.graph)
        for c, kc in enumerate(z.chunks[2]):
            shape = (split.parts, split.span, kc) if high else (1, split.chunk, kc)
            if r:
                done = (f"{base}-written-{r - 1}", c)
                dsk[done] = (_all_written, [key(r - 1, q, c)
                                            for q in range(split.count(not high))])
            for q in range(split.count(high)):
                if r == last and q >= wanted:
                    dsk[key(r, q, c)] = (np.zeros, shape, dtype)
                    continue
                source = (z.name, q, 0, c) if r == 0 else (
                    _read_chunk, path(r - 1, q, c), shape, dtype, done)
                target = None if r == last else ([
                    path(r, d, c) if r + 1 < last or d < wanted else None
                    for d in range(split.count(not high))], q)
                run = (local.run, local.opkey(q)) if local is not None else (None, None)
                # a chunk read from a file is the task's own: its factors may overwrite it
                dsk[key(r, q, c)] = (_step, source, *run, target, dtype, r > 0)
    graph = HighLevelGraph.from_collections(base, dsk, dependencies=[z])
    return da.Array(graph, base, z.chunks, meta=np.empty((0, 0, 0), dtype))


def _check_space(directory, shape, dtype):
    """Refuse a directory (when this process sees it) without room for one exchange."""
    need = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if os.path.isdir(directory):
        free = shutil.disk_usage(directory).free
        if free < need:
            raise OSError(errno.ENOSPC, f"an exchange of this apply writes {need} bytes to "
                          f"'kmatrix.exchange-directory' {directory}, which has {free} free")


def _step(block, run, op, target, dtype, owned):
    """One task: the chunk's factors applied (in place where the task ``owned`` the chunk
    and the factors allow it), the result written to the next exchange's files
    (``target = (paths, slot)``) or returned (``target`` None)."""
    if run is not None:
        block = run(op, block, overwrite_x=owned)
    if target is None:
        return np.asarray(block, dtype=dtype)
    _write_pieces(block, *target, dtype)
    return None


def _all_written(_):
    return None


def _write_pieces(block, paths, slot, dtype):
    """Piece ``d`` of ``block`` (its ``d``-th part of equal size, in C order) written to
    ``paths[d]`` at place ``slot`` (not written where ``paths[d]`` is None)."""
    pieces = np.ascontiguousarray(block, dtype=dtype).reshape(len(paths), -1)
    os.makedirs(os.path.dirname(paths[0]), exist_ok=True)
    for path, piece in zip(paths, pieces):
        if path is None:
            continue
        # no truncation: the other sources write their own places of the same file
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | _BINARY, 0o600)
        with open(fd, "wb") as f:
            f.seek(slot * piece.nbytes)
            f.write(piece.view(np.uint8))


def _read_chunk(path, shape, dtype, _written):
    """The chunk every source wrote into ``path``, read into one buffer; the file is
    deleted (it has no other reader)."""
    out = np.empty(shape, dtype=dtype)
    try:
        with open(path, "rb") as f:
            got = f.readinto(out.reshape(-1).view(np.uint8))
    except FileNotFoundError:
        raise FileNotFoundError(
            errno.ENOENT, "exchange file missing: the directory is not shared by every "
            "worker, or a task ran again after its exchange was read (a lost worker); "
            "rerun the computation", path) from None
    if got != out.nbytes:
        raise OSError(errno.EIO, f"exchange file holds {got} bytes, expected {out.nbytes}",
                      path)
    os.remove(path)
    return out

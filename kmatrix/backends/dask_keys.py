"""Graph keys and task bodies shared by the Dask schedules of :mod:`kmatrix.backends.dask`.

An operator enters a graph once: as one key that every task reads (scattered to a
``distributed`` cluster once per operator), identified by a content hash computed once.
Each task runs the kernels on one thread: Dask's own threads (or processes) are the
parallelism, and a pool of kernel threads per task would oversubscribe the worker.
"""

__all__ = ["run_one_thread", "run_vjp_one_thread", "result_dtype", "twiddle_of", "operator_token",
           "current_client", "shared", "operator_key"]

import sys

import numpy as np

from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from .._generated import GeneratedKMatrix
from .._layout import SUPPORTED_DTYPES


def run_one_thread(op, block):
    """``op @ block`` on one kernel thread (a 1-column block runs the vector path)."""
    if block.ndim == 2 and block.shape[1] == 1:
        return op.dot(block[:, 0], workers=1)[:, None]
    return op.dot(block, workers=1)


def run_vjp_one_thread(op, x, g):
    from ..learn.vjp import vjp as host_vjp

    return host_vjp(op, x, g, workers=1)


def result_dtype(op, *dtypes):
    dtype = np.result_type(op.dtype, *dtypes)
    if dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            f"cannot apply a {op.dtype} KMatrix to {np.result_type(*dtypes)} input: the result "
            f"type {dtype} is not one of float32, float64, complex64, complex128"
        )
    return dtype


def twiddle_of(op):
    """The operator's twiddle: its array, or the formula a generated operator computes
    it from (:mod:`kmatrix.backends.fourstep` reads either)."""
    return op.formula if isinstance(op, GeneratedKMatrix) else op.twiddle


def operator_token(op):
    """A content hash of the operator (computed once: its twiddle is read-only)."""
    tok = op._cache.get("dask-token")
    if tok is None:
        tw = twiddle_of(op)
        tok = op._cache["dask-token"] = tokenize(getattr(tw, "token", tw), op.shape)
    return tok


def current_client():
    """The ``distributed`` client that is Dask's current scheduler, or None."""
    if "distributed" not in sys.modules:
        return None
    from dask.base import get_scheduler
    from distributed import Client

    client = getattr(get_scheduler(), "__self__", None)
    return client if isinstance(client, Client) and client.status == "running" else None


def shared(op, name, make):
    """``make()`` as one graph key, made once per operator and reused by later graphs.

    On a ``distributed`` client the value is scattered to the cluster once (and kept
    there while the operator lives): later graphs refer to it by key instead of
    serializing it again. Otherwise it is a literal of the graph, built once.
    """
    client = current_client()
    if client is None:
        d = op._cache.get(name)
        if d is None:
            key = f"{name}-{operator_token(op)}"
            d = op._cache[name] = Delayed(
                key, HighLevelGraph.from_collections(key, {key: make()}, dependencies=()))
        return d
    futures = op._cache.setdefault(f"{name}-scattered", {})
    fut = futures.get(client.id)
    if fut is None or fut.status != "finished":
        fut = futures[client.id] = client.scatter(make(), broadcast=True, hash=False)
    return Delayed(fut.key, HighLevelGraph.from_collections(fut.key, {fut.key: fut}, ()))


def operator_key(op):
    """The operator as one graph key shared by every task (sent once per cluster)."""
    return shared(op, "kmatrix-operator", lambda: op)

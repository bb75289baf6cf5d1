"""Dask scaling benchmark: ``K @ X`` on a ``distributed.LocalCluster`` of processes.

Four cases, each on clusters of 1 and 2 worker processes (``--workers``):

(a) many columns: ``N x k`` data in chunks of whole columns (one task per chunk);
(b) one long vector of size ``N`` in row chunks (the four-step schedule), transformed
    by the complex128 DFT ``km.dft(N, lazy=True)``, whose twiddles every task computes
    for its own chunk (no process holds them whole); the result is checked against
    ``numpy.fft.fft`` (relative 2-norm error, ``rel_err``);
(c) the same schedule with a stored operator, ``km.random(N)`` (its twiddle is built on
    the client and each chunk's share is sent to the workers once);
(s) the DFT of (b) on a vector no process holds: tasks compute the input's chunks and
    write the result's chunks to ``.npy`` files, so a worker's memory is what the
    schedule itself needs (its tasks and Dask's exchanges). Reported: the time of the
    whole pipeline, each worker's peak resident memory above its idle level (in MB and
    in chunk sizes) and the error of the files against ``numpy.fft.fft``.

Cases (b), (c) and (s) run once per exchange of ``--exchange``: ``rechunk`` (Dask's
rechunk, by default its peer-to-peer method on a cluster) and ``disk`` (the exchanges
through files in a temporary directory, ``dask.config.set({"kmatrix.exchange":
"disk"})``).

For (a)-(c) it prints the median wall time of ``(K @ X).persist()`` (data already in
worker memory, result left there), the in-memory baseline in this process (``K @ X`` of
the same data with kmatrix's own threads; for (b) ``numpy.fft.fft``), their ratio (< 1:
the cluster is faster) and the peak resident memory of each worker process.

Run: ``python benchmarks/bench_dask.py --quick`` (seconds). The defaults are the full
sizes -- (a) 4096 x 2^16 in chunks of 2^12 columns, (b) N = 2^26 in 64 chunks, (c)
N = 2^22 in 64 chunks (a stored width-1 operator of N = 2^26 would hold
``4 N log2(N)`` twiddle entries, 28 GB in float32, on the client) -- and need a quiet
machine with about 8 GB of free memory.
"""

import argparse
import contextlib
import os
import resource
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import machine, table  # noqa: E402

import kmatrix as km  # noqa: E402


def _status_mb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mb():
    """This process's peak resident memory. On Linux ``VmHWM``, the peak of its own
    address space: ``getrusage``'s ``ru_maxrss`` carries the parent's peak across the
    fork and exec that start a worker process, so a worker started by a process holding
    gigabytes would report them as its own."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb():
    rss = _status_mb("VmRSS")
    return rss if rss is not None else float("nan")


def _chunk_of_noise(n, block_id=None):
    """Chunk ``block_id`` of a complex vector, computed where the task runs."""
    rng = np.random.default_rng([12345, block_id[0]])
    return rng.standard_normal(n) + 1j * rng.standard_normal(n)


class _NpyChunks:
    """A ``dask.array.store`` target that writes each chunk to its own ``.npy`` file."""

    def __init__(self, directory):
        self.directory = directory

    def __setitem__(self, index, block):
        np.save(os.path.join(self.directory, f"{index[0].start:016d}.npy"), block)

    def load(self):
        names = sorted(f for f in os.listdir(self.directory) if f.endswith(".npy"))
        return np.concatenate([np.load(os.path.join(self.directory, f)) for f in names])


def _same(block):
    return block


@contextlib.contextmanager
def _exchange(method):
    """kmatrix's exchange for row-chunked inputs: Dask's rechunk, or files in a fresh
    temporary directory (removed afterwards)."""
    import dask

    if method is None:  # whole columns: no exchange
        yield
        return
    if method == "rechunk":
        with dask.config.set({"kmatrix.exchange": "rechunk"}):
            yield
        return
    with tempfile.TemporaryDirectory() as tmp, dask.config.set(
            {"kmatrix.exchange": "disk", "kmatrix.exchange-directory": tmp}):
        yield


def _median_wall(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def run_case(label, K, shape, chunks, workers, threads, repeat, dtype, baseline=None,
             warm=None, exchange=None):
    """Time ``K @ X`` on clusters of ``workers`` processes.

    ``baseline(X)`` is the in-memory reference (default ``K @ X``); when given, the
    cluster's result is also compared with it (``rel_err``). ``warm`` is an operator of
    the same kind run once on a small input first (kernel compilation, worker start-up);
    default: ``K`` itself on the full input.
    """
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    rng = np.random.default_rng(0)
    X = rng.standard_normal(shape)
    if dtype.kind == "c":
        X = X + 1j * rng.standard_normal(shape)
    X = X.astype(dtype)
    reference = baseline if baseline is not None else (lambda a: K @ a)
    want = reference(X)  # compile, plan and warm the caches
    t_mem = _median_wall(lambda: reference(X), repeat)
    rows = []
    for nw in workers:
        with LocalCluster(n_workers=nw, threads_per_worker=threads, processes=True,
                          dashboard_address=None, memory_limit=0) as cluster, \
                Client(cluster) as client, _exchange(exchange):
            Xd = da.from_array(X, chunks=chunks).persist()
            wait(Xd)

            fresh = iter(range(1 << 30))

            def once(op=K, data=Xd):
                # new keys every run: a result of the same graph may still be held by
                # the cluster, and would be returned without running the product
                Xi = data.map_blocks(_same, name=f"bench-input-{next(fresh)}", dtype=data.dtype)
                Y = (op @ Xi).persist()
                wait(Y)
                return Y

            if warm is None:
                once()  # workers compile (or load cached) kernels, unpickle the operator
            else:
                small = da.from_array(X[:warm.shape[1]], chunks=warm.shape[1] // Xd.numblocks[0])
                once(warm, small.persist())
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                Y = once()
                times.append(time.perf_counter() - t0)
                if baseline is not None and len(times) == 1:
                    got = Y.compute()
                    err = float(np.linalg.norm(got - want) / np.linalg.norm(want))
                    del got
                del Y
            peaks = client.run(_peak_rss_mb)
        row = dict(case=label, exchange=exchange or "-", workers=nw, threads=threads,
                   shape="x".join(map(str, shape)),
                   chunks=str(chunks), dask_s=float(np.median(times)), in_memory_s=t_mem,
                   ratio=float(np.median(times)) / t_mem,
                   peak_worker_mb=max(peaks.values()))
        if baseline is not None:
            row["rel_err"] = f"{err:.1e}"
        rows.append(row)
    return rows


def run_streamed(label, K, n, parts, workers, threads, exchange):
    """``K @ x`` for a vector no process holds: tasks compute the input chunks and write
    the result's chunks to files, so each worker's memory is what the schedule itself
    needs. Reports the time of the whole pipeline (generate, apply, write), each worker's
    peak resident memory above its idle level after warm-up, in MB and in chunk sizes,
    and the relative error of the files against ``numpy.fft.fft`` of the same input."""
    import dask.array as da
    from distributed import Client, LocalCluster

    chunk = n // parts
    rows = []
    for nw in workers:
        with LocalCluster(n_workers=nw, threads_per_worker=threads, processes=True,
                          dashboard_address=None, memory_limit=0) as cluster, \
                Client(cluster) as client, tempfile.TemporaryDirectory() as tmp, \
                _exchange(exchange):
            small = min(n, 64 * parts)
            warm = da.map_blocks(_chunk_of_noise, small // parts, dtype=np.complex128,
                                 chunks=((small // parts,) * parts,))
            (km.dft(small, lazy=True) @ warm).compute()
            idle = client.run(_rss_mb)
            x = da.map_blocks(_chunk_of_noise, chunk, dtype=np.complex128,
                              chunks=((chunk,) * parts,))
            target = _NpyChunks(tmp)
            t0 = time.perf_counter()
            da.store(K @ x, target, lock=False)
            elapsed = time.perf_counter() - t0
            peaks = client.run(_peak_rss_mb)
            above = max(peaks[w] - idle[w] for w in peaks)
            got = target.load()
        want = np.fft.fft(np.concatenate([_chunk_of_noise(chunk, (i,)) for i in range(parts)]))
        err = float(np.linalg.norm(got - want) / np.linalg.norm(want))
        del got, want
        rows.append(dict(case=label, exchange=exchange, workers=nw, threads=threads, shape=str(n),
                         chunks=str(chunk), pipeline_s=elapsed,
                         above_idle_mb=above, chunk_sizes=above * 2**20 / (16 * chunk),
                         rel_err=f"{err:.1e}"))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="small sizes: (a) 1024 x 2^12 in chunks of 2^9, (b), (c) N = 2^16 "
                    "in 16 chunks")
    ap.add_argument("--n", type=int, default=4096, help="(a) rows N")
    ap.add_argument("--cols", type=int, default=1 << 16, help="(a) columns k")
    ap.add_argument("--col-chunk", type=int, default=1 << 12, help="(a) columns per chunk")
    ap.add_argument("--dft-n", type=int, default=1 << 26, help="(b) vector size N (DFT)")
    ap.add_argument("--vector-n", type=int, default=1 << 22,
                    help="(c) vector size N (stored operator)")
    ap.add_argument("--vector-chunks", type=int, default=64,
                    help="(b), (c) number of row chunks")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker processes")
    ap.add_argument("--threads", type=int, default=1, help="threads per worker")
    ap.add_argument("--dtype", default="float32", help="(a), (c) data and operator dtype")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs (median)")
    ap.add_argument("--exchange", choices=["rechunk", "disk"], nargs="+",
                    default=["rechunk", "disk"], help="exchanges of (b), (c), (s): Dask's "
                    "rechunk and/or files (each runs the cases once)")
    ap.add_argument("--rechunk", choices=["tasks", "p2p"], default=None,
                    help="Dask's method for the exchanges of (b) (default: Dask's configuration)")
    ap.add_argument("--skip", choices=["a", "b", "c", "s"], nargs="*", default=[],
                    help="cases to skip")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.cols, args.col_chunk = 1024, 1 << 12, 1 << 9
        args.dft_n = args.vector_n = 1 << 16
        args.vector_chunks = 16
    dtype = np.dtype(args.dtype)
    import logging

    import dask

    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)  # one line per exchange
    if args.rechunk:
        dask.config.set({"array.rechunk.method": args.rechunk})
    rows = []
    if "a" not in args.skip:
        K = km.random(args.n, width=1, dtype=dtype, rng=0)
        rows += run_case("(a) columns", K, (args.n, args.cols), (args.n, args.col_chunk),
                         args.workers, args.threads, args.repeat, dtype)
    for method in args.exchange if "b" not in args.skip else ():
        n, parts = args.dft_n, args.vector_chunks
        rows += run_case("(b) vector, dft", km.dft(n, lazy=True), (n,), n // parts,
                         args.workers, args.threads, args.repeat, np.dtype(np.complex128),
                         baseline=np.fft.fft, warm=km.dft(min(n, 64 * parts), lazy=True),
                         exchange=method)
    for method in args.exchange if "c" not in args.skip else ():
        K = km.random(args.vector_n, width=1, dtype=dtype, rng=0)
        rows += run_case("(c) vector, random", K, (args.vector_n,),
                         args.vector_n // args.vector_chunks, args.workers, args.threads,
                         args.repeat, dtype, exchange=method)
    streamed = []
    for method in args.exchange if "s" not in args.skip else ():
        n, parts = args.dft_n, args.vector_chunks
        streamed += run_streamed("(s) streamed dft", km.dft(n, lazy=True), n, parts,
                                 args.workers, args.threads, method)
    print(machine())
    for r in rows:
        r.setdefault("rel_err", "")
    if rows:
        print(table(rows, ["case", "exchange", "workers", "threads", "shape", "chunks", "dask_s",
                           "in_memory_s", "ratio", "peak_worker_mb", "rel_err"]))
    if streamed:
        print(table(streamed, ["case", "exchange", "workers", "threads", "shape", "chunks", "pipeline_s",
                               "above_idle_mb", "chunk_sizes", "rel_err"]))
    return rows + streamed


if __name__ == "__main__":
    main()

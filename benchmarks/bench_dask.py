"""Dask scaling benchmark: ``K @ X`` on a ``distributed.LocalCluster`` of processes.

Two cases, each on clusters of 1 and 2 worker processes (``--workers``):

(a) many columns: ``N x k`` data in chunks of whole columns (one task per chunk);
(b) one long vector of size ``N`` in row chunks (the four-step schedule).

For each it prints the median wall time of ``(K @ X).persist()`` (data already in
worker memory, result left there), the ratio to the in-memory ``K @ X`` of the same
data in this process (NumPy input, kmatrix's own threads: < 1 means the cluster is
faster) and the peak resident memory of each worker process.

Run: ``python benchmarks/bench_dask.py --quick`` (seconds). The defaults are the full
sizes -- (a) 4096 x 2^16 in chunks of 2^12 columns, (b) N = 2^26 in 64 chunks -- and
need a quiet machine: the operator of (b) alone holds ``4 w N log2(N)`` twiddle entries
(float32: 28 GB at width 1).
"""

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import machine, table  # noqa: E402

import kmatrix as km  # noqa: E402


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _same(block):
    return block


def _median_wall(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def run_case(label, K, shape, chunks, workers, threads, repeat, dtype):
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    rng = np.random.default_rng(0)
    X = rng.standard_normal(shape).astype(dtype)
    K @ X  # compile, plan and warm the caches
    t_mem = _median_wall(lambda: K @ X, repeat)
    rows = []
    for nw in workers:
        with LocalCluster(n_workers=nw, threads_per_worker=threads, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            Xd = da.from_array(X, chunks=chunks).persist()
            wait(Xd)

            fresh = iter(range(1 << 30))

            def once():
                # new keys every run: a result of the same graph may still be held by
                # the cluster, and would be returned without running the product
                Xi = Xd.map_blocks(_same, name=f"bench-input-{next(fresh)}", dtype=Xd.dtype)
                Y = (K @ Xi).persist()
                wait(Y)
                del Y

            once()  # workers compile (or load cached) kernels and unpickle the operator
            t = _median_wall(once, repeat)
            peaks = client.run(_peak_rss_mb)
        rows.append(dict(
            case=label, workers=nw, threads=threads, shape="x".join(map(str, shape)),
            chunks=str(chunks), dask_s=t, in_memory_s=t_mem, ratio=t / t_mem,
            peak_worker_mb=max(peaks.values()),
        ))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="small sizes: (a) 1024 x 2^12 in chunks of 2^9, (b) N = 2^16 in 16 chunks")
    ap.add_argument("--n", type=int, default=4096, help="(a) rows N")
    ap.add_argument("--cols", type=int, default=1 << 16, help="(a) columns k")
    ap.add_argument("--col-chunk", type=int, default=1 << 12, help="(a) columns per chunk")
    ap.add_argument("--vector-n", type=int, default=1 << 26, help="(b) vector size N")
    ap.add_argument("--vector-chunks", type=int, default=64, help="(b) number of row chunks")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker processes")
    ap.add_argument("--threads", type=int, default=1, help="threads per worker")
    ap.add_argument("--dtype", default="float32", help="data and operator dtype")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs (median)")
    ap.add_argument("--rechunk", choices=["tasks", "p2p"], default=None,
                    help="Dask's method for the exchanges of (b) (default: Dask's configuration)")
    ap.add_argument("--skip", choices=["a", "b"], nargs="*", default=[], help="cases to skip")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.cols, args.col_chunk = 1024, 1 << 12, 1 << 9
        args.vector_n, args.vector_chunks = 1 << 16, 16
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
    if "b" not in args.skip:
        K = km.random(args.vector_n, width=1, dtype=dtype, rng=0)
        rows += run_case("(b) vector", K, (args.vector_n,), args.vector_n // args.vector_chunks,
                         args.workers, args.threads, args.repeat, dtype)
    print(machine())
    print(table(rows, ["case", "workers", "threads", "shape", "chunks", "dask_s", "in_memory_s",
                       "ratio", "peak_worker_mb"]))
    return rows


if __name__ == "__main__":
    main()

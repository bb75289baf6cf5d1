"""The worker threads shared by every apply: one pool, and a way to run one job on all of it.

The kernels release the GIL, so Python threads give real parallelism. Two ways to split
a batched apply use them: column blocks, each thread with its own arrays and no
synchronization (:func:`get_pool`), and one array whose phases are shared out by rows,
with every thread waiting for the others between phases (:func:`run_parts`).
"""

__all__ = ["n_threads", "get_pool", "run_parts"]

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_pool = None
_pool_lock = threading.Lock()
# One row-parallel job at a time: its parts wait for each other at barriers, so two jobs
# queued behind each other's parts on a small pool could wait forever.
_parts_lock = threading.Lock()


def n_threads():
    """Number of worker threads used for large batches (the usable cores).

    ``KMATRIX_NUM_THREADS`` overrides it.
    """
    env = os.environ.get("KMATRIX_NUM_THREADS")
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def get_pool():
    """The process-wide pool of :func:`n_threads` workers (created on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=n_threads(), thread_name_prefix="kmatrix")
        return _pool


def run_parts(job, nparts):
    """Run ``job(part, sync)`` for ``part`` in ``range(nparts)`` at once; False if busy.

    ``sync()`` returns when every part has reached it. Part 0 runs on the calling
    thread. Returns False, having run nothing, when another row-parallel job holds the
    pool (the caller then runs serially instead of waiting). An exception in any part
    breaks the others' waits and is raised here.
    """
    if not _parts_lock.acquire(blocking=False):
        return False
    try:
        barrier = threading.Barrier(nparts)

        def guarded(part):
            try:
                job(part, barrier.wait)
            except BaseException:
                barrier.abort()
                raise

        futures = [get_pool().submit(guarded, p) for p in range(1, nparts)]
        errors = []
        try:
            guarded(0)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the join
            errors.append(exc)
        for f in futures:
            try:
                f.result()
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
        first = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
        if first or errors:
            raise (first or errors)[0]
        return True
    finally:
        _parts_lock.release()

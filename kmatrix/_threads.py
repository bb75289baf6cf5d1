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
_pool_workers = 0
_pool_lock = threading.Lock()
# One row-parallel job at a time: its parts wait for each other, so two jobs whose parts
# queue behind each other's on a small pool could wait forever.
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
    """The process-wide pool of :func:`n_threads` workers.

    Created on first use, and again when :func:`n_threads` has changed since: a
    row-parallel job needs all its parts running at once.
    """
    global _pool, _pool_workers
    with _pool_lock:
        nt = n_threads()
        if _pool is None or _pool_workers != nt:
            # the old pool is dropped, not shut down: a thread may be submitting to it;
            # its idle workers exit once it is garbage
            _pool = ThreadPoolExecutor(max_workers=nt, thread_name_prefix="kmatrix")
            _pool_workers = nt
        return _pool


def run_parts(job, nparts, release):
    """Run ``job(part)`` for ``part`` in ``range(nparts)`` at once; False if busy.

    The parts may wait for each other (in the kernels); if one fails, ``release()``
    must end every such wait. Part 0 runs on the calling thread. Returns False, having
    run nothing, when another such job holds the pool or the pool has fewer than
    ``nparts - 1`` workers (the caller then runs serially instead of waiting). The first
    exception of any part is raised here.
    """
    if not _parts_lock.acquire(blocking=False):
        return False
    try:
        pool = get_pool()
        if nparts - 1 > _pool_workers:  # the thread count fell since nparts was chosen
            return False

        def guarded(part):
            try:
                job(part)
            except BaseException:
                release()
                raise

        futures = [pool.submit(guarded, p) for p in range(1, nparts)]
        error = None
        try:
            guarded(0)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the join
            error = exc
        for f in futures:
            try:
                f.result()
            except BaseException as exc:  # noqa: BLE001
                error = error or exc
        if error is not None:
            raise error
        return True
    finally:
        _parts_lock.release()

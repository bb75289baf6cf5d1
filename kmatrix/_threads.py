"""Worker threads: how many an apply uses, the pool they come from, and how they share work.

The kernels release the GIL, so Python threads give real parallelism. An apply runs on
the calling thread and up to ``workers - 1`` pool threads (never more threads than usable
cores). They share its work in units taken one at a time from shared counters
(:mod:`kmatrix.kernels.sync`), each thread its own contiguous range first (its rows stay
in its core's cache), then what the others left: the calling thread returns once every
unit is done,
whichever threads did them, so a pool thread that the operating system starts late (busy
cores) costs nothing -- the others do its share -- and there is nothing to deadlock on
when several applies queue on the pool at once.

The default (no ``workers=``, :func:`set_workers` or ``KMATRIX_NUM_THREADS``) also leaves
out the cores that other work keeps busy. Threads that share cores with a busy process
get a fraction of each, and every stage of an apply ends when its slowest thread does:
with one busy process on two cores, two threads ran at best as fast as one (measured
4096 x 256 BB*: 0.7-1.0x), so the default then uses one.
"""

from __future__ import annotations

__all__ = ["ENV", "usable_cores", "get_workers", "set_workers", "threads_for", "get_pool",
           "counters", "share", "run_shared"]

import contextlib
import importlib
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._checks import check_workers

# The environment variable that sets the default number of workers.
ENV = "KMATRIX_NUM_THREADS"

_pool = None
_pool_size = 0
_pool_lock = threading.Lock()
# set_workers values, per thread (as scipy.fft's)
_config = threading.local()
# Runnable threads of other processes are sampled at most this often (reading /proc
# took 10-70 us), and the smaller of the last two samples is used: a busy process shows
# in both, a passing wake-up rarely does.
_LOAD_TTL_S = 0.1
_load = (float("-inf"), 0, 0)  # (time, busy threads in the last two samples)


def usable_cores():
    """The number of cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - no sched_getaffinity (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def _env_workers():
    # KMATRIX_NUM_THREADS as a positive int, None when unset or empty; read at each use
    env = os.environ.get(ENV)
    if env is None or not env.strip():
        return None
    try:
        value = int(env)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"environment variable {ENV} must be a positive integer; got {env!r}")
    return value


def get_workers() -> int:
    """The default number of worker threads of an apply, in the current thread.

    Returns
    -------
    int
        The value of the innermost :func:`set_workers` block active in this thread;
        outside any, the environment variable ``KMATRIX_NUM_THREADS`` (a positive
        integer), and without it the number of usable cores. An apply uses at most the
        usable cores, whatever this says; with none of the three set, it also leaves
        out the cores that other processes keep busy (two threads sharing cores with a
        busy process are no faster than one).

    Raises
    ------
    ValueError
        If ``KMATRIX_NUM_THREADS`` is set to anything but a positive integer.

    See Also
    --------
    set_workers, scipy.fft.get_workers

    Examples
    --------
    >>> import kmatrix as km
    >>> with km.set_workers(1):
    ...     km.get_workers()
    1
    """
    workers = getattr(_config, "workers", None)
    if workers is not None:
        return workers
    env = _env_workers()
    return usable_cores() if env is None else env


@contextlib.contextmanager
def set_workers(workers: int | None) -> Iterator[None]:
    """Context manager: the default number of worker threads of applies in this block.

    Applies of a :class:`~kmatrix.KMatrix` (``K @ X``, ``K.matmat(X)``, ...) and
    :func:`~kmatrix.vjp` called without ``workers=`` in this thread use ``workers``
    threads inside the block; the previous default is restored on exit, also on an
    exception. Blocks nest. Other threads are not affected (as with
    :func:`scipy.fft.set_workers`).

    Parameters
    ----------
    workers : int or None
        Number of threads: ``n >= 1``, or ``-k`` for ``usable cores + 1 - k`` (``-1``:
        all usable cores). Values above the usable cores are accepted and use all of
        them. ``None``: the default outside any block (``KMATRIX_NUM_THREADS`` or the
        usable cores).

    Raises
    ------
    TypeError
        If ``workers`` is not an integer or None.
    ValueError
        If ``workers`` is 0 or below minus the number of usable cores.

    See Also
    --------
    get_workers, scipy.fft.set_workers

    Notes
    -----
    Only batches of 2 MiB or more run on several threads; smaller ones, single vectors
    and operators of internal size <= 64 (a dense product) run on the calling thread.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> K = km.random(1024, rng=0)
    >>> X = np.ones((1024, 256))
    >>> with km.set_workers(1):
    ...     Y = K @ X                       # one thread
    ...     with km.set_workers(-1):
    ...         Z = K @ X                   # all usable cores
    >>> np.array_equal(Y, Z)
    True
    """
    new = None if workers is None else check_workers(workers, usable_cores())
    old = getattr(_config, "workers", None)
    _config.workers = new
    try:
        yield
    finally:
        _config.workers = old


def _running_threads():
    """``(machine, ours)``: threads running or runnable on the machine, and in this process.

    Our own (the calling thread, pool threads of the previous apply still returning to
    their queue) are not a load to leave cores for: in a loop of applies, a pool thread
    was still runnable at most samples. ``(1, 1)`` where unknown (not Linux).
    """
    try:
        with open("/proc/loadavg", "rb") as f:
            machine = int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):  # not Linux
        return 1, 1
    ours = 0
    try:
        with os.scandir("/proc/self/task") as tasks:
            for task in tasks:
                try:
                    with open(f"/proc/self/task/{task.name}/stat", "rb") as f:
                        stat = f.read()
                except OSError:  # the thread has just ended
                    continue
                # the state follows the parenthesized name, which may hold spaces
                ours += stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] == b"R"
    except (OSError, ValueError):
        ours = 1
    return machine, max(1, ours)


def _busy_elsewhere():
    # threads of other processes running or runnable, machine-wide (0 if unknown)
    global _load
    now = time.monotonic()
    t, last, prev = _load
    if now - t < _LOAD_TTL_S:
        return min(last, prev)
    machine, ours = _running_threads()
    busy = max(0, machine - ours)
    _load = (now, busy, last)
    return min(busy, last)


def threads_for(workers=None):
    """Threads to use for ``workers`` (None: :func:`get_workers`): at most the usable cores.

    With nothing set (no ``workers``, :func:`set_workers` or ``KMATRIX_NUM_THREADS``),
    also at most the cores that no other thread keeps busy, and at least one.
    """
    cores = usable_cores()
    if workers is not None:
        return min(check_workers(workers, cores), cores)
    if getattr(_config, "workers", None) is not None or _env_workers() is not None:
        return min(get_workers(), cores)
    idle = (os.cpu_count() or cores) - _busy_elsewhere()
    return max(1, min(cores, idle))


def get_pool():
    """The process-wide pool: one thread per usable core (created on first use)."""
    global _pool, _pool_size
    with _pool_lock:
        cores = usable_cores()
        if _pool is None or _pool_size < cores:
            # a pool too small for the cores is dropped, not shut down: a thread may be
            # submitting to it; its idle threads exit once it is garbage
            _pool = ThreadPoolExecutor(max_workers=cores, thread_name_prefix="kmatrix")
            _pool_size = cores
        return _pool


def _sync():
    # kmatrix.kernels.sync, imported on first use (Numba is not loaded by `import kmatrix`)
    return importlib.import_module(".kernels.sync", __package__)


def counters(nstages, nparts):
    """Zeroed int64 counters for ``nstages`` stages shared by ``nparts`` threads; stage
    ``i`` starts at entry ``i * stride`` with ``stride`` the second value returned."""
    stride = _sync().stage_counters(nparts)
    return np.zeros(nstages * stride, np.int64), stride


def share(counter, base, nunits, do, part, nparts):
    """Do ``do(u)`` for the units ``u`` of one stage with the other threads of a job.

    ``part`` is this thread's number among the ``nparts`` sharing the stage, whose
    counters start at ``counter[base]`` (:func:`counters`): this thread does the units
    of its own contiguous range first, then helps with the others'. Returns once all
    ``nunits`` are done, by whichever threads.
    """
    sync = _sync()
    while True:
        u = sync.take_unit(counter, base, part, nparts, nunits)
        if u >= nunits:
            break
        do(u)
        sync.finish_unit(counter, base, nparts)
    sync.wait_units(counter, base, nparts, nunits)


def run_shared(job, nparts, counters):
    """Run ``job(part)`` on the calling thread (``part = 0``) and on ``nparts - 1`` pool
    threads (``part = 1 .. nparts - 1``).

    ``job`` must do all its work in units shared through the int64 arrays ``counters``
    (:func:`share`, the kernels' ``sync``), so that the calling thread's call returns
    only once all the work is done: pool threads that have not started by then are
    cancelled, and those that start anyway find nothing left to do. If any call fails,
    every counter is released (no wait outlasts it, no unit is left to take), the pool
    threads still running are waited for, and the first exception is raised here.
    """
    errors = []

    def part(p):
        try:
            job(p)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the calling thread
            errors.append(exc)  # before the release, so the caller sees it once released
            release = _sync().release_all
            for c in counters:
                release(c)

    pool = get_pool()
    futures = [pool.submit(part, p) for p in range(1, nparts)]
    part(0)
    for f in futures:
        f.cancel()
    if errors:
        for f in futures:
            if not f.cancelled():
                f.result()  # part() never raises: this only waits
        raise errors[0]

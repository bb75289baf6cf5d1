"""Timing helpers shared by the benchmark scripts: medians after warm-up, machine name."""

import os
import platform
import time

import numpy as np

__all__ = ["median_time", "paired_median_times", "machine", "table"]


# OpenBLAS (and OpenMP peers) keep their worker threads spinning for a while after each
# call; timed right after a dense matmul, kmatrix's own threads ran 1.7-2x slower
# (measured: 4096 x 256 BB* 8.0-9.3 ms right after, 4.7 ms after a 0.3 s pause).
SETTLE_S = 0.3


# Calls are timed in batches of at least this long (timer resolution and overhead are
# then negligible), and medians are taken over batches, not over whole windows, so that
# a burst of load on the shared host costs a few batches and not the median.
BATCH_S = 5e-4


def _batch_calls(fn):
    # calls per timed batch
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    return max(1, int(BATCH_S / one)), one


# Untimed calls after a pause. Measured (4096 x 256 BB*, windows after a dense matmul and
# the 0.3 s pause, medians of 6 windows, two trials): no re-warm 3.1 and 5.2 ms, 20 ms
# of re-warm 2.8 and 3.5 ms, 100 ms 2.75 and 3.1 ms, continuous calls 2.7 and 2.9 ms.
REWARM_S = 0.1


def _rewarm(fn, seconds=REWARM_S):
    # untimed calls after a pause: the first calls after the cores went idle ran up to
    # 1.5x slower here (host wake-up of the idle virtual CPUs), in every window alike
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()


def _window(fn, batch, seconds, out):
    # timed batches for about `seconds` (at least one), appended to out as s per call
    t_end = time.perf_counter() + seconds
    while True:
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        t1 = time.perf_counter()
        out.append((t1 - t0) / batch)
        if t1 >= t_end:
            return


def median_time(fn, repeat=7, min_time=0.05, warmup=1, settle=SETTLE_S):
    """Median seconds per call of ``fn()``: over timed batches of >= 0.5 ms for about
    ``min_time`` seconds, and at least ``repeat`` batches.

    Sleeps ``settle`` seconds first, so that threads left spinning by the previous
    measurement (another library's) do not share the cores with this one.
    """
    time.sleep(settle)
    for _ in range(warmup):
        fn()
    _rewarm(fn)
    batch, one = _batch_calls(fn)
    samples = []
    _window(fn, batch, max(min_time, repeat * batch * one), samples)
    return float(np.median(samples))


def paired_median_times(fa, fb, repeat=15, min_time=0.1, settle=SETTLE_S, spins=False):
    """Median seconds per call of ``fa()`` and of ``fb()``, measured in alternate windows.

    For ratios: on a shared host the load changes within seconds, so windows of the
    two sides taken in turn (``repeat`` each, about ``min_time`` seconds in all per
    side, each holding timed batches as in :func:`median_time`) see the same conditions,
    where two back-to-back ``median_time`` calls may not. ``spins``: ``fb`` leaves
    threads spinning after it returns (a multithreaded BLAS or OpenMP peer), so each
    ``fa`` window waits ``settle`` seconds first (then re-warms for ``REWARM_S``); otherwise
    that pause is taken once, before the warm-up.
    """
    time.sleep(settle)
    fa()
    fb()
    (ba, _), (bb, _) = _batch_calls(fa), _batch_calls(fb)
    sa, sb = [], []
    for _ in range(repeat):
        if spins:
            time.sleep(settle)
            _rewarm(fa)
        _window(fa, ba, min_time / repeat, sa)
        _window(fb, bb, min_time / repeat, sb)
    return float(np.median(sa)), float(np.median(sb))


def machine():
    """A short description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        ncores = len(os.sched_getaffinity(0))
    except AttributeError:
        ncores = os.cpu_count()
    return f"{cpu}, {ncores} cores, numpy {np.__version__}"


def table(rows, columns):
    """Format a list of dicts as a fixed-width text table."""
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)

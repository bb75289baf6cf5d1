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


def _inner_calls(fn, min_time, repeat):
    # calls per sample so that each sample lasts about min_time / repeat
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    return max(1, int(min_time / repeat / one))


def median_time(fn, repeat=7, min_time=0.05, warmup=1, settle=SETTLE_S):
    """Median seconds per call of ``fn()`` (calls batched so each sample lasts >= min_time/repeat).

    Sleeps ``settle`` seconds first, so that threads left spinning by the previous
    measurement (another library's) do not share the cores with this one.
    """
    time.sleep(settle)
    for _ in range(warmup):
        fn()
    inner = _inner_calls(fn, min_time, repeat)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return float(np.median(samples))


def paired_median_times(fa, fb, repeat=15, min_time=0.1, settle=SETTLE_S):
    """Median seconds per call of ``fa()`` and of ``fb()``, sampled alternately.

    For ratios: on a shared host the load changes within seconds, so samples of the
    two sides taken in turn see the same conditions, where two back-to-back
    ``median_time`` calls may not. Only for sides that leave no threads spinning
    (single-threaded baselines): the ``settle`` pause is taken once, before the warm-up.
    """
    time.sleep(settle)
    fa()
    fb()
    na = _inner_calls(fa, min_time, repeat)
    nb = _inner_calls(fb, min_time, repeat)
    sa, sb = [], []
    for _ in range(repeat):
        for fn, n, out in ((fa, na, sa), (fb, nb, sb)):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            out.append((time.perf_counter() - t0) / n)
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

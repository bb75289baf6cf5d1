"""Default threads against one thread, on idle cores and next to a busy process.

Run: ``python benchmarks/bench_workers.py [--quick]``. A float64 4096 x 256 BB* apply
(``km.random(4096, width=1) @ X``) is timed with the default workers and with
``workers=1`` in alternate windows (:func:`_timing.paired_median_times`), first alone,
then with a busy-loop process started next to it -- free to run on any core, and pinned
to one of this process's cores -- which is killed afterwards. Ratios are one-thread time
over default time (> 1: the default is faster). With the busy process also the explicit
``workers=-1`` (all usable cores, no allowance for the load) is measured: how gracefully
the threaded path itself degrades. Also row 7 of ``benchmarks/run.py``.
"""

import argparse
import contextlib
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import machine, paired_median_times, table  # noqa: E402

import kmatrix as km  # noqa: E402

# Goals: idle cores keep most of the threads' speed-up (two threads gave 1.5x on two
# cores); next to a busy process the default is no slower than one thread (0.95: timer
# noise allowance); explicit threads on busy cores within 1.5x of one thread's time
# (a spinning barrier took 3x-100x).
IDLE_GOAL, BUSY_GOAL, FORCED_GOAL = 1.2, 0.95, 0.67


@contextlib.contextmanager
def busy_process(pin=False):
    """A process that keeps one core busy (pinned to one of ours if ``pin``) while inside."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        if pin and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(proc.pid, {min(os.sched_getaffinity(0))})
        time.sleep(0.3)  # running, and seen by the default's load check (two samples)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _case(name, fa, fb, goal, quick):
    load = os.getloadavg()[0]
    t_a, t_one = paired_median_times(fa, fb, repeat=15, min_time=0.5 if quick else 1.5)
    ratio = t_one / t_a
    return dict(target=name, kmatrix_ms=t_a * 1e3, baseline="workers=1", baseline_ms=t_one * 1e3,
                ratio=ratio, goal=f">= {goal}x faster", passed="PASS" if ratio >= goal else "FAIL",
                note=f"load average {load:.1f} before")


def bench_workers(rows, quick=False):
    """Append the rows: default vs one thread idle and busy, explicit threads busy."""
    if os.environ.get("KMATRIX_NUM_THREADS") or km.get_workers() < 2:
        rows.append(dict(target="7. default workers vs 1", passed="SKIP",
                         note="one usable core, or KMATRIX_NUM_THREADS set"))
        return
    K = km.random(4096, width=1, rng=1)
    X = np.random.default_rng(0).standard_normal((4096, 256))

    def default():
        return K @ X

    def one():
        return K.matmat(X, workers=1)

    def every_core():
        return K.matmat(X, workers=-1)

    rows.append(_case("7. default vs 1 worker, no busy process", default, one, IDLE_GOAL, quick))
    for pin in (False, True):
        where = "pinned to a core of ours" if pin else "unpinned"
        with busy_process(pin):
            rows.append(_case(f"7. default vs 1 worker, busy process {where}", default, one,
                              BUSY_GOAL, quick))
            rows.append(_case(f"7. workers=-1 vs 1 worker, busy process {where}", every_core,
                              one, FORCED_GOAL, quick))


COLUMNS = ["target", "kmatrix_ms", "baseline", "baseline_ms", "ratio", "goal", "passed", "note"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter measurements")
    args = ap.parse_args(argv)
    rows = []
    bench_workers(rows, args.quick)
    print(f"machine: {machine()}")
    print(table(rows, COLUMNS))
    return rows


if __name__ == "__main__":
    main()

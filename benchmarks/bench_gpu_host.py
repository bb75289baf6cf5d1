"""Host time of one small GPU apply: the Python work around the kernel launches.

At N = 1024 with one vector a kernel runs for a few microseconds, so ``K @ x`` on the
GPU costs what the host spends per call: argument checks, stream and array-type
handling, the result allocation and the launches.  This script measures that host
time per call (best of several batches of calls, microseconds)::

    python benchmarks/bench_gpu_host.py [--out results/bench_gpu_host.json]

Two modes, both reported where they can run:

* ``stubbed``: every kernel launch is replaced by a recorder (nothing runs); the figure
  is the library's own Python path up to the launches.  This runs anywhere, also under
  the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), where the result allocation is a
  NumPy allocation: a host-path-only figure, not a GPU figure.
* ``launched`` (a real GPU only): the kernels run; calls are issued back to back and
  the device is synchronized once after each batch, so the figure is the host time per
  call including numba's launch marshalling and the allocation of the result, as long
  as the GPU keeps up (it does at this size).

Rows: ``apply_device`` on a Numba device array, ``K @ x`` (through the operator),
``apply_internal`` on a kept buffer, and ``vjp_device``; float32 and complex64.
The goal on a GPU: ``K @ x`` within 40 microseconds.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import table  # noqa: E402

import kmatrix as km  # noqa: E402
import kmatrix.cuda as kc  # noqa: E402
from kmatrix.backends.cuda import device  # noqa: E402

COLUMNS = ["mode", "what", "dtype", "N", "batch", "launches", "host_us"]
GOAL_US = 40.0


def _best_per_call(fn, calls, repeat, sync):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best * 1e6


class _Recorder:
    """Stands in for a configured kernel: counts launches, runs nothing."""

    def __init__(self):
        self.launches = 0

    def __call__(self, *args):
        self.launches += 1


def _stub_launches():
    recorder = _Recorder()
    original = device.configured
    device.configured = lambda kernel, grid, block, stream, shared: recorder
    return recorder, original


def measure(mode, n, calls, repeat):
    from numba import cuda

    rows = []
    sync = cuda.synchronize if mode == "launched" else (lambda: None)
    for dtype in (np.float32, np.complex64):
        K = km.random(n, width=1, dtype=dtype, rng=0)
        x = cuda.to_device(np.ones(n, dtype))
        w = cuda.to_device(np.ones(n, dtype))
        g = cuda.to_device(np.ones(n, dtype))
        cases = [
            ("apply_device(K, x)", lambda: kc.apply_device(K, x)),
            ("K @ x", lambda: K @ x),
            ("apply_internal(K, w)", lambda: kc.apply_internal(K, w)),
            ("vjp_device(K, x, g)", lambda: kc.vjp_device(K, x, g)),
        ]
        for what, fn in cases:
            fn()  # plan, twiddle copy and (launched) compilation outside the timing
            sync()
            recorder = original = None
            if mode == "stubbed":
                recorder, original = _stub_launches()
            try:
                us = _best_per_call(fn, calls, repeat, sync)
                launches = None
                if recorder is not None:
                    recorder.launches = 0
                    fn()
                    launches = recorder.launches
            finally:
                if original is not None:
                    device.configured = original
            rows.append(dict(mode=mode, what=what, dtype=np.dtype(dtype).name, N=n, batch=1,
                             launches=launches, host_us=round(us, 2)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the rows as JSON here")
    parser.add_argument("--n", type=int, default=1024, help="operator size (default 1024)")
    parser.add_argument("--calls", type=int, default=2000, help="calls per timed batch")
    parser.add_argument("--repeat", type=int, default=5, help="timed batches (best kept)")
    args = parser.parse_args(argv)
    if not kc.is_available():
        print("CUDA is not available (no GPU, and NUMBA_ENABLE_CUDASIM is not set)")
        return 2
    simulated = device.simulating()
    modes = ["stubbed"] if simulated else ["stubbed", "launched"]
    rows = []
    for mode in modes:
        rows += measure(mode, args.n, args.calls, args.repeat)
    where = "CUDA simulator: host path only, not a GPU figure" if simulated else "GPU"
    print(f"Host time per call, microseconds ({where}); goal for K @ x on a GPU: "
          f"<= {GOAL_US:g} us")
    print(table(rows, COLUMNS))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(dict(simulated=simulated, goal_us=GOAL_US, rows=rows), fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

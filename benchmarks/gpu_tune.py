"""Tune the GPU planner's tile geometry on a real GPU: parity and time of every setting.

The pass kernel takes its geometry from the planner (:func:`kmatrix.backends.cuda.plan.plan_passes`),
which reads three module constants: ``TILE_BYTES`` (shared-memory tile), ``LANE_BYTES``
(shortest contiguous row a tile loads) and ``MAX_THREADS`` (block size cap).  They change
no compiled code, so one process can time every combination::

    python benchmarks/gpu_tune.py [--out gpu_tune.json] [--budget SECONDS]

For each case (operator, dtype, N, batch) the result of every setting is checked against
the default setting's result, itself checked against the CPU ``K @ x`` (``16 * factors *
eps`` relative to the largest entry), then timed in place (:func:`kmatrix.cuda.apply_internal`,
medians of synchronized calls).  The setting with the smallest geometric mean time over
the cases is reported (settings that fail to launch or disagree are out), then
``bench_gpu.py``'s timing table is measured with it.  The host-side cost of one small
call (what a batch of one pays) is measured too.  ``--smoke`` runs tiny sizes (for the
CUDA simulator); its numbers mean nothing.
"""

import argparse
import itertools
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gpu import _median_gpu, _rel_err, _sample, timing_report  # noqa: E402

import kmatrix as km  # noqa: E402
import kmatrix.cuda as kc  # noqa: E402
from kmatrix.backends.cuda import plan as kern  # noqa: E402

CASES = [
    ("bbstar", np.complex64, 4096, 4096),
    ("bbstar", np.float32, 4096, 4096),
    ("dft", np.complex64, 4096, 4096),
    ("bbstar", np.complex64, 1024, 4096),
    ("bbstar", np.complex64, 16384, 256),
    ("bbstar", np.float32, 65536, 256),
    ("bbstar", np.complex128, 4096, 1024),
    ("bbstar", np.complex64, 4096, 1),
]
SMOKE_CASES = [("bbstar", np.complex64, 16, 8), ("dft", np.complex64, 32, 2),
               ("bbstar", np.float32, 64, 1)]
GRID = dict(TILE_BYTES=(8192, 16384, 32768), LANE_BYTES=(32, 64, 128, 256, 512),
            MAX_THREADS=(128, 256, 512, 1024))
SMOKE_GRID = dict(TILE_BYTES=(128, 256), LANE_BYTES=(8, 32), MAX_THREADS=(8, 32))
NAMES = tuple(GRID)


def _settings(grid):
    return [dict(zip(NAMES, v)) for v in itertools.product(*(grid[n] for n in NAMES))]


def _set(setting):
    for name, value in setting.items():
        setattr(kern, name, value)


def _operator(kind, dtype, n, rng):
    if kind == "dft":
        return km.dft(n).astype(dtype)
    return km.random(n, width=1, dtype=dtype, rng=rng)


def _prepare(cases, cuda, default):
    """Per case: operator, device input, the default setting's result (checked on the CPU)."""
    rng = np.random.default_rng(0)
    prepared = []
    for kind, dtype, n, b in cases:
        K = _operator(kind, dtype, n, rng)
        x = _sample(rng, (n, b), dtype)
        _set(default)
        work = cuda.to_device(x)
        ref = kc.apply_internal(K, work).copy_to_host()
        nfac = K.twiddle.shape[0] * K.twiddle.shape[1]
        tol = 16 * nfac * float(np.finfo(dtype).eps)
        err = _rel_err(ref, K @ x)
        name = f"{kind} {np.dtype(dtype).name} {n}x{b}"
        print(f"{name}: default GPU vs CPU rel_err {err:.2e} (tol {tol:.1e})", flush=True)
        prepared.append(dict(name=name, K=K, x=cuda.to_device(x), ref=ref, tol=tol,
                             cpu_err=err, cpu_ok=err <= tol))
    return prepared


def sweep(prepared, settings, cuda, deadline):
    rows = []
    for setting in settings:
        if time.perf_counter() > deadline:
            print("sweep stopped: time budget", flush=True)
            break
        _set(setting)
        row = dict(setting)
        for case in prepared:
            work = cuda.device_array_like(case["x"])
            try:
                work.copy_to_device(case["x"])
                y = kc.apply_internal(case["K"], work).copy_to_host()
                err = _rel_err(y, case["ref"])
                if not err <= case["tol"]:
                    row[case["name"]] = f"parity {err:.1e}"
                    continue
                row[case["name"]] = 1e3 * _median_gpu(
                    lambda: kc.apply_internal(case["K"], work), cuda.synchronize,
                    max_reps=10, target_s=0.05)
            except Exception as exc:  # a launch the card refuses (too many resources)
                row[case["name"]] = f"error {type(exc).__name__}"
            finally:
                del work
        times = [row[c["name"]] for c in prepared]
        if all(isinstance(t, float) for t in times):
            row["geomean_ms"] = math.exp(sum(math.log(t) for t in times) / len(times))
        print(row, flush=True)
        rows.append(row)
    return rows


def host_cost(cuda, n=1024, reps=300):
    """Microseconds of host time per small call: planning, and a whole in-place call."""
    K = km.random(n, width=1, dtype=np.complex64, rng=0)
    work = cuda.to_device(np.ones((n, 1), np.complex64))
    kc.apply_internal(K, work)
    cuda.synchronize()
    out = {}
    t0 = time.perf_counter()
    for _ in range(reps):
        kern.plan_passes(2, K.twiddle.shape[1], 1, 8)
    out["plan_us"] = 1e6 * (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    for _ in range(reps):
        kc.apply_internal(K, work)
    out["enqueue_us"] = 1e6 * (time.perf_counter() - t0) / reps
    cuda.synchronize()
    out["call_synchronized_us"] = 1e6 * _median_gpu(lambda: kc.apply_internal(K, work),
                                                    cuda.synchronize)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="gpu_tune.json")
    ap.add_argument("--budget", type=float, default=150.0,
                    help="seconds for the sweep; the timing table gets 90 more")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (CUDA simulator)")
    args = ap.parse_args(argv)
    if not kc.is_available():
        print("CUDA is not available")
        return 2
    from numba import cuda

    start = time.perf_counter()
    default = {name: getattr(kern, name) for name in NAMES}
    cases = SMOKE_CASES if args.smoke else CASES
    settings = _settings(SMOKE_GRID if args.smoke else GRID)
    settings.sort(key=lambda s: s != default)  # the default first: always measured
    result = dict(default=default)
    prepared = _prepare(cases, cuda, default)
    result["cpu_check"] = {c["name"]: c["cpu_err"] for c in prepared}
    rows = sweep(prepared, settings, cuda, start + args.budget)
    result["sweep"] = rows
    ok = [r for r in rows if "geomean_ms" in r]
    best = min(ok, key=lambda r: r["geomean_ms"]) if ok else None
    result["best"] = best
    result["per_case_best"] = {
        c["name"]: min((r for r in rows if isinstance(r.get(c["name"]), float)),
                       key=lambda r: r[c["name"]], default=None)
        for c in prepared
    }
    result["default_row"] = next(
        (r for r in rows if all(r[k] == default[k] for k in NAMES)), None)
    print("default:", result["default_row"])
    print("best:", best)
    for name, r in result["per_case_best"].items():
        print(f"best for {name}: {r and {k: r[k] for k in NAMES}} {r and r[name]}")
    if best is not None:
        _set({k: best[k] for k in NAMES})
    result["host_cost"] = host_cost(cuda, n=16 if args.smoke else 1024)
    print("host cost of a small call (best setting):", result["host_cost"])
    budget = 60 if args.smoke else 90
    result["timing_best"], result["goals_best"] = timing_report(
        cuda, time.perf_counter() + budget, args.smoke)
    result["seconds"] = time.perf_counter() - start
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1, default=str)
    print(f"wrote {args.out} ({result['seconds']:.1f} s)")
    return 0 if all(c["cpu_ok"] for c in prepared) else 1


if __name__ == "__main__":
    sys.exit(main())

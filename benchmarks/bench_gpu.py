"""GPU benchmark: parity of the numba.cuda kernels, then K @ X next to cuFFT and cuBLAS.

Run on a machine with an NVIDIA GPU (target: under 4 minutes on one H100)::

    python benchmarks/bench_gpu.py [--out results/bench_gpu.json]

1. Parity: for every dtype and N = 2**4 .. 2**16, a random width-2 K-matrix applied on
   the GPU equals the CPU kernels (``K @ x`` on the host, itself checked against the
   NumPy oracle) to ``16 * factors * eps`` relative to the largest entry; the DFT
   K-matrix on the GPU equals ``numpy.fft.fft``.
2. Timing (medians of ``cuda.synchronize``-bracketed calls, after a warm-up) of ``K @ X``
   for complex64 and float32, N in {1024, 4096, 16384, 65536}, batch in {1, 256, 4096}:
   a general BB* (``km.random``) and, for complex64, the DFT K-matrix ``km.dft(N)``,
   next to ``cupy.fft.fft`` (``rfft`` for float32; on the contiguous ``(batch, N)``
   layout, cuFFT's best case), the dense ``cupy`` matmul (cuBLAS; only where the matrix
   fits 8 GiB and the product is under 5e13 flops) and the same in ``torch`` where it
   is installed.  ``K @ X`` is timed end to end (input padding, work allocation, every
   launch) and in place (:func:`kmatrix.cuda.apply_internal` on a kept buffer), on the
   default plan and on the single-launch plan (``plan.SINGLE_LAUNCH``: one launch
   wherever a column fits one block's shared memory; elsewhere the same launches as
   the default).  Ratios are baseline time / kmatrix time: above 1, kmatrix is faster;
   ``default/single`` above 1: the single-launch plan is faster.
3. The vjp (:func:`kmatrix.cuda.vjp_device`) on both plans, N in {1024, 4096}, batch in
   {1, 256}.

Parity (part 1) is checked on both plans.

The goals checked at the end: BB* at N = 4096, batch 4096 at least
10x faster than the cuBLAS dense matmul; the DFT K-matrix within 4x of cuFFT.

``--sim-smoke`` runs the parity part with tiny sizes and the timing code on N = 16
without baselines, for the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``); CuPy and
torch are then not imported.  The exit status is 1 when a parity check fails, 2 when
CUDA is not available.
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
from kmatrix.backends.cuda import plan  # noqa: E402

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
TIME_BUDGET_S = 200.0  # default --budget: stop timing new rows past this, so the script ends in time
VJP_BUDGET_S = 45.0  # the vjp table starts no new row this long after the apply's budget
DENSE_MAX_BYTES = 8 << 30
DENSE_MAX_FLOPS = 5e13
PARITY_COLUMNS = ["what", "plan", "dtype", "N", "batch", "launches", "rel_err", "tol", "ok"]
TIMING_COLUMNS = [
    "dtype", "N", "batch", "bbstar_ms", "bbstar_inplace_ms", "single_ms", "single_inplace_ms",
    "default/single", "dft_ms", "dft_single_ms", "cufft_ms", "cublas_ms", "torch_fft_ms",
    "torch_mm_ms", "cublas/bbstar", "cufft/dft", "launches", "single_launches",
]
VJP_COLUMNS = ["dtype", "N", "batch", "vjp_ms", "vjp_single_ms", "default/single"]
PLANS = {"default": False, "single": True}


def _sample(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _launches(nblocks, m, k, itemsize):
    """Kernel launches of one apply on the plan selected now (``plan.SINGLE_LAUNCH``)."""
    if plan.SINGLE_LAUNCH:
        from numba import cuda

        from kmatrix.backends.cuda.shared import optin_bytes

        if plan.plan_single(nblocks, m, k, itemsize, optin_bytes(cuda)) is not None:
            return 1
    if plan.use_register_passes(m, k):
        return len(plan.plan_register_passes(nblocks, m))
    return len(plan.plan_passes(nblocks, m, k, itemsize))


def _rel_err(y, ref):
    scale = max(1.0, float(np.abs(ref).max(initial=0)))
    return float(np.abs(y - ref).max(initial=0)) / scale


def parity(sizes, batch, cuda, seed=0):
    """Rows of the parity table on both plans; every row has ``ok``."""
    rows = []
    for name, single in PLANS.items():
        with _plan(single):
            for row in _parity(sizes, batch, cuda, seed):
                rows.append(dict(row, plan=name))
    return rows


class _plan:
    """``with _plan(single):`` selects the default or the single-launch plan."""

    def __init__(self, single):
        self.single = single

    def __enter__(self):
        self.old, plan.SINGLE_LAUNCH = plan.SINGLE_LAUNCH, self.single

    def __exit__(self, *exc):
        plan.SINGLE_LAUNCH = self.old


def _parity(sizes, batch, cuda, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for dtype in DTYPES:
        eps = float(np.finfo(dtype).eps)
        for n in sizes:
            K = km.random(n, width=2, dtype=dtype, rng=rng)
            x = _sample(rng, (n, batch), dtype)
            y = (K @ cuda.to_device(x)).copy_to_host()
            nfac = K.twiddle.shape[0] * K.twiddle.shape[1]
            err = _rel_err(y, K @ x)
            tol = 16 * nfac * eps
            launches = _launches(*K.twiddle.shape[:2], batch, np.dtype(dtype).itemsize)
            rows.append(dict(what="random w=2", dtype=np.dtype(dtype).name, N=n, batch=batch,
                             launches=launches, rel_err=err, tol=tol, ok=bool(err <= tol)))
    for dtype in (np.complex64, np.complex128):
        eps = float(np.finfo(dtype).eps)
        for n in sizes:
            F = km.dft(n).astype(dtype)
            x = _sample(rng, (n, batch), dtype)
            y = (F @ cuda.to_device(x)).copy_to_host()
            err = _rel_err(y, np.fft.fft(x.astype(np.complex128), axis=0))
            tol = 16 * F.twiddle.shape[0] * F.twiddle.shape[1] * eps
            launches = _launches(*F.twiddle.shape[:2], batch, np.dtype(dtype).itemsize)
            rows.append(dict(what="dft vs numpy.fft", dtype=np.dtype(dtype).name, N=n,
                             batch=batch, launches=launches, rel_err=err, tol=tol,
                             ok=bool(err <= tol)))
    return rows


def _median_gpu(fn, sync, min_reps=3, max_reps=20, target_s=0.25):
    """Median seconds of ``fn()`` bracketed by device synchronizations, after a warm-up."""
    fn()
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    one = time.perf_counter() - t0
    reps = int(min(max_reps, max(min_reps, target_s / max(one, 1e-6))))
    samples = []
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - t0)
    return float(np.median(samples))


def _baselines():
    """``(cupy, torch)`` modules where importable and usable, else None."""
    try:
        import cupy as cp
    except ImportError:
        cp = None
    try:
        import torch

        if not torch.cuda.is_available():
            torch = None
    except ImportError:
        torch = None
    return cp, torch


def timing(cuda, deadline, sizes=(1024, 4096, 16384, 65536), batches=(1, 256, 4096),
           baselines=True):
    """Rows of the timing table (milliseconds)."""
    cp, torch = _baselines() if baselines else (None, None)
    sync = cuda.synchronize
    rows = []
    rng = np.random.default_rng(1)
    for dtype in (np.complex64, np.float32):
        complex_ = np.dtype(dtype).kind == "c"
        for n in sizes:
            K = km.random(n, width=1, dtype=dtype, rng=rng)
            F = km.dft(n).astype(np.complex64) if complex_ else None
            for b in batches:
                row = dict(dtype=np.dtype(dtype).name, N=n, batch=b)
                with _plan(False):
                    row["launches"] = _launches(2, K.twiddle.shape[1], b,
                                                np.dtype(dtype).itemsize)
                with _plan(True):
                    row["single_launches"] = _launches(2, K.twiddle.shape[1], b,
                                                       np.dtype(dtype).itemsize)
                if time.perf_counter() > deadline:
                    row["note"] = "skipped: time budget"
                    rows.append(row)
                    continue
                x = cuda.to_device(_sample(rng, (n, b), dtype))
                work = cuda.device_array((n, b), dtype=dtype)
                for name, key in (("default", "bbstar"), ("single", "single")):
                    with _plan(PLANS[name]):
                        row[f"{key}_ms"] = 1e3 * _median_gpu(lambda: K @ x, sync)
                        row[f"{key}_inplace_ms"] = 1e3 * _median_gpu(
                            lambda: kc.apply_internal(K, work), sync)
                        if F is not None:
                            dkey = "dft_ms" if name == "default" else "dft_single_ms"
                            row[dkey] = 1e3 * _median_gpu(lambda: F @ x, sync)
                row["default/single"] = row["bbstar_ms"] / row["single_ms"]
                dense_bytes = n * n * np.dtype(dtype).itemsize
                flops = (8 if complex_ else 2) * n * n * b
                dense_ok = dense_bytes <= DENSE_MAX_BYTES and flops <= DENSE_MAX_FLOPS
                if cp is not None:
                    xt = cp.asarray(x).T.copy()  # (b, n) contiguous: cuFFT's best layout
                    fft = cp.fft.fft if complex_ else cp.fft.rfft
                    row["cufft_ms"] = 1e3 * _median_gpu(lambda: fft(xt, axis=-1), sync)
                    if F is not None and n <= 4096:
                        # same operation: the DFT K-matrix equals cuFFT on this data
                        ref = cp.asnumpy(cp.fft.fft(xt, axis=-1).T)
                        row["dft_vs_cufft_err"] = _rel_err((F @ x).copy_to_host(), ref)
                    del xt
                    if dense_ok:
                        # values do not change a GEMM's time: fill it on the device
                        D = cp.random.standard_normal((n, n), dtype=np.float32).astype(dtype)
                        xc = cp.asarray(x)
                        row["cublas_ms"] = 1e3 * _median_gpu(lambda: D @ xc, sync)
                        del D, xc
                    cp.get_default_memory_pool().free_all_blocks()
                if torch is not None:
                    xt_t = torch.as_tensor(x, device="cuda").T.contiguous()
                    tfft = torch.fft.fft if complex_ else torch.fft.rfft
                    row["torch_fft_ms"] = 1e3 * _median_gpu(lambda: tfft(xt_t, dim=-1), sync)
                    del xt_t
                    if dense_ok:
                        tdt = torch.complex64 if complex_ else torch.float32
                        Dt = torch.randn((n, n), device="cuda", dtype=tdt)
                        xtt = torch.as_tensor(x, device="cuda")
                        row["torch_mm_ms"] = 1e3 * _median_gpu(lambda: Dt @ xtt, sync)
                        del Dt, xtt
                    torch.cuda.empty_cache()
                if row.get("cublas_ms"):
                    row["cublas/bbstar"] = row["cublas_ms"] / row["bbstar_ms"]
                if row.get("cufft_ms") and row.get("dft_ms"):
                    row["cufft/dft"] = row["cufft_ms"] / row["dft_ms"]
                del x, work
                rows.append(row)
    return rows


def vjp_timing(cuda, deadline, sizes=(1024, 4096), batches=(1, 256)):
    """Rows of the vjp table (milliseconds): ``vjp_device`` on both plans."""
    sync = cuda.synchronize
    rows = []
    rng = np.random.default_rng(2)
    for dtype in (np.complex64, np.float32):
        for n in sizes:
            K = km.random(n, width=1, dtype=dtype, rng=rng)
            for b in batches:
                row = dict(dtype=np.dtype(dtype).name, N=n, batch=b)
                if time.perf_counter() > deadline:
                    row["note"] = "skipped: time budget"
                    rows.append(row)
                    continue
                x = cuda.to_device(_sample(rng, (n, b), dtype))
                g = cuda.to_device(_sample(rng, (n, b), dtype))
                out = {}
                for name, key in (("default", "vjp_ms"), ("single", "vjp_single_ms")):
                    with _plan(PLANS[name]):
                        row[key] = 1e3 * _median_gpu(lambda: kc.vjp_device(K, x, g), sync)
                        out[name] = [a.copy_to_host() for a in kc.vjp_device(K, x, g)]
                row["default/single"] = row["vjp_ms"] / row["vjp_single_ms"]
                row["single_vs_default_err"] = max(
                    _rel_err(a, r) for a, r in zip(out["single"], out["default"]))
                rows.append(row)
    return rows


def goals(rows):
    """The two performance goals, read from the timing rows (None when not measured)."""
    out = {}
    for r in rows:
        if r["dtype"] == "complex64" and r["N"] == 4096 and r["batch"] == 4096:
            out["bbstar_vs_cublas_N4096_b4096 (goal >= 10)"] = r.get("cublas/bbstar")
            out["cufft_over_dft_N4096_b4096 (goal >= 0.25)"] = r.get("cufft/dft")
        if r["dtype"] == "float32" and r["N"] == 4096 and r["batch"] == 4096:
            out["bbstar_vs_cublas_float32_N4096_b4096 (goal >= 10)"] = r.get("cublas/bbstar")
    return out


def timing_report(cuda, deadline, smoke):
    """Run :func:`timing` until ``deadline``, print its table and the goal ratios, and
    return ``(rows, goals)``. ``smoke``: tiny sizes and no baselines, to exercise the code
    (in the simulator); the numbers then mean nothing."""
    if smoke:
        rows = timing(cuda, deadline=deadline, sizes=(16,), batches=(1, 4), baselines=False)
    else:
        rows = timing(cuda, deadline=deadline)
    print(table(rows, TIMING_COLUMNS))
    ratios = goals(rows)
    for k, v in ratios.items():
        print(f"{k}: {'not measured' if v is None else f'{v:.3g}'}")
    return rows, ratios


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench_gpu.json", help="JSON file to write")
    ap.add_argument("--budget", type=float, default=TIME_BUDGET_S,
                    help="seconds after which no new timing row is started")
    ap.add_argument("--sim-smoke", action="store_true",
                    help="parity only, tiny sizes (for NUMBA_ENABLE_CUDASIM=1)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    if not kc.is_available():
        print("CUDA is not available (no GPU, and NUMBA_ENABLE_CUDASIM is not set): "
              "run this benchmark on a machine with an NVIDIA GPU, or with --sim-smoke "
              "under NUMBA_ENABLE_CUDASIM=1.")
        return 2
    from numba import cuda

    dev = cuda.get_current_device()
    name = getattr(dev, "name", b"simulator")
    name = name.decode() if isinstance(name, bytes) else str(name)
    print(f"device: {name}")
    if args.sim_smoke:
        sizes, batch = [1 << p for p in range(2, 6)], 2
    else:
        sizes, batch = [1 << p for p in range(4, 17)], 3
    prow = parity(sizes, batch, cuda)
    print(table(prow, PARITY_COLUMNS))
    result = dict(device=name, sim_smoke=args.sim_smoke, parity=prow)
    result["timing"], result["goals"] = timing_report(cuda, start + args.budget, args.sim_smoke)
    if args.sim_smoke:
        result["vjp"] = vjp_timing(cuda, time.perf_counter() + 60, sizes=(16,), batches=(1, 3))
    else:  # its own small budget past the apply's
        deadline = max(start + args.budget, time.perf_counter()) + VJP_BUDGET_S
        result["vjp"] = vjp_timing(cuda, deadline)
    print(table(result["vjp"], VJP_COLUMNS))
    ok_vjp = all(r.get("single_vs_default_err", 0) <= 1e-3 for r in result["vjp"])
    result["seconds"] = time.perf_counter() - start
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {args.out} ({result['seconds']:.1f} s)")
    ok = all(r["ok"] for r in prow) and ok_vjp
    if not ok:
        print("PARITY FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""The main job: ``python -m kmatrix`` builds the paper's structured maps as K-matrices and checks them.

For each target (DFT, DCT-II, a random permutation, a random sparse matrix with ``s = 4n``
nonzeros, a rank-8 matrix, a Toeplitz matrix, the radix-2 FFT circuit compiled by
Theorem 1 and a K-matrix learned from a small target) it prints one row: the class ``(BB*)^w_e`` against the certificate bound of
the certificate table (theory page of the docs), parameters against the dense matrix, the error of ``K @ X``
against the NumPy/SciPy definition on random probe vectors, and the median apply
time next to the natural baseline.  The exit status is non-zero when any row fails
(error above tolerance, certificate exceeded, constructor missing or raising), so the
command doubles as a self-check.  ``python -m kmatrix bench`` runs the benchmark suite.

Usage::

    python -m kmatrix [--n N] [--dtype DTYPE] [--quick] [--json FILE] [--plot FILE.png]
    python -m kmatrix bench [ARGS...]
"""

__all__ = ["main", "run_demo", "CASES"]

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import scipy
import scipy.fft
import scipy.linalg
import scipy.sparse

import kmatrix as km
from kmatrix._checks import check_memory, twiddle_nbytes
from kmatrix.testing.circuits import fft_circuit

_DTYPES = ("float64", "float32", "complex128", "complex64")
_ERR_DOC = "max|KX - AX| / max(|A||X|)"
# Rounding-error tolerance: _TOL_C * eps * (number of factor passes 2*w*log2 N).
_TOL_C = 8.0
# A learned row must reach this relative error (or its rounding tolerance, if larger).
_FIT_TOL = 1e-6
_FIT_ATTEMPTS = 3


@dataclass
class Case:
    """One row: how to build the K-matrix, its definition, baseline and certificate bound."""

    name: str
    build: Callable  # () -> KMatrix
    reference: Callable  # X (double precision) -> A @ X from the definition
    scale: Callable  # |X| (double precision) -> |A| @ |X|, the scale of rounding errors
    baseline_name: str
    baseline: Callable  # X (working dtype) -> A @ X, the fast NumPy/SciPy way
    bound: tuple  # (max width, max expansion) from the certificate table
    size: int
    exact: bool = False  # must equal the definition bit for bit
    tolerance: float = None  # a floor on the tolerance (learned rows); None: rounding only
    complex_probes: bool = False  # probe with complex vectors even in a real run
    note: str = ""
    info: dict = field(default_factory=dict)  # filled by build (e.g. training statistics)


def _dtypes(dtype):
    """(real, complex) working dtypes of the requested precision."""
    single = dtype in (np.dtype(np.float32), np.dtype(np.complex64))
    return (np.dtype(np.float32), np.dtype(np.complex64)) if single else (
        np.dtype(np.float64), np.dtype(np.complex128))


def _randn(rng, shape, dtype):
    if dtype.kind == "c":
        return ((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _high(x):
    return x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)


def _cast(K, dtype):
    """Cast ``K`` to the working precision; complex stays complex, and a complex run makes all complex."""
    real, cplx = _dtypes(dtype)
    target = cplx if K.dtype.kind == "c" or dtype.kind == "c" else real
    return K if K.dtype == target else K.astype(target)


def _pow2(x):
    return 1 << max(0, math.ceil(math.log2(x)))


def make_cases(n, dtype, rng, fit_n=32):
    """The rows of the demo for size ``n`` in working ``dtype`` (data drawn from ``rng``)."""
    real, cplx = _dtypes(dtype)
    data = cplx if dtype.kind == "c" else real
    pow2 = n & (n - 1) == 0
    cases = []

    cases.append(Case(
        "DFT", lambda: km.dft(n),
        lambda X: np.fft.fft(X, axis=0),
        lambda A: np.broadcast_to(A.sum(axis=0), A.shape),
        "scipy.fft.fft", lambda X: scipy.fft.fft(X, axis=0),
        (1, 1.0) if pow2 else (1, 4.0 - 1e-12), n, complex_probes=True))

    # DCT-II as SciPy normalizes it with norm="ortho": an orthogonal real matrix.
    C_abs = np.abs(scipy.fft.dct(np.eye(n), norm="ortho", axis=0))
    cases.append(Case(
        "DCT-II (ortho)", lambda: km.dct(n, norm="ortho"),
        lambda X: scipy.fft.dct(X, norm="ortho", axis=0), lambda A: C_abs @ A,
        "scipy.fft.dct", lambda X: scipy.fft.dct(X, norm="ortho", axis=0, workers=1),
        ((4, 1.0) if n >= 4 else (2, 2.0)) if pow2 else (1, 8.0), n))

    p = rng.permutation(n)
    cases.append(Case(
        "permutation", lambda: km.permutation(p),
        lambda X: X[p], lambda A: A[p], "x[p]", lambda X: X[p],
        (1, _pow2(n) / n), n, exact=True))

    s = min(4 * n, n * n)
    flat = rng.choice(n * n, size=s, replace=False)
    S = scipy.sparse.csr_array((_randn(rng, s, data), (flat // n, flat % n)), shape=(n, n))
    S_abs, S_high = abs(S).astype(np.float64), S.astype(_high(S.data).dtype)
    cases.append(Case(
        f"sparse (s={s})", lambda: km.sparse(S),
        lambda X: S_high @ X, lambda A: S_abs @ A, "scipy.sparse CSR @", lambda X: S @ X,
        (4, max(1.0, _pow2(max(n, s)) / n)), n))

    r = min(8, n)
    U, V = _randn(rng, (n, r), data), _randn(rng, (n, r), data)
    Vh = np.ascontiguousarray(V.conj().T)
    Uh_, Vh_ = _high(U), _high(Vh)
    cases.append(Case(
        f"low rank (r={r})", lambda: km.low_rank(U, V),
        lambda X: Uh_ @ (Vh_ @ X), lambda A: abs(Uh_) @ (abs(Vh_) @ A),
        "U @ (V^H x)", lambda X: U @ (Vh @ X),
        (1, _pow2(r) * _pow2(n) / n), n))

    c, row = _randn(rng, n, data), _randn(rng, n, data)
    row[0] = c[0]
    # Direct (non-FFT) definition: (T x)_i = sum_j t[n-1+i-j] x_j with t = [r_{n-1..1}, c].
    t_high = _high(np.concatenate([row[:0:-1], c]))

    def toeplitz_apply(X, t):
        return np.stack([np.convolve(t, X[:, j])[n - 1:2 * n - 1] for j in range(X.shape[1])], axis=1)

    cases.append(Case(
        "Toeplitz", lambda: km.toeplitz(c, row),
        lambda X: toeplitz_apply(X, t_high), lambda A: toeplitz_apply(A, abs(t_high)),
        "scipy.linalg.matmul_toeplitz", lambda X: scipy.linalg.matmul_toeplitz((c, row), X),
        (1, _pow2(2 * n - 1) / n), n))

    # Theorem 1: the radix-2 FFT written as a circuit (log2 n layers of n gates),
    # compiled layer by layer; for other n, the largest power of two below it.
    circ_n = 1 << (n.bit_length() - 1)
    circ_m = circ_n.bit_length() - 1
    circuit = fft_circuit(circ_n)
    cases.append(Case(
        f"FFT circuit (n={circ_n})", lambda: km.from_circuit(*circuit),
        lambda X: np.fft.fft(X, axis=0),
        lambda A: np.broadcast_to(A.sum(axis=0), A.shape),
        "scipy.fft.fft", lambda X: scipy.fft.fft(X, axis=0),
        (max(1, 2 * circ_m), 2.0), circ_n, complex_probes=True,
        note=f"km.from_circuit on the radix-2 FFT circuit ({len(circuit[1])} gates, depth {circ_m}); "
             "bound 2 * depth, expansion 2"))

    fit_n = min(fit_n, 1 << (n.bit_length() - 1))
    A_fit = (scipy.linalg.hadamard(fit_n) / np.sqrt(fit_n)).astype(data)
    A_high = _high(A_fit)
    info = {}
    # Ask the optimizer for 1e-9, or for what the working precision can hold.
    fit_tol = max(1e-9, 0.5 * _TOL_C * np.finfo(real).eps * 2 * math.log2(max(fit_n, 2)))

    def build_fit():
        # Gradient descent from a random start can stall in a local minimum; a few
        # seeded restarts make the row deterministic and robust, and the count is reported.
        for attempt in range(_FIT_ATTEMPTS):
            res = km.fit(A_fit, width=1, dtype=data, parametrization="orthogonal", tol=fit_tol,
                         max_iter=500, rng=attempt)
            if res.converged:
                break
        info.update(fit_attempts=attempt + 1, fit_iterations=int(res.n_iter),
                    fit_converged=bool(res.converged), fit_rel_error=float(res.rel_error))
        return res.kmatrix

    cases.append(Case(
        f"learned Hadamard (n={fit_n})", build_fit,
        lambda X: A_high @ X, lambda A: abs(A_high) @ A, "dense A @ x", lambda X: A_fit @ X,
        (1, 1.0), fit_n, tolerance=_FIT_TOL, info=info,
        note="km.fit (L-BFGS, orthogonal parametrization) to the normalized Hadamard matrix "
             "from a random start; build = training time"))
    return cases


CASES = ("DFT", "DCT-II", "permutation", "sparse", "low rank", "Toeplitz", "FFT circuit",
         "learned Hadamard")


def _median_times(fns, repeat, min_sample=2e-3):
    """Median seconds per call of each function; samples interleaved so noise hits all alike."""
    inner = []
    for f in fns:
        f()
        t0 = time.perf_counter()
        f()
        inner.append(max(1, int(min_sample / max(time.perf_counter() - t0, 1e-7))))
    samples = [[] for _ in fns]
    for _ in range(repeat):
        for f, k, out in zip(fns, inner, samples):
            t0 = time.perf_counter()
            for _ in range(k):
                f()
            out.append((time.perf_counter() - t0) / k)
    return [statistics.median(s) for s in samples]


def _run_case(case, dtype, batch, repeat, rng):
    real, cplx = _dtypes(dtype)
    row = {"target": case.name, "size": case.size, "baseline": case.baseline_name, "note": case.note}
    t0 = time.perf_counter()
    try:
        K = case.build()
    except Exception as exc:  # report, never hide: the row fails and so does the exit status
        row.update(status="error", message=f"{type(exc).__name__}: {exc}")
        return row
    row["build_s"] = time.perf_counter() - t0
    if not isinstance(K, km.KMatrix):
        row.update(status="error", message=f"constructor returned {type(K).__name__}, not KMatrix")
        return row
    K = _cast(K, dtype)
    row.update(case.info)
    n = case.size
    w_max, e_max = case.bound
    row.update(dtype=str(K.dtype), width=K.width, expansion=K.expansion, internal_size=K.internal_size,
               cls=f"(BB*)^{K.width}_{K.expansion:g}", nparams=K.nparams, dense_params=n * n,
               bound_width=w_max, bound_expansion=e_max)
    if K.shape != (n, n):
        row.update(status="fail", message=f"shape {K.shape}, expected {(n, n)}")
        return row
    # Real probes determine a complex operator too (it is C-linear); complex ones are used
    # where complex input is the natural use (DFT) or was asked for.
    X = _randn(rng, (n, batch), cplx if (dtype.kind == "c" or case.complex_probes) else real)
    t0 = time.perf_counter()
    Y = K @ X
    row["first_apply_s"] = time.perf_counter() - t0
    ref = case.reference(_high(X))
    scale = float(np.max(case.scale(np.abs(_high(X)))))
    err = float(np.max(np.abs(_high(Y) - ref))) / scale if scale > 0 else float(np.max(np.abs(Y)))
    eps = float(np.finfo(K.dtype).eps)
    tol = _TOL_C * eps * 2 * K.width * math.log2(K.internal_size)
    if case.exact:
        tol = 0.0
    elif case.tolerance is not None:
        tol = max(case.tolerance, tol)
    row.update(error=err, tolerance=tol, exact=bool(case.exact and np.array_equal(Y, ref)))
    Xb = np.ascontiguousarray(X)
    t_k, t_b = _median_times([lambda: K @ Xb, lambda: case.baseline(Xb)], repeat)
    row.update(apply_s=t_k, baseline_s=t_b, ratio=t_k / t_b)
    problems = []
    if not err <= tol:
        problems.append(f"error {err:.2e} > tolerance {tol:.2e}")
    if K.width > w_max or K.expansion > e_max * (1 + 1e-12):
        problems.append(f"certificate (BB*)^{K.width}_{K.expansion:g} exceeds "
                        f"bound width <= {w_max}, expansion <= {e_max:g}")
    row.update(status="fail" if problems else "ok", message="; ".join(problems))
    return row


def _fmt_t(s):
    if s is None:
        return "-"
    for unit, f in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= f:
            return f"{s / f:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def format_table(result):
    """The human-readable report of :func:`run_demo`'s result."""
    head = ("target", "class", "params K/dense", "rel err", "tol", "build", "1st apply",
            "K apply", "baseline", "base apply", "K/base", "status")
    lines = []
    for r in result["rows"]:
        if "cls" not in r:
            lines.append((r["target"],) + ("-",) * 10 + (f"{r['status']}: {r['message']}",))
            continue
        ok = "-" if "error" not in r else f"{r['error']:.1e}"
        tol = "-" if "tolerance" not in r else ("exact" if r["tolerance"] == 0 else f"{r['tolerance']:.0e}")
        status = r["status"] + (f": {r['message']}" if r.get("message") else "")
        lines.append((
            r["target"], r["cls"], f"{r['nparams']}/{r['dense_params']} ({r['nparams'] / r['dense_params']:.3g})",
            ok, tol, _fmt_t(r.get("build_s")), _fmt_t(r.get("first_apply_s")), _fmt_t(r.get("apply_s")),
            r["baseline"], _fmt_t(r.get("baseline_s")),
            "-" if "ratio" not in r else f"{r['ratio']:.2g}", status))
    widths = [max(len(str(x[i])) for x in [head] + lines) for i in range(len(head))]
    fmt = lambda row: "  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip()  # noqa: E731
    m = result["machine"]
    out = [
        f"kmatrix {km.__version__}: n = {result['n']}, dtype {result['dtype']}, "
        f"{result['batch']} probe vectors, median of {result['repeat']} interleaved samples",
        f"machine: {m['platform']}, {m['cpus']} usable cores; numpy {m['numpy']}, scipy {m['scipy']}, "
        f"numba {m['numba']}",
        f"rel err = {_ERR_DOC} over the probes (A = the NumPy/SciPy definition); "
        f"tol = {_TOL_C:g} * eps * 2w * log2 N unless exact/learned",
        "",
        fmt(head),
        fmt(["-" * w for w in widths]),
    ] + [fmt(x) for x in lines]
    out += [
        "",
        f"compilation and first calls (build + 1st apply, Numba JIT or cache load): "
        f"{result['first_call_s']:.2f} s; everything else: {result['steady_s']:.2f} s",
        "K/base > 1 means the K-matrix is slower than the specialised baseline; the point is one "
        "representation and one kernel for all of them.",
        "RESULT: " + ("all rows pass" if result["ok"] else
                      f"{sum(r['status'] != 'ok' for r in result['rows'])} row(s) FAILED"),
    ]
    return "\n".join(out)


def demo_nbytes(n, batch):
    """Bytes the largest rows of the demo hold at once: the Toeplitz circulant (complex128
    twiddle and its construction, size up to ``2n``), the sparse row's eight blocks at
    ``s = 4n`` slots, and the probes with their results in complex128."""
    toeplitz = 3 * twiddle_nbytes(2, _pow2(2 * n), np.complex128)
    sparse = twiddle_nbytes(8, _pow2(4 * n), np.complex128) + 16 * 8 * _pow2(4 * n)
    return toeplitz + sparse + 4 * 16 * n * batch


def run_demo(n=1024, dtype="float64", *, quick=False, batch=None, repeat=None, seed=0):
    """Build every row of the demo, check it and time it; return a JSON-ready dict."""
    dtype = np.dtype(dtype)
    batch = batch if batch is not None else (4 if quick else 16)
    repeat = repeat if repeat is not None else (3 if quick else 7)
    check_memory(demo_nbytes(n, batch), f"python -m kmatrix with n = {n}")
    rng = np.random.default_rng(seed)
    t_start = time.perf_counter()
    rows = [_run_case(c, dtype, batch, repeat, rng) for c in make_cases(n, dtype, rng)]
    total = time.perf_counter() - t_start
    first = sum(r.get("build_s", 0) + r.get("first_apply_s", 0) for r in rows)
    import numba

    return {
        "n": n, "dtype": str(dtype), "batch": batch, "repeat": repeat, "quick": quick, "seed": seed,
        "error_measure": _ERR_DOC, "tolerance_rule": f"{_TOL_C:g} * eps * 2w * log2(N)",
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                    "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__},
        "rows": rows, "ok": all(r["status"] == "ok" for r in rows),
        "total_s": total, "first_call_s": first, "steady_s": total - first,
    }


def plot(result, path):
    """Two panels: apply time of K vs baseline, and error vs tolerance, per row."""
    plt = _pyplot()
    rows = [r for r in result["rows"] if "apply_s" in r]
    if not rows:
        raise SystemExit("--plot: no row produced timings")
    names = [r["target"] for r in rows]
    x = np.arange(len(rows))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    a1.bar(x - 0.2, [r["apply_s"] for r in rows], 0.4, label="K-matrix")
    a1.bar(x + 0.2, [r["baseline_s"] for r in rows], 0.4, label="baseline")
    a1.set_yscale("log")
    a1.set_ylabel("median apply time [s]")
    a1.set_title(f"apply to {result['batch']} vectors, n = {result['n']}, {result['dtype']}")
    a2.bar(x, [max(r["error"], 1e-18) for r in rows], 0.5, label="error")
    a2.scatter(x, [max(r["tolerance"], 1e-18) for r in rows], marker="_", s=600, c="k", label="tolerance")
    a2.set_yscale("log")
    a2.set_ylabel(_ERR_DOC)
    a2.set_title("error vs NumPy/SciPy definition (exact rows at floor)")
    for a in (a1, a2):
        a.set_xticks(x, names, rotation=25, ha="right")
        a.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _find_bench_script():
    """``benchmarks/run.py`` next to the package (a source checkout), else in the working directory."""
    for root in (Path(__file__).resolve().parent.parent, Path.cwd()):
        script = root / "benchmarks" / "run.py"
        if script.is_file():
            return script
    return None


def _int_at_least(minimum):
    """argparse type: an integer ``>= minimum``."""

    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {v}")
        return v

    return parse


def _pyplot():
    """``matplotlib.pyplot`` with the file backend, or ``SystemExit`` saying how to get it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SystemExit(f"--plot needs matplotlib (pip install 'kmatrix[docs]'): {exc}") from exc
    return plt


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m kmatrix",
        description="Build the DFT, a permutation, a sparse, a low-rank, a Toeplitz matrix, the "
                    "FFT circuit (Theorem 1) and a learned fit as K-matrices; check them against NumPy/SciPy and time them. "
                    "Exit status 1 if any row fails.")
    p.add_argument("--n", type=_int_at_least(2), default=None, help="size (default 1024; 256 with --quick)")
    p.add_argument("--dtype", choices=_DTYPES, default="float64",
                   help="working precision; real targets stay real unless complex is asked for")
    p.add_argument("--quick", action="store_true", help="smaller default n, fewer probes and repeats")
    p.add_argument("--batch", type=_int_at_least(1), default=None, help="probe vectors per apply")
    p.add_argument("--seed", type=int, default=0, help="seed of the random targets and probes")
    p.add_argument("--json", metavar="FILE", help="write the full result as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="save a figure (needs matplotlib)")
    sub = p.add_subparsers(dest="command", metavar="{bench}")
    b = sub.add_parser("bench", help="run benchmarks/run.py (the benchmark suite) with ARGS")
    b.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to benchmarks/run.py")
    return p


def main(argv=None):
    """Entry point of ``python -m kmatrix``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        # Everything after "bench" belongs to the suite (argparse would claim its options).
        script = _find_bench_script()
        if script is None:
            print("python -m kmatrix bench: benchmarks/run.py not found (it ships with the source "
                  "checkout, not with the installed package)", file=sys.stderr)
            return 2
        return subprocess.call([sys.executable, str(script), *argv[1:]])
    args = _parser().parse_args(argv)
    n = args.n if args.n is not None else (256 if args.quick else 1024)
    if args.plot:
        _pyplot()  # fail before the run, not after it
    try:
        result = run_demo(n, args.dtype, quick=args.quick, batch=args.batch, seed=args.seed)
    except MemoryError as exc:
        print(f"python -m kmatrix: error: {exc}", file=sys.stderr)
        return 2
    print(format_table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if args.plot:
        plot(result, args.plot)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

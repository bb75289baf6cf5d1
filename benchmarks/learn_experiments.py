"""Learnability experiments (a)-(e) over several seeds: which targets ``km.fit`` recovers.

(a) Hadamard, (b) DFT (width 1 with the bit reversal given; width 2 with nothing
given), (c) random K-matrix teachers, (d) latent permutation recovery from data pairs
``Y = X[p]`` with the soft-swap parametrization, (e) random dense targets against the
best low-rank approximation with the same number of parameters.

Usage::

    python benchmarks/learn_experiments.py --quick      # 3 seeds, small n (~1 minute)
    python benchmarks/learn_experiments.py              # 10 seeds, the full sizes
    python benchmarks/learn_experiments.py --large-seeds 3   # 3 seeds at n = 256 (~10 min)

Success means ``rel_error <= 1e-6`` (``||K - T||_F / ||T||_F``); for (d) it means the
rounded network is exactly the hidden permutation. Also reported: RMSE over the
entries, ``||K - T||_F / n`` for an orthonormal target, the measure the butterfly
paper (Dao et al., ICML 2019) uses. Results go to stdout as a Markdown table and to
``benchmarks/results/learn_experiments.json``.
"""

import os

# L-BFGS-B makes many tiny BLAS calls; on a loaded machine a threaded BLAS spends most
# of its time synchronizing, so pin it to one thread before NumPy loads it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import kmatrix as km  # noqa: E402
from kmatrix.learn import round_permutation  # noqa: E402

SUCCESS = 1e-6
LARGE = 256  # sizes from here on use --large-seeds seeds


def bit_reversal_indices(n):
    m = n.bit_length() - 1
    return np.array([int(format(i, f"0{m}b")[::-1], 2) for i in range(n)])


def dft_matrix(n):
    try:
        return km.dft(n, norm="ortho").toarray()
    except NotImplementedError:  # pragma: no cover - before the Fourier constructors existed
        return np.fft.fft(np.eye(n), axis=0, norm="ortho")


def summarize(label, runs, extra=None):
    rel = np.array([r["rel_error"] for r in runs])
    row = {
        "experiment": label,
        "seeds": len(runs),
        "success": int(sum(r["success"] for r in runs)),
        "median_rel_error": float(np.median(rel)),
        "best_rel_error": float(rel.min()),
        "median_rmse": float(np.median([r["rmse"] for r in runs])),
        "median_iters": float(np.median([r["iters"] for r in runs])),
        "median_seconds": float(np.median([r["seconds"] for r in runs])),
    }
    row.update(extra or {})
    return row


def fit_target(target, seeds, **kw):
    """Fit ``target`` from each seed; rel_error and RMSE measured on the dense target."""
    runs = []
    norm = np.linalg.norm(target)
    for seed in seeds:
        res = km.fit(target, rng=seed, tol=SUCCESS, **kw)
        err = np.linalg.norm(res.kmatrix.toarray() - target)
        runs.append(
            dict(
                rel_error=err / norm,
                rmse=err / np.sqrt(target.size),
                success=err / norm <= SUCCESS,
                iters=res.n_iter,
                seconds=res.seconds,
                kmatrix=res.kmatrix,
            )
        )
    return runs


def exp_hadamard(sizes, seeds_for, max_iter):
    rows = []
    for n in sizes:
        seeds = seeds_for(n)
        H = scipy.linalg.hadamard(n) / np.sqrt(n)
        inits = ("ortho", "randn") if n <= 64 else ("ortho",)
        for init in inits:
            runs = fit_target(H, seeds, init=init, max_iter=max_iter)
            rows.append(summarize(f"(a) Hadamard n={n}, w=1, init={init}", runs))
    return rows


def exp_dft(sizes, seeds_for, max_iter):
    rows = []
    for n in sizes:
        seeds = seeds_for(n)
        F = dft_matrix(n)
        br = bit_reversal_indices(n)
        # F = K P with (P x) = x[br]: fit K to F P^T = F[:, br] (the bit reversal is an involution).
        inits = ("ortho", "randn") if n <= 64 else ("ortho",)
        for init in inits:
            runs = fit_target(F[:, br], seeds, init=init, max_iter=max_iter)
            P = km.permutation(br)
            composed = [np.linalg.norm((r["kmatrix"] @ P).toarray() - F) / np.sqrt(n) for r in runs]
            rows.append(
                summarize(
                    f"(b) DFT n={n}, w=1 + given bit reversal, init={init}",
                    runs,
                    {"max_rel_error_of_K_P_vs_F": float(max(composed))},
                )
            )
        runs = fit_target(F, seeds, width=2, init="ortho", max_iter=max_iter)
        rows.append(summarize(f"(b) DFT n={n}, w=2, nothing given, init=ortho", runs))
    return rows


def exp_teacher(sizes, seeds_for, max_iter):
    rows = []
    for n in sizes:
        seeds = seeds_for(n)
        for teacher_init in ("ortho", "randn"):
            runs = []
            for seed in seeds:
                T = km.random(n, init=teacher_init, rng=10_000 + seed).toarray()
                runs += fit_target(T, [seed], init="ortho", max_iter=max_iter)
            label = f"(c) teacher n={n}, w=1 ({teacher_init} teacher), init=ortho"
            rows.append(summarize(label, runs))
    return rows


def exp_permutation(sizes, seeds_for, configs):
    rows = []
    for n in sizes:
        seeds = seeds_for(n)
        for method, kw in configs:
            runs = []
            for seed in seeds:
                rng = np.random.default_rng(seed)
                p = rng.permutation(n)
                X = rng.standard_normal((n, n))
                res = km.fit(
                    X=X, Y=X[p], parametrization="permutation", rng=seed, method=method, **kw
                )
                _, q = round_permutation(res, return_indices=True)
                exact = bool(np.array_equal(q, p))
                runs.append(
                    dict(
                        rel_error=res.rel_error,
                        rmse=float(np.mean(q != p)),  # fraction of misrouted entries
                        success=exact,
                        iters=res.n_iter,
                        seconds=res.seconds,
                    )
                )
            label = f"(d) permutation n={n}, k={n} pairs, {method} " + ",".join(
                f"{k}={v}" for k, v in kw.items()
            )
            rows.append(summarize(label, runs, {"rmse_means": "fraction of misrouted entries"}))
    return rows


def exp_dense(n, widths, seeds, max_iter):
    rows = []
    for w in widths:
        runs = []
        lowrank = []
        for seed in seeds:
            A = np.random.default_rng(seed).standard_normal((n, n))
            runs += fit_target(A, [seed], width=w, init="ortho", max_iter=max_iter)
            nparams = runs[-1]["kmatrix"].nparams
            r = min(n, nparams // (2 * n))
            s = np.linalg.svd(A, compute_uv=False)
            lowrank.append(np.sqrt(np.sum(s[r:] ** 2) / np.sum(s**2)))
        rows.append(
            summarize(
                f"(e) dense Gaussian n={n}, w={w} ({nparams} params)",
                runs,
                {"low_rank_rank": int(r), "low_rank_rel_error": float(np.median(lowrank))},
            )
        )
    return rows


def print_table(rows):
    print(
        "| experiment | success | median rel err | best rel err | median RMSE "
        "| median iters | median s | note |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        note = ""
        if "low_rank_rel_error" in r:
            note = f"low rank r={r['low_rank_rank']}: {r['low_rank_rel_error']:.3f}"
        elif "max_rel_error_of_K_P_vs_F" in r:
            note = f"RMSE of K P vs F <= {r['max_rel_error_of_K_P_vs_F']:.1e}"
        elif "rmse_means" in r:
            note = "RMSE column = misrouted fraction"
        print(
            f"| {r['experiment']} | {r['success']}/{r['seeds']} | {r['median_rel_error']:.2e} | "
            f"{r['best_rel_error']:.2e} | {r['median_rmse']:.2e} | {r['median_iters']:.0f} | "
            f"{r['median_seconds']:.2f} | {note} |"
        )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds and small sizes")
    ap.add_argument("--seeds", type=int, default=None, help="override the number of seeds")
    ap.add_argument("--large-seeds", type=int, default=None,
                    help=f"number of seeds for sizes >= {LARGE} (default: --seeds)")
    ap.add_argument("--only", default="abcde", help="subset of experiments, e.g. 'ab'")
    ap.add_argument("--json", default=None, help="output JSON path")
    args = ap.parse_args(argv)
    nseeds = args.seeds or (3 if args.quick else 10)
    seeds = list(range(nseeds))

    def seeds_for(n):
        return list(range(args.large_seeds)) if n >= LARGE and args.large_seeds else seeds
    if args.quick:
        had, dft, teacher, perm, dense = [64], [64], [64], [16, 64], 32
        perm_configs = [
            ("lbfgs", dict(width=1, max_iter=1000)),
            ("adam", dict(width=1, lr=0.2, max_iter=1000)),
            ("adam", dict(width=4, lr=0.2, max_iter=1000)),
        ]
        max_iter = 1000
    else:
        had, dft, teacher, perm, dense = [64, 256], [64, 256], [256], [16, 64, 256], 64
        perm_configs = [
            ("lbfgs", dict(width=1, max_iter=2000)),
            ("adam", dict(width=1, lr=0.2, max_iter=2000)),
            ("adam", dict(width=4, lr=0.2, max_iter=2000)),
        ]
        max_iter = 2000
    rows = []
    t0 = time.perf_counter()
    jobs = {
        "a": lambda: exp_hadamard(had, seeds_for, max_iter),
        "b": lambda: exp_dft(dft, seeds_for, max_iter),
        "c": lambda: exp_teacher(teacher, seeds_for, max_iter),
        "d": lambda: exp_permutation(perm, seeds_for, perm_configs),
        "e": lambda: exp_dense(dense, [1, 2, 4], seeds, max_iter),
    }
    for key in args.only:
        t = time.perf_counter()
        new = jobs[key]()
        rows += new
        print(f"# ({key}) done in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    print_table(rows)
    total = time.perf_counter() - t0
    print(f"\ntotal {total:.1f} s, {nseeds} seeds, success: rel_error <= {SUCCESS:g}")
    out = pathlib.Path(args.json) if args.json else (
        pathlib.Path(__file__).resolve().parent / "results" / "learn_experiments.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"quick": args.quick, "seeds": nseeds, "large_seeds": args.large_seeds, "rows": rows},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

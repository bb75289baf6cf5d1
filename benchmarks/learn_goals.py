"""Two measurements of ``km.fit``: latent permutations and the cost of an iteration.

``permutation``: hidden permutations ``p`` recovered from ``k = 4 n`` Gaussian data
pairs ``Y = X[p]`` with ``parametrization="permutation"`` (fit's defaults otherwise);
success means the rounded network (:func:`kmatrix.learn.round_permutation`) is
exactly ``p``.

``iteration``: seconds per L-BFGS iteration of a free fit to an ``n x n`` Gaussian
target (compared on the identity, ``init="randn"``, no relaxation), against one
forward product ``K @ X`` plus one :func:`kmatrix.vjp` on the same ``n x n`` data.
An iteration's cost is the difference between fits of ``2 k`` and ``k`` iterations
from the same seed, divided by ``k`` (the fit's setup and final error check cancel);
it includes the line search's extra evaluations and SciPy's L-BFGS bookkeeping.
Each time is the best of ``--repeat`` runs.

Usage::

    python benchmarks/learn_goals.py permutation --sizes 64,256 --seeds 10
    python benchmarks/learn_goals.py iteration --sizes 256,1024
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import kmatrix as km  # noqa: E402
from kmatrix.learn import round_permutation  # noqa: E402


def parse_sizes(text):
    return [int(v) for v in text.split(",")]


def permutation_rows(sizes, seeds, pairs):
    rows = []
    print("| n | pairs | exact | median misrouted | median s |")
    print("|---|---|---|---|---|")
    for n in sizes:
        runs = []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            p = rng.permutation(n)
            X = rng.standard_normal((n, pairs * n))
            t0 = time.perf_counter()
            res = km.fit(X=X, Y=X[p], parametrization="permutation", rng=seed)
            seconds = time.perf_counter() - t0
            _, q = round_permutation(res, return_indices=True)
            runs.append({"seed": seed, "exact": bool(np.array_equal(q, p)),
                         "misrouted": float(np.mean(q != p)), "rel_error": res.rel_error,
                         "n_iter": res.n_iter, "seconds": seconds})
        row = {"n": n, "pairs": pairs * n, "seeds": seeds,
               "exact": int(sum(r["exact"] for r in runs)),
               "median_misrouted": float(np.median([r["misrouted"] for r in runs])),
               "median_seconds": float(np.median([r["seconds"] for r in runs])), "runs": runs}
        rows.append(row)
        print(f"| {n} | {pairs * n} | {row['exact']}/{seeds} | {row['median_misrouted']:.3f} | "
              f"{row['median_seconds']:.2f} |", flush=True)
    return rows


def best_of(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def iteration_rows(sizes, iters, repeat):
    rows = []
    print("| n | s / L-BFGS iteration | s / (forward + vjp) | ratio |")
    print("|---|---|---|---|")
    for n in sizes:
        rng = np.random.default_rng(0)
        T = rng.standard_normal((n, n))
        kw = dict(init="randn", relax=False, model="plain", permutation=None, tol=0.0, rng=0)
        km.fit(T, max_iter=2, **kw)  # compile and warm the kernels
        seconds = {}
        for k in (iters, 2 * iters):
            for _ in range(repeat):
                res = km.fit(T, max_iter=k, **kw)
                if res.n_iter != k:
                    raise RuntimeError(f"the fit stopped after {res.n_iter} of {k} iterations")
                seconds[k] = min(seconds.get(k, np.inf), res.seconds)
        per_iter = (seconds[2 * iters] - seconds[iters]) / iters
        K = res.kmatrix
        X = np.eye(n)
        G = rng.standard_normal((n, n))
        pair = best_of(lambda: (K @ X, km.vjp(K, X, G)), 5 * repeat)
        row = {"n": n, "iterations": [iters, 2 * iters], "seconds_per_iteration": per_iter,
               "seconds_forward_plus_vjp": pair, "ratio": per_iter / pair}
        rows.append(row)
        print(f"| {n} | {per_iter:.4f} | {pair:.4f} | {row['ratio']:.2f} |", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    pp = sub.add_parser("permutation", help="latent permutations from data pairs")
    pp.add_argument("--sizes", default="64,256", help="comma-separated powers of two")
    pp.add_argument("--seeds", type=int, default=10, help="seeds 0..k-1 (default 10)")
    pp.add_argument("--pairs", type=int, default=4, help="pairs per coordinate (default 4)")
    it = sub.add_parser("iteration", help="seconds per L-BFGS iteration")
    it.add_argument("--sizes", default="256,1024", help="comma-separated powers of two")
    it.add_argument("--iters", type=int, default=30, help="k: fits of k and 2k iterations (default 30)")
    it.add_argument("--repeat", type=int, default=3, help="best of this many fits")
    for p in (pp, it):
        p.add_argument("--json", default=None, help="output JSON path")
    args = ap.parse_args(argv)
    sizes = parse_sizes(args.sizes)
    if args.what == "permutation":
        rows = permutation_rows(sizes, args.seeds, args.pairs)
    else:
        rows = iteration_rows(sizes, args.iters, args.repeat)
    out = pathlib.Path(args.json) if args.json else (
        pathlib.Path(__file__).resolve().parent / "results" / f"learn_{args.what}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"what": args.what, "rows": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Recovery table: does ``km.fit`` find the fast structure of classical transforms?

For each transform, size and seed, the dense matrix alone is fitted, with the input
permutation learned (``permutation="learn"``) or not (``--mode plain``); success means
``||K - T||_F / ||T||_F <= 1e-6`` on the dense matrices. Reported per (transform,
size): success rate, median relative error, median seconds. Transforms, all of size
``n`` and orthonormal where the transform has such a form:

dft, dct2, dst2, hadamard, hartley, conv (circular convolution with a random
Gaussian filter), legendre (Legendre polynomials at the Chebyshev nodes, rows
normalized), gaussian (i.i.d. normal entries; the unstructured control), teacher
(a width-1 ``km.random(n, rng=seed)``, one per seed).

Modes: ``learn`` (``permutation="learn"``), ``plain`` (``permutation=None,
model="plain"``: ``K`` alone), ``auto`` (``fit``'s default: the plain fit, then,
if it stops above the threshold, the Fourier start, the real-part model for real
targets and the learned permutation) and ``real-part`` (``model="real part"``: the
real-part model alone; ``--width`` does not apply). Each run records which attempt
won. The JSON file is rewritten after every row, so a long run keeps what it measured.

Usage (run in parts, then merge the JSON files into one table)::

    python benchmarks/learn_recovery.py --transforms dft,hadamard --sizes 8,16 --seeds 3
    python benchmarks/learn_recovery.py --sizes 8..256 --seeds 3..9 --json part2.json
    python benchmarks/learn_recovery.py --merge part1.json part2.json --json table.json
    python benchmarks/learn_recovery.py --sizes 8..1024 --seeds 10 --json out.json
    python benchmarks/learn_recovery.py --transforms teacher --sizes 32..256 --mode auto
    python benchmarks/learn_recovery.py --transforms dft,dct2,dst2,hadamard,hartley,conv \
        --sizes 64 --seeds 3 --mode auto --width 2
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import scipy.fft  # noqa: E402
import scipy.linalg  # noqa: E402
import scipy.special  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import kmatrix as km  # noqa: E402

# A wide fit of a small matrix holds more parameters than the dense matrix; the table
# is about recovery, so that cost notice is not repeated for every run.
warnings.filterwarnings("ignore", category=km.CostWarning)

SUCCESS = 1e-6
TRANSFORMS = (
    "dft", "dct2", "dst2", "hadamard", "hartley", "conv", "legendre", "gaussian", "teacher"
)


def transform(name, n, seed=0):
    """Dense ``n x n`` matrix of ``name`` (filters and Gaussian entries from seed 1234;
    the teacher from ``seed``)."""
    if name == "teacher":
        return km.random(n, rng=seed).toarray()
    eye = np.eye(n)
    rng = np.random.default_rng(1234)
    if name == "dft":
        return np.fft.fft(eye, norm="ortho", axis=0)
    if name == "dct2":
        return scipy.fft.dct(eye, type=2, norm="ortho", axis=0)
    if name == "dst2":
        return scipy.fft.dst(eye, type=2, norm="ortho", axis=0)
    if name == "hadamard":
        return scipy.linalg.hadamard(n) / np.sqrt(n)
    if name == "hartley":
        f = np.fft.fft(eye, norm="ortho", axis=0)
        return f.real - f.imag
    if name == "conv":
        return scipy.linalg.circulant(rng.standard_normal(n)) / np.sqrt(n)
    if name == "legendre":
        nodes = np.cos(np.pi * (np.arange(n) + 0.5) / n)
        L = np.stack([scipy.special.eval_legendre(j, nodes) for j in range(n)])
        return L / np.linalg.norm(L, axis=1, keepdims=True)
    if name == "gaussian":
        return rng.standard_normal((n, n)) / np.sqrt(n)
    raise ValueError(f"unknown transform {name!r}; choose from {TRANSFORMS}")


def parse_sizes(text):
    if ".." in text:
        lo, hi = (int(v) for v in text.split(".."))
        return [1 << k for k in range(lo.bit_length() - 1, hi.bit_length())]
    return [int(v) for v in text.split(",")]


def parse_seeds(text):
    """'10' (seeds 0..9), '3..9' (inclusive) or '0,4,7'."""
    if ".." in text:
        lo, hi = (int(v) for v in text.split(".."))
        seeds = list(range(lo, hi + 1))
    elif "," in text:
        seeds = [int(v) for v in text.split(",")]
    else:
        seeds = list(range(int(text)))
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must name distinct non-negative seeds; got {text!r}")
    return seeds


def summarize(name, n, mode, width, runs):
    runs = sorted(runs, key=lambda r: r["seed"])
    return {
        "transform": name, "n": n, "mode": mode, "width": width, "seeds": len(runs),
        "success": int(sum(r["success"] for r in runs)),
        "median_rel_error": float(np.median([r["rel_error"] for r in runs])),
        "median_seconds": float(np.median([r["seconds"] for r in runs])),
        "runs": runs,
    }


def print_row(row):
    print(f"| {row['transform']} | {row['n']} | {row['mode']} | {row['width']} | "
          f"{row['success']}/{row['seeds']} | {row['median_rel_error']:.2e} | "
          f"{row['median_seconds']:.1f} |", flush=True)


def merge(paths):
    """Rows of several JSON files, the runs of one (transform, n, mode, width) pooled
    (a seed measured twice keeps its later run)."""
    pooled = {}
    for path in paths:
        for row in json.loads(pathlib.Path(path).read_text())["rows"]:
            key = (row["transform"], row["n"], row["mode"], row["width"])
            runs = pooled.setdefault(key, {})
            runs.update({r["seed"]: r for r in row["runs"]})
    return [summarize(*key, list(runs.values())) for key, runs in sorted(
        pooled.items(), key=lambda kv: (TRANSFORMS.index(kv[0][0]), *kv[0][1:]))]


def run_one(T, seed, mode, width):
    kw = dict(rng=seed, tol=SUCCESS, width=width)
    kw["permutation"] = {"learn": "learn", "plain": None, "auto": "auto", "real-part": None}[mode]
    if mode == "plain":
        kw["model"] = "plain"
    if mode == "real-part":
        kw["model"] = "real part"
    t0 = time.perf_counter()
    res = km.fit(T, **kw)
    seconds = time.perf_counter() - t0
    rel = float(np.linalg.norm(res.kmatrix.toarray() - T) / np.linalg.norm(T))
    return {"seed": seed, "rel_error": rel, "success": rel <= SUCCESS, "seconds": seconds,
            "dtype": str(res.kmatrix.dtype), "model": res.model,
            "attempt": res.message.split(":")[0]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transforms", default=",".join(TRANSFORMS),
                    help=f"comma-separated subset of {','.join(TRANSFORMS)}")
    ap.add_argument("--sizes", default="8..64", help="'8,16' or a power-of-two range '8..1024'")
    ap.add_argument("--seeds", default="10",
                    help="'k' for seeds 0..k-1 (default 10), a range '3..9' or a list '0,5'")
    ap.add_argument("--mode", choices=("learn", "plain", "auto", "real-part"), default="learn",
                    help="learn the input permutation (default), fit K alone, fit's "
                         "default (plain, then the further attempts if it stalls), or "
                         "the real-part model alone")
    ap.add_argument("--width", type=int, default=1)
    ap.add_argument("--json", default=None, help="output JSON path")
    ap.add_argument("--merge", nargs="+", metavar="JSON",
                    help="merge these result files into one table (nothing is fitted)")
    args = ap.parse_args(argv)
    names = args.transforms.split(",")
    for name in names:
        if name not in TRANSFORMS:
            ap.error(f"unknown transform {name!r}; choose from {TRANSFORMS}")
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as exc:
        ap.error(str(exc))
    out = pathlib.Path(args.json) if args.json else (
        pathlib.Path(__file__).resolve().parent / "results" / "learn_recovery.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    print("| transform | n | mode | width | success | median rel. error | median s |")
    print("|---|---|---|---|---|---|---|")
    if args.merge:
        rows = merge(args.merge)
        for row in rows:
            print_row(row)
        out.write_text(json.dumps({"success_threshold": SUCCESS, "rows": rows}, indent=1))
        print(f"wrote {out}")
        return
    rows = []
    for name in names:
        for n in parse_sizes(args.sizes):
            runs = []
            for s in seeds:
                runs.append(run_one(transform(name, n, s), s, args.mode, args.width))
                # each fit as it ends (a row is printed once all its seeds are done)
                print(f"  {name} n={n} seed {s}: {runs[-1]['rel_error']:.2e}, "
                      f"{runs[-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
            rows.append(summarize(name, n, args.mode, args.width, runs))
            print_row(rows[-1])
            out.write_text(json.dumps({"success_threshold": SUCCESS, "rows": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

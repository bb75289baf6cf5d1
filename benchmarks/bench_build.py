"""Constructor benchmark: build times of ``permutation`` and ``sparse``, and their apply times.

Run: ``python benchmarks/bench_build.py [--quick]``. For n = 2^10, 2^12, 2^14, 2^16 it times

* ``km.permutation(p)`` for a random permutation (Benes routing, O(n log n)), and
  ``P @ x`` next to NumPy's ``x[p]``;
* ``km.sparse(S)`` for a random n x n ``csr_array`` with s = 4n nonzeros (internal size
  4n, width 4), and ``K @ X`` next to SciPy's ``S @ X`` for batch 1 and 64.

Times are medians after one warm-up call, measured in the same process; ratios are
``kmatrix time / baseline time`` (> 1 means the baseline is faster). ``--quick`` stops at
n = 2^12.
"""

import argparse
import os
import sys

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import machine, median_time, table  # noqa: E402

import kmatrix as km  # noqa: E402

COLUMNS = ["what", "n", "s", "N", "batch", "kmatrix_ms", "baseline", "baseline_ms", "ratio"]


def _build_time(fn, n):
    # builds of the largest sizes take seconds: fewer samples there
    repeat = 5 if n <= 1 << 12 else 3
    return median_time(fn, repeat=repeat, min_time=0.0, warmup=1)


def run(quick=False):
    """Measure and return one dict per table row (see :data:`COLUMNS`)."""
    sizes = [1 << k for k in range(10, 13 if quick else 17, 2)]  # 2^10, 2^12, (2^14, 2^16)
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        p = rng.permutation(n)
        t_build = _build_time(lambda: km.permutation(p), n)
        P = km.permutation(p)
        x = rng.standard_normal(n)
        if not np.array_equal(P @ x, x[p]):
            raise AssertionError(f"permutation of size {n} is not exact")
        rows.append(dict(what="permutation build", n=n, s=n, N=P.internal_size,
                         kmatrix_ms=t_build * 1e3))
        t_k = median_time(lambda: P @ x)
        t_b = median_time(lambda: x[p])
        rows.append(dict(what="permutation apply", n=n, s=n, N=P.internal_size, batch=1,
                         kmatrix_ms=t_k * 1e3, baseline="x[p]", baseline_ms=t_b * 1e3,
                         ratio=t_k / t_b))

        S = sp.random_array((n, n), density=4 / n, rng=rng, format="csr")
        t_build = _build_time(lambda: km.sparse(S), n)
        K = km.sparse(S)
        rows.append(dict(what="sparse build", n=n, s=S.nnz, N=K.internal_size,
                         kmatrix_ms=t_build * 1e3))
        for k in (1, 64):
            X = rng.standard_normal((n, k) if k > 1 else n)
            ref = S @ X
            err = np.abs(K @ X - ref).max() / max(np.abs(ref).max(), 1e-300)
            if not err < 1e-12:
                raise AssertionError(f"sparse operator of size {n} is off by {err:.2e}")
            t_k = median_time(lambda: K @ X)
            t_b = median_time(lambda: S @ X)
            rows.append(dict(what="sparse apply", n=n, s=S.nnz, N=K.internal_size, batch=k,
                             kmatrix_ms=t_k * 1e3, baseline="scipy S @ X",
                             baseline_ms=t_b * 1e3, ratio=t_k / t_b))
        del K
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sizes up to 2^12 only")
    args = ap.parse_args(argv)
    print("machine:", machine())
    rows = run(args.quick)
    print(table(rows, COLUMNS))
    return rows


if __name__ == "__main__":
    main()

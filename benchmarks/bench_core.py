"""Core apply benchmark: random BB* (width 1) vs dense matmul and scipy.fft on the same data.

Run: ``python benchmarks/bench_core.py [--quick]``. Prints medians (ms) and ratios
(baseline time / kmatrix time: > 1 means kmatrix is faster).
"""

import argparse
import os
import sys

import numpy as np
import scipy.fft

sys.path.insert(0, os.path.dirname(__file__))
from _timing import machine, median_time, table  # noqa: E402

import kmatrix as km  # noqa: E402


def run(quick=False):
    sizes = [256, 1024, 4096] if quick else [256, 1024, 4096, 16384]
    batches = [1, 64, 256]
    rng = np.random.default_rng(0)
    rows = []
    for dtype in (np.float64, np.complex128):
        for n in sizes:
            K = km.random(n, dtype=dtype, rng=1)
            D = K.toarray() if n <= 4096 else None
            for k in batches:
                X = rng.standard_normal((n, k))
                if np.dtype(dtype).kind == "c":
                    X = X + 1j * rng.standard_normal((n, k))
                X = X.astype(dtype)
                x = X[:, 0] if k == 1 else X
                t_k = median_time(lambda: K @ x)
                t_d = median_time(lambda: D @ x) if D is not None else None
                t_f = median_time(lambda: scipy.fft.fft(x, axis=0, workers=1))
                rows.append(dict(
                    dtype=np.dtype(dtype).name, n=n, batch=k,
                    kmatrix_ms=t_k * 1e3,
                    dense_ms=None if t_d is None else t_d * 1e3,
                    fft_ms=t_f * 1e3,
                    dense_over_k=None if t_d is None else t_d / t_k,
                    k_over_fft=t_k / t_f,
                ))
    return rows


COLUMNS = ["dtype", "n", "batch", "kmatrix_ms", "dense_ms", "fft_ms", "dense_over_k", "k_over_fft"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print("machine:", machine())
    rows = run(args.quick)
    print(table(rows, COLUMNS))
    return rows


if __name__ == "__main__":
    main()

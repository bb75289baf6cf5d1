"""Butterfly factorization benchmark: ``km.factorize`` vs ``pyfaust.fact.butterfly``.

Run: ``python benchmarks/bench_factorize.py [--quick]``. For each matrix -- the DFT with
the bit-reversal permutation (complex128), the Sylvester Hadamard matrix and a random
increasing-stride butterfly (float64), and a random Gaussian matrix (float64, n <= 1024:
the projection case) -- it reports the seconds of one factorization (median of
repeats below n = 4096, a single run at 4096), the relative Frobenius error of the
result, and ``faust_over_km`` = pyfaust time / kmatrix time (> 1: kmatrix is faster).
pyfaust (the optional ``bench`` extra) is run with ``type="bbtree"``, the same
balanced-tree algorithm; its columns are empty when it is not installed.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
import scipy.linalg

sys.path.insert(0, os.path.dirname(__file__))
from _timing import machine, table  # noqa: E402

import kmatrix as km  # noqa: E402
from kmatrix._layout import identity_twiddle  # noqa: E402

COLUMNS = ["matrix", "n", "dtype", "km_s", "faust_s", "faust_over_km", "km_err", "faust_err"]


def _pyfaust():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pyfaust.fact
        return pyfaust.fact
    except ImportError:
        return None


def _random_butterfly(n, rng):
    m = int(np.log2(n))
    tw = identity_twiddle(2, m, np.float64)
    tw[1] = rng.standard_normal((m, n // 2, 2, 2)) / np.sqrt(2)
    return km.KMatrix(tw).toarray()


def _cases(sizes, rng):
    for n in sizes:
        yield "dft+bitrev", n, np.fft.fft(np.eye(n)), "bitrev"
        yield "hadamard", n, scipy.linalg.hadamard(n).astype(np.float64), None
        yield "random B", n, _random_butterfly(n, rng), None
        if n <= 1024:
            yield "random dense", n, rng.standard_normal((n, n)), None


def _timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _rel(D, A):
    return float(np.linalg.norm(D - A) / np.linalg.norm(A))


def run(quick=False):
    """Return one dict per (matrix, n) with times, errors and the time ratio."""
    sizes = [256, 1024] if quick else [256, 1024, 4096]
    fact = _pyfaust()
    rng = np.random.default_rng(0)
    km.factorize(np.fft.fft(np.eye(8)), perm="bitrev")  # warm-up (imports, kernels)
    rows = []
    for name, n, A, perm in _cases(sizes, rng):
        repeat = 3 if n < 4096 else 1
        t_k, (K, info) = _timed(lambda: km.factorize(A, perm=perm, return_info=True), repeat)
        row = dict(matrix=name, n=n, dtype=A.dtype.name, km_s=t_k, km_err=info["error"])
        if fact is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_f, F = _timed(lambda: fact.butterfly(A, type="bbtree", perm=perm), repeat)
                row.update(faust_s=t_f, faust_over_km=t_f / t_k, faust_err=_rel(F.toarray(), A))
        rows.append(row)
        print(table([row], COLUMNS).splitlines()[-1], flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="n = 256 and 1024 only")
    args = ap.parse_args(argv)
    print("machine:", machine())
    have = _pyfaust() is not None
    print("pyfaust:", "installed" if have else "not installed (its columns stay empty)")
    rows = run(args.quick)
    print(table(rows, COLUMNS))
    return rows


if __name__ == "__main__":
    main()

"""Real maps with complex factors: packed columns against the alternatives.

Run ``python benchmarks/bench_real.py [--n N] [--batch K] [--only {maps,factors}]``.

``maps``: a real map built exactly
through the DFT (here ``dct(n, norm="ortho")``, width 4 at expansion 1 for a power of
two, of which only two blocks are not 0/1 routings) has complex factors and a real
product.  Two ways to apply it to a real ``n x k`` batch:

* packed (what kmatrix does): two real columns per complex column, ``k/2`` complex
  columns through the complex factors;
* unpacked: the complex operator on ``k`` complex columns with zero imaginary parts.

and what a real construction (real factors) of the map would cost: random real
K-matrices of the same certificate (all factors dense, so an upper estimate), and of
widths 1 to 3 at the same internal size (a real construction cannot be narrower than
width 1).  Every time is a median of alternating windows in one
process (:func:`_timing.paired_median_times` against the packed operator), reported as
a ratio to the packed time.

``factors``: the price of one factor either way.  One real ``BB*`` (float64 factors,
``km.random(n, width=1)``) against one complex ``BB*`` whose product is real, applied
packed (``km.circulant(c)`` for a real ``c``: the same ``2 log2 n`` factors at ``N = n``),
on real ``n x 64`` batches for ``n`` = 4096 and 1024, with one kernel thread
(``set_workers(1)``) and with the default; the two alternate in one process.  The ratio
packed / real is the number of real factors that cost as much as one packed complex
factor: a real construction of width ``w_r`` beats a complex one of width ``w_c`` when
``w_r < ratio * w_c``.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import machine, paired_median_times, table  # noqa: E402

import kmatrix as km  # noqa: E402


def run(n=4096, batch=64, repeat=15, min_time=0.5):
    rng = np.random.default_rng(0)
    C = km.dct(n, norm="ortho")
    X = rng.standard_normal((n, batch))
    Cc = C.astype(np.complex128)
    Xc = X.astype(np.complex128)
    others = [
        ("unpacked: complex operator, complex128 columns", lambda: Cc @ Xc),
        (f"real factors, width {C.width}, N = {C.internal_size} (same certificate)",
         _real_apply(km.random(n, width=C.width, expansion=C.expansion, rng=1), X)),
    ] + [(f"real factors, width {w}, N = {n}", _real_apply(km.random(n, width=w, rng=1), X))
         for w in (1, 2, 3)]
    packed = lambda: C @ X  # noqa: E731
    rows = []
    for name, fn in others:
        ours, other = paired_median_times(packed, fn, repeat=repeat, min_time=min_time)
        rows.append(dict(variant=name, packed_ms=ours * 1e3, other_ms=other * 1e3,
                         other_over_packed=other / ours))
    return dict(machine=machine(), n=n, batch=batch, operator=repr(C), rows=rows)


def per_factor(sizes=(4096, 1024), batch=64, repeat=15, min_time=0.5):
    """Milliseconds per factor of a real BB* and of a packed complex BB* on real batches."""
    rng = np.random.default_rng(0)
    rows = []
    for workers in (1, None):
        for n in sizes:
            R = km.random(n, width=1, rng=1)
            C = km.circulant(rng.standard_normal(n))
            assert R.width == C.width == 1 and R.internal_size == C.internal_size == n
            X = rng.standard_normal((n, batch))
            with km.set_workers(workers):
                real, packed = paired_median_times(lambda: R @ X, lambda: C @ X,  # noqa: B023
                                                   repeat=repeat, min_time=min_time)
            nf = 2 * R.twiddle.shape[1]  # factors of one BB*
            rows.append(dict(n=n, batch=batch, workers="default" if workers is None else workers,
                             real_ms=real * 1e3, packed_ms=packed * 1e3,
                             real_us_per_factor=real * 1e6 / nf,
                             packed_us_per_factor=packed * 1e6 / nf,
                             packed_over_real=packed / real))
    return dict(machine=machine(), rows=rows)


def _real_apply(K, X):
    return lambda: K @ X


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--only", choices=("maps", "factors"), default=None,
                    help="one table: the DCT-II against its alternatives (maps) or the "
                         "price of one real and one packed complex factor (factors)")
    args = ap.parse_args(argv)
    out = {}
    if args.only in (None, "maps"):
        res = out["maps"] = run(args.n, args.batch)
        print(f"machine: {res['machine']}; {res['operator']} on a real {res['n']} x "
              f"{res['batch']} batch")
        print(table(res["rows"], ["variant", "packed_ms", "other_ms", "other_over_packed"]))
    if args.only in (None, "factors"):
        res = out["factors"] = per_factor(batch=args.batch)
        print(f"machine: {res['machine']}; one BB*: real factors against packed complex ones")
        print(table(res["rows"], ["n", "batch", "workers", "real_ms", "packed_ms",
                                  "real_us_per_factor", "packed_us_per_factor",
                                  "packed_over_real"]))
    return out


if __name__ == "__main__":
    main()

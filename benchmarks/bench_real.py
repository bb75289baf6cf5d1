"""Real maps with complex factors: packed columns against the alternatives.

Run ``python benchmarks/bench_real.py [--n N] [--batch K]``.  A real map built exactly
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


def _real_apply(K, X):
    return lambda: K @ X


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args(argv)
    res = run(args.n, args.batch)
    print(f"machine: {res['machine']}; {res['operator']} on a real {res['n']} x {res['batch']} batch")
    print(table(res["rows"], ["variant", "packed_ms", "other_ms", "other_over_packed"]))
    return res


if __name__ == "__main__":
    main()

"""
Apply time against n
====================

A K-matrix is applied in :math:`O(n \\log n)` operations.  This example times four
ways of applying a linear map to a block of 16 vectors, for sizes up to 8192:

* a random BB* K-matrix (float64, ``km.random``),
* the DFT as a K-matrix (complex128, ``km.dft``),
* the same BB* as a dense float64 matrix (a NumPy/BLAS matmul),
* and ``scipy.fft.fft`` (complex128), a specialised FFT shown for scale.

Each library uses its default threads.  Each point is the best of 7 samples (the
``timeit`` convention): on a shared machine the minimum is the figure least disturbed by
other processes.  The numbers are those of the machine that built these pages; the
:doc:`/benchmarks` page has controlled measurements.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.fft

import kmatrix as km

BATCH = 16
SIZES = [2**k for k in range(5, 14)]
DENSE_MAX = 2048  # the dense n x n matrix grows as n^2; stop where it is already far behind


def best_time(f, repeat=7, min_sample=2e-3):
    """Best of ``repeat`` samples, each of enough calls to last ``min_sample`` seconds."""
    f()
    t0 = time.perf_counter()
    f()
    inner = max(1, int(min_sample / max(time.perf_counter() - t0, 1e-7)))
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        samples.append((time.perf_counter() - t0) / inner)
    return min(samples)


# %%
# Measure
# -------
#
# The first call of each dtype compiles the Numba kernels (or loads them from the disk
# cache); ``best_time`` makes two untimed calls first.  The DFT K-matrix is checked
# against ``numpy.fft.fft`` before it is timed.

rng = np.random.default_rng(0)
rows = []
for n in SIZES:
    K = km.random(n, rng=rng)
    F = km.dft(n)
    X = rng.standard_normal((n, BATCH))
    Z = X + 1j * rng.standard_normal((n, BATCH))
    assert np.allclose(F @ Z, np.fft.fft(Z, axis=0)), "km.dft disagrees with numpy.fft.fft"
    t = {
        "K-matrix BB* (float64)": best_time(lambda: K @ X),
        "K-matrix DFT (complex128)": best_time(lambda: F @ Z),
        "scipy.fft.fft (complex128)": best_time(lambda: scipy.fft.fft(Z, axis=0)),
    }
    if n <= DENSE_MAX:
        A = K.toarray()
        t["dense matmul (float64)"] = best_time(lambda: A @ X)
    rows.append((n, t))

labels = list(rows[0][1])
print(f"{'n':>6}  " + "  ".join(f"{lab:>26}" for lab in labels))
for n, t in rows:
    print(f"{n:>6}  " + "  ".join(f"{t[lab]:>26.3e}" if lab in t else f"{'-':>26}"
                                  for lab in labels))

# %%
# Plot
# ----
#
# On log-log axes the dense product grows with slope 2 and the K-matrices with slope
# about 1: from a few hundred rows on, the K-matrix is the faster way to apply the same
# operator.  At small ``n`` fixed per-call costs dominate every curve.

fig, ax = plt.subplots(figsize=(6.4, 4.6))
for label, style in (("K-matrix BB* (float64)", "o-"), ("K-matrix DFT (complex128)", "s-"),
                     ("dense matmul (float64)", "^--"), ("scipy.fft.fft (complex128)", "d:")):
    pts = [(n, t[label]) for n, t in rows if label in t]
    ax.loglog([p[0] for p in pts], [p[1] for p in pts], style, label=label, base=2)
ax.set_xlabel("n")
ax.set_ylabel(f"time to apply to {BATCH} vectors [s] (best of 7)")
ax.set_title("Apply time vs n")
ax.grid(True, which="both", alpha=0.3)
ax.legend()
fig.tight_layout()

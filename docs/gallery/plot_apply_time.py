"""Apply time against n, log-log: a K-matrix against a dense matmul and the FFT.

Four curves, all applied to a block of 16 vectors: a random BB* matrix (float64), the
DFT as a K-matrix (complex128, ``km.dft``), the dense float64 matrix (NumPy/BLAS
matmul) and ``scipy.fft.fft``, measured in this build on this machine; the sizes
are kept small so the script takes seconds.  Each
point is the best of 7 samples (the ``timeit`` convention): the build machines are
shared, and the minimum is the figure least disturbed by other processes.  Everything
runs on one thread (BLAS, scipy.fft's default, and kmatrix via ``KMATRIX_NUM_THREADS``),
so the curves compare algorithms rather than thread scheduling on a busy machine.
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "KMATRIX_NUM_THREADS"):
    os.environ[var] = "1"  # before NumPy/kmatrix start their thread pools

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.fft  # noqa: E402

import kmatrix as km  # noqa: E402

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
BATCH = 16
sizes = [2**k for k in range(5, 14)]
DENSE_MAX = 2048  # the dense n x n matrix grows as n^2; stop where it is already far behind


def best_time(f, repeat=7, min_sample=2e-3):
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


rng = np.random.default_rng(0)
rows = []
for n in sizes:
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

fig, ax = plt.subplots(figsize=(6.4, 4.6))
for label, style in (("K-matrix BB* (float64)", "o-"), ("K-matrix DFT (complex128)", "s-"),
                     ("dense matmul (float64)", "^--"), ("scipy.fft.fft (complex128)", "d:")):
    pts = [(n, t[label]) for n, t in rows if label in t]
    ax.loglog([p[0] for p in pts], [p[1] for p in pts], style, label=label, base=2)
ax.set_xlabel("n")
ax.set_ylabel(f"time to apply to {BATCH} vectors [s] (best of 7)")
ax.set_title("Apply time vs n, one thread (measured during this docs build)")
ax.grid(True, which="both", alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(out / "plot_apply_time.png", dpi=100)

labels = list(rows[0][1])
print(f"{'n':>6}  " + "  ".join(f"{lab:>26}" for lab in labels))
for n, t in rows:
    print(f"{n:>6}  " + "  ".join(f"{t[lab]:>26.3e}" if lab in t else f"{'-':>26}" for lab in labels))

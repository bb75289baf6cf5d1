"""Sparsity patterns of the butterfly factors of a BB* matrix (N = 16).

Each factor is built as its own K-matrix (every other factor the identity) and
densified by the library's kernel; the figure is checked against the pure-NumPy
oracle before it is drawn.  Top row: the B* half (decreasing strides 8, 4, 2, 1);
bottom row: the B half (increasing strides 1, 2, 4, 8); last column: the products.
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import kmatrix as km
from kmatrix._layout import identity_twiddle, stride
from kmatrix._reference import dense_reference

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
m = 4
N = 2**m
rng = np.random.default_rng(0)
full = km.random(N, rng=rng)  # one random BB*: blocks 0 (B*) and 1 (B)

fig, axes = plt.subplots(2, m + 1, figsize=(2.3 * (m + 1), 5.6))
for blk, name in ((0, "B*"), (1, "B")):
    for j in range(m):
        tw = identity_twiddle(2, m, np.float64)
        tw[blk, j] = full.twiddle[blk, j]
        F = km.KMatrix(tw).toarray()
        assert np.allclose(F, dense_reference(tw)), "kernel and oracle disagree"
        assert np.count_nonzero(F) == 2 * N  # two nonzeros per row: a butterfly factor
        ax = axes[blk, j]
        ax.spy(F, markersize=3.2)
        ax.set_title(f"{name} factor {j}: stride {stride(blk, j, m)}", fontsize=9)
    half = identity_twiddle(2, m, np.float64)
    half[blk] = full.twiddle[blk]
    P = km.KMatrix(half).toarray()
    axes[blk, m].spy(P, markersize=3.2)
    axes[blk, m].set_title(f"{name} = product ({np.count_nonzero(P)} nonzeros)", fontsize=9)
    print(f"{name}: {m} factors with {2 * N} nonzeros each; their product has "
          f"{np.count_nonzero(P)} of {N * N} entries nonzero")
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(f"Butterfly factors of a BB* matrix, N = {N} (application order left to right)")
fig.tight_layout()
fig.savefig(out / "plot_factor_patterns.png", dpi=100)
print(f"BB* = B @ B*: {np.count_nonzero(full.toarray())} of {N * N} entries nonzero, "
      f"from {full.nparams} parameters")

"""
Sparsity patterns of the butterfly factors
==========================================

A BB* matrix of size :math:`N = 2^m` is the product of :math:`2m` butterfly factors.
Each factor mixes the pairs of coordinates ``(p, p + st)`` at one stride ``st`` with a
2x2 map per pair, so it has two nonzeros per row.  The twiddle array holds these maps in
the canonical layout ``(2*w, m, N//2, 2, 2)`` (see :ref:`layout`): block 0 is the B*
half, whose strides decrease (``N/2, ..., 2, 1``), block 1 the B half, whose strides
increase (``1, 2, ..., N/2``).

This example keeps one factor at a time (every other factor the identity), densifies it
with the library's kernel, checks it against a dense factor built directly from the
layout's definition, and draws its sparsity pattern.
"""

import matplotlib.pyplot as plt
import numpy as np

import kmatrix as km

m = 4
N = 2**m
K = km.random(N, rng=0)  # one random BB*: block 0 (B*) and block 1 (B)
print(K.describe())


def stride(block, factor):
    """Stride of ``factor`` in ``block``: even blocks decrease it, odd blocks increase it."""
    return 2 ** (m - 1 - factor) if block % 2 == 0 else 2**factor


def dense_factor(maps, st):
    """The N x N factor with the 2x2 ``maps[i]`` acting on the pair ``(p, p + st)``."""
    i = np.arange(N // 2)
    p = 2 * (i - i % st) + i % st
    q = p + st
    D = np.zeros((N, N))
    D[p, p], D[p, q] = maps[:, 0, 0], maps[:, 0, 1]
    D[q, p], D[q, q] = maps[:, 1, 0], maps[:, 1, 1]
    return D


def identity_twiddle():
    tw = np.zeros((2, m, N // 2, 2, 2))
    tw[..., 0, 0] = tw[..., 1, 1] = 1
    return tw


# %%
# One factor at a time
# --------------------
#
# Top row: the B* half (strides 8, 4, 2, 1); bottom row: the B half (strides 1, 2, 4,
# 8); last column: the product of the row's factors.  The factors are drawn in
# application order, left to right.

fig, axes = plt.subplots(2, m + 1, figsize=(2.3 * (m + 1), 5.6))
for blk, name in ((0, "B*"), (1, "B")):
    for j in range(m):
        tw = identity_twiddle()
        tw[blk, j] = K.twiddle[blk, j]
        F = km.KMatrix(tw).toarray()
        assert np.allclose(F, dense_factor(K.twiddle[blk, j], stride(blk, j)))
        assert np.count_nonzero(F) == 2 * N  # two nonzeros per row
        axes[blk, j].spy(F, markersize=3.2)
        axes[blk, j].set_title(f"{name} factor {j}: stride {stride(blk, j)}", fontsize=9)
    half = identity_twiddle()
    half[blk] = K.twiddle[blk]
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

# %%
# The whole product
# -----------------
#
# ``m`` factors of ``2N`` nonzeros each already fill the whole matrix: a butterfly
# connects every input to every output in ``log2 N`` steps.

print(f"BB* = B @ B*: {np.count_nonzero(K.toarray())} of {N * N} entries nonzero, "
      f"from {K.nparams} parameters")

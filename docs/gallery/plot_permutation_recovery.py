"""
A hidden permutation recovered from data
========================================

Data pairs ``Y = X[p]`` are generated with a random permutation ``p`` of size 16.
``km.fit`` with ``parametrization="permutation"`` learns a relaxed Beneš network: every
2x2 block is a "soft swap" ``[[s, 1 - s], [1 - s, s]]``.
:func:`kmatrix.learn.round_permutation` then snaps every switch to 0 or 1 and returns the
exact permutation that the rounded network routes.

The search is not convex, so several random starts are run and the success rate is
printed; the figure shows the first start that recovers ``p`` exactly.
"""

import matplotlib.pyplot as plt
import numpy as np

import kmatrix as km
from kmatrix.learn import round_permutation

n = 16
STARTS = 12
rng = np.random.default_rng(7)
p = rng.permutation(n)
X = rng.standard_normal((n, 2 * n))
Y = X[p]
print(f"hidden permutation p = {p.tolist()}")

# %%
# Fit and round, from several random starts
# -----------------------------------------
#
# ``round_permutation`` raises ``ValueError`` when the rounded switches do not route a
# permutation; such a start counts as a failure.

shown = None
successes = 0
for seed in range(STARTS):
    res = km.fit(X=X, Y=Y, parametrization="permutation", method="adam", lr=0.05,
                 max_iter=1500, tol=1e-6, rng=seed)
    try:
        P, q = round_permutation(res, return_indices=True)
        exact = bool(np.array_equal(q, p))
    except ValueError:
        P, exact = None, False
    successes += exact
    print(f"start {seed}: relaxed rel. error {res.rel_error:.2e} after {res.n_iter} iterations, "
          f"rounded network {'recovers p exactly' if exact else 'does not recover p'}")
    if exact and shown is None:
        shown = (res, P)
print(f"exact recovery in {successes} of {STARTS} random starts")
if shown is None:
    raise RuntimeError("no random start recovered the permutation")

# %%
# The true, the learned and the rounded operator
# ----------------------------------------------
#
# The rounded operator is ``km.permutation(q)``, an exact K-matrix: ``P @ X`` equals
# ``Y`` bit for bit.

res, P = shown
true = np.eye(n)[p]  # row i has its 1 in column p[i]: (true @ x) == x[p]
rounded = P.toarray()
assert np.array_equal(rounded, true) and np.array_equal(P @ X, Y)
fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.8))
for ax, img, title in ((axes[0], true, "true permutation"),
                       (axes[1], res.kmatrix.toarray(), "learned relaxed network"),
                       (axes[2], rounded, "rounded: km.permutation(q)")):
    im = ax.imshow(img, cmap="magma", vmin=0, vmax=1)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(im, ax=axes, shrink=0.8)
fig.suptitle(f"Permutation of size {n} recovered from {X.shape[1]} data pairs Y = X[p]")

"""
Learning the Hadamard transform
===============================

``km.fit`` fits a K-matrix to a target.  Here the target is the normalized Hadamard
matrix of size 32, given as a dense array; the fit starts from a random K-matrix of
width 1 in the orthogonal parametrization (every 2x2 block a rotation, so every iterate
is exactly orthogonal) and minimizes the relative Frobenius error.  Three random starts
with L-BFGS are compared with three with Adam; the curves are each fit's own
``history``.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg

import kmatrix as km

n = 32
H = scipy.linalg.hadamard(n) / np.sqrt(n)

# %%
# Fit from three random starts with each optimizer
# ------------------------------------------------
#
# ``res.kmatrix`` is the fitted operator, ``res.rel_error`` its final relative error and
# ``res.history`` the error at every iteration.

results = {}
print(f"fit of the normalized Hadamard matrix, n = {n}, width 1, orthogonal parametrization")
print(f"{'method':>7} {'seed':>4} {'iterations':>10} {'rel. error':>11} {'seconds':>8}  converged")
for method in ("lbfgs", "adam"):
    for seed in range(3):
        kw = dict(lr=0.05) if method == "adam" else {}
        res = km.fit(H, parametrization="orthogonal", method=method, tol=1e-10,
                     max_iter=400 if method == "lbfgs" else 1500, rng=seed, **kw)
        results[method, seed] = res
        print(f"{method:>7} {seed:>4} {res.n_iter:>10} {res.rel_error:>11.2e} "
              f"{res.seconds:>8.2f}  {res.converged}")
        Q = res.kmatrix.toarray()
        # The parametrization keeps the iterate orthogonal whatever the error.
        assert np.allclose(Q.T @ Q, np.eye(n), atol=1e-12), "fitted operator is not orthogonal"

# %%
# Learning curves
# ---------------
#
# Starts that find the Hadamard structure drop to rounding level; the others stall on a
# plateau (the problem is not convex).

fig, ax = plt.subplots(figsize=(6.4, 4.4))
for (method, seed), res in results.items():
    hist = np.maximum(np.asarray(res.history), 1e-17)
    ax.semilogy(np.arange(hist.size), hist, "-" if method == "lbfgs" else "--",
                label=f"{method}, seed {seed}")
ax.set_xlabel("iteration")
ax.set_ylabel(r"relative error $\|K - H\|_F / \|H\|_F$")
ax.set_title(f"Learning the Hadamard transform (n = {n}) with km.fit")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()

"""Learning curve: fitting the Hadamard transform from its dense matrix.

``km.fit`` starts from a random K-matrix of width 1 (orthogonal parametrization: every
2x2 block a rotation, so the iterates stay exactly orthogonal) and runs L-BFGS on the
relative Frobenius error.  The curves are the fit's own ``history`` for three random
starts, and the same with Adam for comparison.
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg

import kmatrix as km

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
n = 32
H = scipy.linalg.hadamard(n) / np.sqrt(n)

fig, ax = plt.subplots(figsize=(6.4, 4.4))
print(f"fit of the normalized Hadamard matrix, n = {n}, width 1, orthogonal parametrization")
print(f"{'method':>7} {'seed':>4} {'iterations':>10} {'rel. error':>11} {'seconds':>8}  converged")
for method, style in (("lbfgs", "-"), ("adam", "--")):
    for seed in range(3):
        kw = dict(lr=0.05) if method == "adam" else {}
        res = km.fit(H, parametrization="orthogonal", method=method, tol=1e-10,
                     max_iter=400 if method == "lbfgs" else 1500, rng=seed, **kw)
        hist = np.maximum(np.asarray(res.history), 1e-17)
        ax.semilogy(np.arange(hist.size), hist, style, label=f"{method}, seed {seed}")
        print(f"{method:>7} {seed:>4} {res.n_iter:>10} {res.rel_error:>11.2e} {res.seconds:>8.2f}  "
              f"{res.converged}")
        Q = res.kmatrix.toarray()
        # The parametrization keeps the iterate orthogonal whatever the error.
        assert np.allclose(Q.T @ Q, np.eye(n), atol=1e-12), "fitted operator is not orthogonal"
ax.set_xlabel("iteration")
ax.set_ylabel(r"relative error $\|K - H\|_F / \|H\|_F$")
ax.set_title(f"Learning the Hadamard transform (n = {n}) with km.fit")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()
fig.savefig(out / "plot_learning_curve.png", dpi=100)

"""
The self-check, ``python -m kmatrix``
=====================================

``python -m kmatrix`` builds the DFT, a permutation, a sparse, a low-rank and a
Toeplitz matrix and a learned Hadamard transform as K-matrices, checks each against its
NumPy/SciPy definition and its certificate, and times it against the specialised
routine (see :doc:`/selfcheck` for the columns).  The same checks can be run from
Python; this example runs the ``--quick`` configuration (n = 256) on the machine that
built these pages, whose timings are shared and noisy.
"""

import matplotlib.pyplot as plt
import numpy as np

from kmatrix.__main__ import format_table, run_demo

result = run_demo(256, "float64", quick=True)
print(format_table(result))
if not result["ok"]:
    raise RuntimeError("the self-check reported failing rows (see the table above)")

# %%
# Apply times and errors
# ----------------------
#
# ``result`` holds everything in the table (``--json FILE`` writes it).  Left: median
# apply time of each K-matrix next to its baseline; right: its error next to its
# tolerance (exact rows sit at the floor of the axis).

rows = [r for r in result["rows"] if "apply_s" in r]
x = np.arange(len(rows))
fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
a1.bar(x - 0.2, [r["apply_s"] for r in rows], 0.4, label="K-matrix")
a1.bar(x + 0.2, [r["baseline_s"] for r in rows], 0.4, label="baseline")
a1.set_yscale("log")
a1.set_ylabel("median apply time [s]")
a1.set_title(f"apply to {result['batch']} vectors, n = {result['n']}, {result['dtype']}")
a2.bar(x, [max(r["error"], 1e-18) for r in rows], 0.5, label="error")
a2.scatter(x, [max(r["tolerance"], 1e-18) for r in rows], marker="_", s=600, c="k",
           label="tolerance")
a2.set_yscale("log")
a2.set_ylabel("relative error")
a2.set_title("error vs the NumPy/SciPy definition")
for a in (a1, a2):
    a.set_xticks(x, [r["target"] for r in rows], rotation=25, ha="right")
    a.legend()
fig.tight_layout()

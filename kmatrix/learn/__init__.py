"""Learning K-matrices: reverse-mode gradients (:func:`vjp`) and fitting (:func:`fit`).

Parametrizations of the 2x2 blocks live in :mod:`kmatrix.learn.parametrizations`
(free, orthogonal/unitary, relaxed permutation with :func:`round_permutation`), the
complex relaxation of real fits in :mod:`kmatrix.learn.relax`.

Examples
--------
>>> import numpy as np, kmatrix as km
>>> teacher = km.random(16, init="ortho", rng=3)
>>> res = km.fit(teacher.toarray(), init="ortho", rng=0)
>>> res.converged, bool(np.allclose(res.kmatrix.toarray(), teacher.toarray(), atol=1e-5))
(True, True)
"""

from __future__ import annotations

__all__ = ["vjp", "fit", "FitResult", "round_permutation"]

from .fit import fit
from .result import FitResult
from .parametrizations import round_permutation
from .vjp import vjp

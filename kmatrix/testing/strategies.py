"""Hypothesis strategies for K-matrices and the structured maps they represent.

Every argument that chooses something (a shape, a dtype, a width ...) takes either a
plain value or a Hypothesis strategy, so ``kmatrices(shapes=(4, 8))`` and
``kmatrices(shapes=st.tuples(st.integers(1, 4), st.just(8)))`` both work. Values are
drawn by Hypothesis (not from a hidden random stream) wherever they are small, so
failures shrink to minimal examples.

:func:`structured_targets` draws a structured map together with the certificate the
library promises for it (the certificate table of the theory page), for every
constructor (the transforms included) and closure rule, which makes an expressivity
claim a three-line property test:

Examples
--------
>>> from hypothesis import given, settings
>>> from kmatrix.testing import assert_certificate, assert_matches_dense
>>> from kmatrix.testing.strategies import structured_targets
>>> @settings(max_examples=5, deadline=None)
... @given(structured_targets(names=["low_rank", "sum"]))
... def test_expressivity(t):
...     assert_matches_dense(t.kmatrix, t.dense)
...     assert_certificate(t.kmatrix, width=t.width, expansion=t.expansion)
>>> test_expressivity()
"""

__all__ = [
    "DTYPES",
    "STRUCTURED_NAMES",
    "StructuredTarget",
    "kmatrices",
    "permutations",
    "sparse_matrices",
    "low_rank_factors",
    "structured_targets",
    "Circuit",
    "circuits",
]

from ._drawing import DTYPES
from ._operands import Circuit, circuits, kmatrices, low_rank_factors, permutations, sparse_matrices
from ._targets import STRUCTURED_NAMES, StructuredTarget, structured_targets

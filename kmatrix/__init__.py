"""kmatrix: Kaleidoscope matrices (Dao et al., ICLR 2020) as SciPy linear operators.

A K-matrix is a product of butterfly factors; it represents every structured linear
map (DFT, permutations, sparse, low-rank, convolutions, Hadamard) exactly, with
near-optimal parameters and O(N log N) cost. Importing compiles nothing.

Examples
--------
>>> import numpy as np, kmatrix as km
>>> K = km.random(8, rng=0)
>>> np.allclose(K @ np.eye(8), K.toarray())
True
"""

from ._operator import KMatrix
from .constructors.basic import diag, identity, random
from .io import load, save

__version__ = "0.1.0"

__all__ = [
    "KMatrix",
    "identity",
    "diag",
    "random",
    "save",
    "load",
]

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

from . import cuda  # noqa: F401 - km.cuda.is_available(); imports no CUDA code
from ._arithmetic import CostWarning
from ._generated import GeneratedKMatrix
from ._operator import KMatrix
from ._threads import get_workers, set_workers
from .constructors.basic import diag, identity, random
from .constructors.circulant import circulant, convolution, toeplitz
from .constructors.circuit import from_circuit
from .constructors.closure import kron
from .constructors.closure import ksum as sum  # noqa: A001 - km.sum([...]) is the closure sum
from .constructors.fourier import dft, hadamard, idft
from .constructors.lowrank import low_rank
from .constructors.multidim import convolution2d, dftn, idftn
from .constructors.permutation import bit_reversal, permutation
from .constructors.realtransforms import dct, dctn, dht, dst, dstn, idct, idctn, idst, idstn
from .constructors.sparse import sparse
from .constructors.torch_layout import from_torch_butterfly, to_torch_butterfly
from .constructors.wavelet import haar
from .factorize import factorize
from .io import load, save
from .learn import fit, vjp

__version__ = "0.1.0"

__all__ = [
    "KMatrix",
    "GeneratedKMatrix",
    "CostWarning",
    "identity",
    "diag",
    "random",
    "permutation",
    "bit_reversal",
    "hadamard",
    "dft",
    "idft",
    "dct",
    "dst",
    "idct",
    "idst",
    "dctn",
    "dstn",
    "idctn",
    "idstn",
    "dht",
    "circulant",
    "toeplitz",
    "convolution",
    "sparse",
    "low_rank",
    "haar",
    "dftn",
    "idftn",
    "convolution2d",
    "from_circuit",
    "from_torch_butterfly",
    "to_torch_butterfly",
    "sum",
    "kron",
    "save",
    "load",
    "vjp",
    "fit",
    "factorize",
    "set_workers",
    "get_workers",
]

"""Type aliases of the public signatures (arguments that take several forms)."""

from __future__ import annotations

__all__ = ["ShapeLike", "ShapeNDLike", "SeedLike", "NormWord", "Scalar", "DeviceArray", "StreamLike",
           "Gate"]

from typing import Any, Literal, Optional, Union

import numpy as np

# A side n (square n x n) or (rows, cols).
ShapeLike = Union[int, tuple[int, int]]
# An int (one axis) or a sequence of sides.
ShapeNDLike = Union[int, tuple[int, ...], list[int]]
# What numpy.random.default_rng accepts.
SeedLike = Union[None, int, np.random.Generator, np.random.BitGenerator, np.random.SeedSequence]
# The norm words of numpy.fft and scipy.fft (None: "backward").
NormWord = Optional[Literal["backward", "ortho", "forward"]]
# A number that scales an operator.
Scalar = Union[int, float, complex, np.number]
# A GPU array: a Numba device array or an object with __cuda_array_interface__ (CuPy,
# torch); their types are not imported here (the packages are optional).
DeviceArray = Any
# A CUDA stream: a numba.cuda stream, an int, or an object with __cuda_stream__.
StreamLike = Any
# A linear arithmetic circuit's gate (i, a, j, b): wire a * w[i] + b * w[j].
Gate = tuple[int, complex, int, complex]

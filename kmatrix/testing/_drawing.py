"""Building blocks of the Hypothesis strategies: arguments, shapes, entries, certificate sizes.

Every strategy argument that chooses something takes a plain value or a strategy
(:func:`as_strategy`); entries are drawn bounded and finite (:func:`elements`), so dense
targets stay far from overflow; the expansion helpers give the certificate bounds of
padded and circulant-embedded operators (the certificate table of the theory page).
"""

from __future__ import annotations

__all__ = [
    "DTYPES",
    "as_strategy",
    "as_shape_pair",
    "shape_pairs",
    "next_pow2",
    "is_pow2",
    "padded_expansion",
    "embedded_expansion",
    "elements",
    "draw_array",
    "oracle_dense",
]

import operator
from typing import Any, TypeVar

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.strategies import SearchStrategy
from numpy.typing import DTypeLike, NDArray

from .._layout import SUPPORTED_DTYPES, internal_size_for
from .._operator import KMatrix
from .._reference import dense_reference

T = TypeVar("T")

DTYPES: tuple[np.dtype[Any], ...] = tuple(SUPPORTED_DTYPES)


def as_strategy(x: T | SearchStrategy[T]) -> SearchStrategy[T]:
    """``x`` itself if it is a strategy, else the strategy that always draws ``x``."""
    return x if isinstance(x, SearchStrategy) else st.just(x)


def as_shape_pair(shape: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """``(rows, cols)`` of an int (square) or a pair."""
    if isinstance(shape, (tuple, list)):
        rows, cols = shape
        return operator.index(rows), operator.index(cols)
    n = operator.index(shape)
    return n, n


def shape_pairs(shapes: Any, max_side: int) -> SearchStrategy[tuple[int, int]]:
    """Strategy of ``(rows, cols)``: from ``shapes`` (value or strategy), or sides in
    ``[1, max_side]`` when it is None."""
    if shapes is None:
        return st.tuples(st.integers(1, max_side), st.integers(1, max_side))
    return as_strategy(shapes).map(as_shape_pair)


def next_pow2(x: int) -> int:
    """Smallest power of two ``>= x`` (1 for ``x <= 1``)."""
    return 1 << max(int(x) - 1, 0).bit_length()


def is_pow2(n: int) -> bool:
    """Whether ``n`` is a power of two (1 included)."""
    return n >= 1 and n & (n - 1) == 0


def padded_expansion(rows: int, cols: int) -> float:
    """Expansion that padding alone forces for a ``rows x cols`` operator."""
    return internal_size_for(rows, cols) / max(rows, cols)


def embedded_expansion(rows: int, cols: int) -> float:
    """Expansion of a ``rows x cols`` Toeplitz embedded in a circulant (``rows + cols - 1``)."""
    return max(2, next_pow2(rows + cols - 1)) / max(rows, cols)


def elements(dtype: DTypeLike, magnitude: float = 10.0) -> SearchStrategy[Any]:
    """Finite, normal numbers of ``dtype`` with modulus at most ``magnitude``."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        # Hypothesis bounds the exact modulus; the modulus computed in single precision
        # can round above it, so leave a margin of a few ulps.
        return st.complex_numbers(
            max_magnitude=magnitude * (1 - 2.0**-20), allow_nan=False, allow_infinity=False,
            allow_subnormal=False, width=8 * dtype.itemsize,
        )
    return st.floats(
        -magnitude, magnitude, allow_nan=False, allow_infinity=False,
        allow_subnormal=False, width=8 * dtype.itemsize,
    )


def draw_array(draw: st.DrawFn, dtype: DTypeLike, shape: int | tuple[int, ...]) -> NDArray[Any]:
    """An array of ``shape`` with entries from :func:`elements`."""
    return draw(hnp.arrays(np.dtype(dtype), shape, elements=elements(dtype)))


def oracle_dense(K: KMatrix, dtype: DTypeLike | None = None) -> NDArray[Any]:
    """The pure-NumPy oracle's dense form of ``K``, computed in ``dtype`` (default ``K``'s)."""
    tw = np.asarray(K.twiddle)
    return dense_reference(tw if dtype is None else tw.astype(dtype), K.shape)

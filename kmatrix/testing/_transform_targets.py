"""Builders of :func:`~kmatrix.testing.strategies.structured_targets` for the transforms.

Each builder draws ``(K, dense, width, expansion)``: a K-matrix with every side at most
``max_n``, its dense definition from NumPy/SciPy (``scipy.fft``'s real transforms,
``numpy.fft.fftn``, ``scipy.signal.convolve2d``, the Hartley and Haar transforms written
out, direct evaluation of a circuit) and the certificate bounds of the theory page.
"""

from __future__ import annotations

__all__ = ["Drawn", "TRANSFORM_BUILDERS", "trig_certificate"]

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.fft
from hypothesis import strategies as st
from numpy.typing import ArrayLike

import kmatrix as km

from .._operator import KMatrix
from .._typing import NormWord
from ._drawing import DTYPES, draw_array, is_pow2, next_pow2
from ._operands import circuits

# (operator, dense target, width bound, expansion bound)
Drawn = tuple[KMatrix, ArrayLike, int, float]
Builder = Callable[[st.DrawFn, int], Drawn]

_NORMS: list[NormWord] = [None, "backward", "ortho", "forward"]
# the type of the transform that an inverse is (scipy.fft: idct type t is dct type INVERSE[t])
_INVERSE_TYPE = {1: 1, 2: 3, 3: 2, 4: 4}
_COMPLEX = [np.complex128, np.complex64]


def _bluestein_size(n: int) -> int:
    """The chirp circulant's size bound ``2**ceil(log2(2n - 1))`` (at least 2)."""
    return max(2, next_pow2(2 * n - 1))


def trig_certificate(kind: str, type_: int, n: int) -> tuple[int, float]:
    """``(width, expansion)`` bound of the 1-D ``dct``/``dst`` (``kind``) of ``type_`` and size ``n``.

    The rows of the certificate table: Makhoul for types 2 and 3 at ``n = 2**k >= 4``;
    the symmetric extension when the DFT size ``P`` of the construction (``2n``;
    ``2(n - 1)``, ``2(n + 1)`` for type 1) is a power of two; type 1 at ``n = 2**k``:
    extension, one circulant of size ``2n``, fold; else a chirped block and its
    conjugate, ``2 L / n`` with ``L`` the Bluestein size.
    """
    if type_ in (2, 3) and n >= 4 and is_pow2(n):
        return 4, 1.0
    P = {("dct", 1): 2 * (n - 1), ("dst", 1): 2 * (n + 1)}.get((kind, type_), 2 * n)
    if P >= 2 and is_pow2(P):
        return 2, P / n
    if type_ == 1 and is_pow2(n):
        return 3, 2.0
    return 1, 2 * _bluestein_size(n) / n


def _draw_trig_args(draw: st.DrawFn, types: list[int]) -> tuple[int, Any, Any, Any]:
    type_ = draw(st.sampled_from(types))
    norm = draw(st.sampled_from(_NORMS))
    orthogonalize = draw(st.sampled_from([None, True, False]))
    return type_, norm, orthogonalize, draw(st.sampled_from(DTYPES))


def _trig(name: str) -> Builder:
    """Builder of ``dct``, ``dst``, ``idct`` or ``idst`` (``name``): SciPy's, along axis 0."""
    kind = name.lstrip("i")

    def build(draw: st.DrawFn, max_n: int) -> Drawn:
        # the DCT of type 1 needs n >= 2 (as in SciPy)
        types = [1, 2, 3, 4] if kind == "dst" or max_n >= 2 else [2, 3, 4]
        type_, norm, orthogonalize, dtype = _draw_trig_args(draw, types)
        low = 2 if kind == "dct" and type_ == 1 else 1
        n = draw(st.integers(low, max_n))
        K = getattr(km, name)(n, type=type_, norm=norm, orthogonalize=orthogonalize, dtype=dtype)
        dense = getattr(scipy.fft, name)(np.eye(n), type=type_, norm=norm,
                                         orthogonalize=orthogonalize, axis=0)
        base = _INVERSE_TYPE[type_] if name.startswith("i") else type_
        return (K, dense, *trig_certificate(kind, base, n))

    return build


def _draw_grid(draw: st.DrawFn, max_n: int, low: int = 1) -> tuple[int, int]:
    """A 2-D shape ``(a, b)`` with sides ``>= low`` and ``a * b <= max(max_n, low**2)``."""
    a = draw(st.integers(low, max(low, max_n // low)))
    b = draw(st.integers(low, max(low, max_n // a)))
    return a, b


def _trig_n(name: str) -> Builder:
    """Builder of ``dctn``, ``dstn``, ``idctn`` or ``idstn`` on 2-D shapes (row-major)."""
    kind = name.rstrip("n").lstrip("i")

    def build(draw: st.DrawFn, max_n: int) -> Drawn:
        # a DCT of type 1 needs every side >= 2: only when a 2 x 2 grid fits
        types = [1, 2, 3, 4] if kind == "dst" or max_n >= 4 else [2, 3, 4]
        type_, norm, orthogonalize, dtype = _draw_trig_args(draw, types)
        shape = _draw_grid(draw, max_n, low=2 if kind == "dct" and type_ == 1 else 1)
        size = shape[0] * shape[1]
        K = getattr(km, name)(shape, type=type_, norm=norm, orthogonalize=orthogonalize,
                              dtype=dtype)
        basis = np.eye(size).reshape(size, *shape)
        dense = getattr(scipy.fft, name)(basis, type=type_, norm=norm,
                                         orthogonalize=orthogonalize, axes=(1, 2))
        base = _INVERSE_TYPE[type_] if name.startswith("i") else type_
        (w0, e0), (w1, e1) = (trig_certificate(kind, base, s) for s in shape)
        # Kronecker rule: the wider factor, plus the exact permutations that align the
        # second factor's two sides when it is narrower than its internal size
        # (expansion bound 1 means it is not); expansions multiply.
        width = max(w0, w1) + (2 if e1 != 1.0 else 0)
        return K, dense.reshape(size, size).T, width, e0 * e1

    return build


def _t_dht(draw: st.DrawFn, max_n: int) -> Drawn:
    n = draw(st.integers(1, max_n))
    norm = draw(st.sampled_from(_NORMS))
    K = km.dht(n, norm=norm, dtype=draw(st.sampled_from(DTYPES)))
    k = np.arange(n)
    angle = 2 * np.pi * (np.outer(k, k) % n) / n  # exact reduction of k j modulo n
    scale = {None: 1.0, "backward": 1.0, "ortho": n**-0.5, "forward": 1.0 / n}[norm]
    expansion = 2.0 if n >= 2 and is_pow2(n) else 2 * _bluestein_size(n) / n
    return K, scale * (np.cos(angle) + np.sin(angle)), 1, expansion


def _haar_dense(n: int, level: int) -> np.ndarray:
    """Orthonormal multilevel Haar analysis ``[a_L, d_L, ..., d_1]`` of the identity, written out."""
    a, details = np.eye(n), []
    for _ in range(level):
        even, odd = a[0::2], a[1::2]
        details.append((even - odd) / np.sqrt(2))
        a = (even + odd) / np.sqrt(2)
    return np.concatenate([a] + details[::-1])


def _t_haar(draw: st.DrawFn, max_n: int) -> Drawn:
    k = draw(st.integers(0, max_n.bit_length() - 1))
    n = 1 << k
    level = draw(st.one_of(st.none(), st.integers(0, k)))
    levels = k if level is None else level
    K = km.haar(n, level=level, dtype=draw(st.sampled_from(DTYPES)))
    width = 2 if levels and n > 2 else 1
    return K, _haar_dense(n, levels), width, max(2, n) / n


def _fourier_n(inverse: bool) -> Builder:
    """Builder of ``dftn`` / ``idftn`` on 2-D shapes: ``numpy.fft.fftn`` / ``ifftn``."""

    def build(draw: st.DrawFn, max_n: int) -> Drawn:
        shape = _draw_grid(draw, max_n)
        norm = draw(st.sampled_from(_NORMS))
        size = shape[0] * shape[1]
        K = (km.idftn if inverse else km.dftn)(shape, norm=norm,
                                                 dtype=draw(st.sampled_from(_COMPLEX)))
        fft = np.fft.ifftn if inverse else np.fft.fftn
        dense = fft(np.eye(size).reshape(size, *shape), axes=(1, 2), norm=norm)
        # Axes of length 1 change nothing; each other side runs at its DFT's internal
        # size (n for powers of two, else the Bluestein circulant's).
        sides = [s for s in shape if s > 1] or [1]
        internal = [max(2, s) if is_pow2(s) else _bluestein_size(s) for s in sides]
        width = 1 if all(is_pow2(s) for s in sides) else 3
        return K, dense.reshape(size, size).T, width, float(np.prod(internal)) / np.prod(sides)

    return build


def _t_convolution2d(draw: st.DrawFn, max_n: int) -> Drawn:
    import scipy.signal  # (only this builder needs it; it is slow to import)

    # Every side of the operator is at most the full output's size (m1+m2-1)(n1+n2-1).
    m1, n1 = _draw_grid(draw, max_n)
    m2 = draw(st.integers(1, max(1, max_n // n1 - m1 + 1)))
    n2 = draw(st.integers(1, max(1, max_n // (m1 + m2 - 1) - n1 + 1)))
    covers = (m1 >= m2 and n1 >= n2) or (m2 >= m1 and n2 >= n1)
    mode = draw(st.sampled_from(["full", "same", "valid"] if covers else ["full", "same"]))
    h = draw_array(draw, draw(st.sampled_from(DTYPES)), (m2, n2))
    K = km.convolution2d(h, (m1, n1), mode=mode)
    work = np.complex128 if h.dtype.kind == "c" else np.float64
    basis = np.eye(m1 * n1)
    dense = np.stack([scipy.signal.convolve2d(e.reshape(m1, n1), h.astype(work), mode=mode).ravel()
                      for e in basis], axis=1)
    # width 1 + (input rows spread) + (output rows packed): "full" packs nothing and
    # "valid" with the input covering the kernel spreads nothing.
    width = 2 if mode == "full" or (mode == "valid" and m1 >= m2 and n1 >= n2) else 3
    if mode == "full":
        return K, dense, width, 2.0
    # The 1-D Toeplitz of the flat arrays, rows padded to W (before unreachable kernel
    # rows and columns are dropped, which only shrinks W): at most
    # 2**ceil(log2(L_out + L_in - 1)) over the larger side.
    j0 = (n2 - 1) // 2 if mode == "same" else min(n1, n2) - 1
    out_r, out_c = (m1, n1) if mode == "same" else (abs(m1 - m2) + 1, abs(n1 - n2) + 1)
    W = max(n1, n2, j0 + out_c, n1 + n2 - 1 - j0)
    flat_out, flat_in = (out_r - 1) * W + out_c, (m1 - 1) * W + n1
    internal = max(2, next_pow2(flat_out + flat_in - 1))
    return K, dense, width, internal / max(out_r * out_c, m1 * n1)


def _t_from_circuit(draw: st.DrawFn, max_n: int) -> Drawn:
    side = min(6, max_n)
    c = draw(circuits(n=st.integers(1, side), max_gates=8, max_outputs=side))
    return km.from_circuit(c.n, c.gates, c.outputs), c.dense, c.width, c.expansion


TRANSFORM_BUILDERS: dict[str, Builder] = {
    "dct": _trig("dct"),
    "dst": _trig("dst"),
    "idct": _trig("idct"),
    "idst": _trig("idst"),
    "dht": _t_dht,
    "haar": _t_haar,
    "dftn": _fourier_n(False),
    "idftn": _fourier_n(True),
    "dctn": _trig_n("dctn"),
    "dstn": _trig_n("dstn"),
    "idctn": _trig_n("idctn"),
    "idstn": _trig_n("idstn"),
    "convolution2d": _t_convolution2d,
    "from_circuit": _t_from_circuit,
}

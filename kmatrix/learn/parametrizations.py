"""Maps from a real parameter vector to a twiddle, with their gradient pull-backs.

Three parametrizations of the ``2x2`` blocks of a twiddle (the canonical layout, theory page of the docs):

* ``"free"`` -- the entries themselves (real and imaginary parts for complex);
* ``"orthogonal"`` -- for real dtypes every 2x2 is ``[[c, -s r], [s, c r]]``: a rotation
  (``r = +1``) or a reflection (``r = -1``), so that every orthogonal 2x2 and hence
  every product of them is reachable; for complex dtypes the unitary group ``U(2)``
  through angles and phases.  Every factor and hence the internal operator stays
  orthogonal/unitary to rounding error;
* ``"permutation"`` -- "soft swaps" ``[[p, 1 - p], [1 - p, p]]`` with
  ``p = sigmoid(logit)``; :func:`round_permutation` snaps each block to the identity
  or the swap and returns the exact permutation the network routes.

Every parametrization maps ``theta`` (1-D float64) to a twiddle and pulls a twiddle
gradient ``D = dL/dRe t + i dL/dIm t`` back to ``dL/dtheta_k = sum Re(conj(D) dt/dtheta_k)``.
"""

from __future__ import annotations

__all__ = ["PARAMETRIZATIONS", "make_parametrization", "round_permutation"]

from typing import Any

import numpy as np
import numpy.typing as npt

from .._operator import KMatrix
from .._reference import apply_reference

_INITS = ("randn", "ortho", "identity")


def _check_init_array(init, shape):
    arr = np.asarray(init)
    if arr.shape != shape or arr.dtype.kind not in "iuf":
        raise ValueError(
            f"init array must be real with the parameter shape {shape}; "
            f"got shape {arr.shape} and dtype {arr.dtype}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("init array contains NaN or infinite entries")
    return np.array(arr, dtype=np.float64).ravel()


class _Base:
    """Common bookkeeping: twiddle shape ``(nblocks, m, N//2, 2, 2)`` and the dtype."""

    name = ""

    def __init__(self, nblocks: int, m: int, complex_: bool) -> None:
        self.tw_shape = (nblocks, m, 1 << (m - 1), 2, 2)
        self.complex = complex_
        self.dtype = np.dtype(np.complex128 if complex_ else np.float64)

    @property
    def size(self) -> int:
        return int(np.prod(self.param_shape))

    def initial(self, init: Any, rng: np.random.Generator) -> npt.NDArray[np.float64]:
        if isinstance(init, str):
            if init not in _INITS:
                raise ValueError(f"init must be one of {_INITS} or an array; got {init!r}")
            return self._initial(init, rng)
        if isinstance(init, KMatrix):
            raise TypeError(
                f"a KMatrix init (warm start) needs parametrization='free'; got {self.name!r}"
            )
        return _check_init_array(init, self.param_shape)


class Free(_Base):
    """The twiddle entries themselves (real view for complex dtypes)."""

    name = "free"

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self.tw_shape + ((2,) if self.complex else ())

    def initial(self, init: Any, rng: np.random.Generator) -> npt.NDArray[np.float64]:
        if isinstance(init, KMatrix):
            init = init.twiddle
            if init.shape != self.tw_shape:
                raise ValueError(
                    f"init KMatrix must have twiddle shape {self.tw_shape}; got {init.shape}"
                )
            if init.dtype.kind == "c" and not self.complex:
                raise TypeError("a complex init KMatrix cannot start a real fit")
            return self.to_params(init)
        return super().initial(init, rng)

    def _initial(self, init, rng):
        from ..constructors.basic import random

        nb, m, half = self.tw_shape[:3]
        n = 2 * half
        k = random(n, width=nb // 2, dtype=self.dtype, init=init, rng=rng)
        return self.to_params(k.twiddle)

    def to_params(self, tw: npt.NDArray) -> npt.NDArray[np.float64]:
        tw = np.asarray(tw, dtype=self.dtype)
        return np.ascontiguousarray(tw).view(np.float64).ravel().copy()

    def twiddle(self, theta: npt.NDArray[np.float64]) -> npt.NDArray:
        return theta.view(self.dtype).reshape(self.tw_shape)

    def pullback(self, theta: npt.NDArray[np.float64], dtw: npt.NDArray) -> npt.NDArray[np.float64]:
        if not self.complex:
            return np.ascontiguousarray(dtw.real, dtype=np.float64).ravel()
        return np.ascontiguousarray(dtw, dtype=np.complex128).view(np.float64).ravel()


class Orthogonal(_Base):
    """Real: an angle and a reflection flag per 2x2. Complex: ``U(2)`` through
    (theta, alpha, beta, phi).

    Real: ``t = [[cos a, -r sin a], [sin a, r cos a]]`` with ``r = +1`` (rotation) where
    the flag is ``>= 0`` and ``r = -1`` (reflection) where it is negative. ``O(2)`` has
    two components, which no continuous parameter can join, so the flag is discrete:
    its gradient is zero, an optimizer keeps it, and the init chooses it (Haar-random
    for ``"randn"``/``"ortho"``, rotations for ``"identity"``). ``det t = r``, so the
    determinant of the whole operator is the product of the flags' signs, which
    :meth:`with_determinant` sets.

    Complex: ``t = e^{i phi} [[e^{i alpha} cos theta, e^{i beta} sin theta],
    [-e^{-i beta} sin theta, e^{-i alpha} cos theta]]`` (``U(2)`` is connected).
    """

    name = "orthogonal"

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self.tw_shape[:3] + ((4,) if self.complex else (2,))

    def _initial(self, init, rng):
        theta = np.zeros(self.param_shape)
        if init != "identity":
            theta[..., 0] = rng.uniform(-np.pi, np.pi, self.param_shape[:-1])
            if self.complex:
                theta[..., 1:] = rng.uniform(-np.pi, np.pi, self.param_shape[:-1] + (3,))
            else:  # half rotations, half reflections: Haar measure on O(2)
                theta[..., 1] = np.where(rng.random(self.param_shape[:-1]) < 0.5, 1.0, -1.0)
        elif not self.complex:
            theta[..., 1] = 1.0
        return theta.ravel()

    def with_determinant(self, theta: npt.NDArray[np.float64], sign: int) -> npt.NDArray[np.float64]:
        """``theta`` with one reflection flag flipped if needed so that the internal
        operator's determinant has the sign of ``sign`` (real only; complex unchanged)."""
        if self.complex or sign == 0:
            return theta
        theta = np.array(theta, dtype=np.float64)
        flags = theta.reshape(self.param_shape)[..., 1]
        det = -1.0 if np.count_nonzero(flags < 0) % 2 else 1.0
        if det * sign < 0:
            first = theta.reshape(self.param_shape)[0, 0, 0]
            first[1] = -1.0 if first[1] >= 0 else 1.0
        return theta

    def from_twiddle(self, tw: npt.NDArray) -> npt.NDArray[np.float64]:
        """Parameters of the orthogonal (unitary) twiddle nearest to ``tw`` block by block.

        Real: a block of non-negative determinant goes to the nearest rotation (angle
        ``atan2(t10 - t01, t00 + t11)``), any other to the nearest reflection
        (``atan2(t10 + t01, t00 - t11)``): the Frobenius-nearest element of each
        component of ``O(2)``. Complex: the unitary factor of each block's polar
        decomposition (its Frobenius-nearest unitary), written in the angles
        ``(theta, alpha, beta, phi)``.

        Examples
        --------
        >>> import kmatrix as km
        >>> p = make_parametrization("orthogonal", 2, 3, True)
        >>> tw = km.dft(8, norm="ortho").twiddle             # unitary blocks
        >>> bool(np.allclose(p.twiddle(p.from_twiddle(tw)), tw))
        True
        """
        if self.complex:
            return self._from_unitary(np.asarray(tw, dtype=np.complex128).reshape(self.tw_shape))
        t = np.asarray(tw, dtype=np.float64).reshape(self.tw_shape)
        t00, t01, t10, t11 = t[..., 0, 0], t[..., 0, 1], t[..., 1, 0], t[..., 1, 1]
        reflect = t00 * t11 - t01 * t10 < 0
        theta = np.empty(self.param_shape)
        theta[..., 0] = np.where(
            reflect, np.arctan2(t10 + t01, t00 - t11), np.arctan2(t10 - t01, t00 + t11)
        )
        theta[..., 1] = np.where(reflect, -1.0, 1.0)
        return theta.ravel()

    def _from_unitary(self, t):
        u, _, vh = np.linalg.svd(t)
        t = u @ vh  # polar factor: the nearest unitary block
        # t = e^{i phi} [[e^{i alpha} c, e^{i beta} s], [-e^{-i beta} s, e^{-i alpha} c]]
        # has determinant e^{2 i phi}; either square root of it serves (a shift of phi
        # by pi is undone by alpha and beta shifted by pi).
        phi = 0.5 * np.angle(t[..., 0, 0] * t[..., 1, 1] - t[..., 0, 1] * t[..., 1, 0])
        v = t * np.exp(-1j * phi)[..., None, None]
        theta = np.empty(self.param_shape)
        theta[..., 0] = np.arctan2(np.abs(v[..., 0, 1]), np.abs(v[..., 0, 0]))
        theta[..., 1] = np.angle(v[..., 0, 0])
        theta[..., 2] = np.angle(v[..., 0, 1])
        theta[..., 3] = phi
        return theta.ravel()

    def _parts(self, theta):
        a = theta.reshape(self.param_shape)
        if not self.complex:
            r = np.where(a[..., 1] < 0, -1.0, 1.0)
            return np.cos(a[..., 0]), np.sin(a[..., 0]), r
        th, al, be, ph = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
        c, s = np.cos(th), np.sin(th)
        e00 = np.exp(1j * (ph + al))
        e01 = np.exp(1j * (ph + be))
        e10 = -np.exp(1j * (ph - be))
        e11 = np.exp(1j * (ph - al))
        return c, s, e00, e01, e10, e11

    def twiddle(self, theta: npt.NDArray[np.float64]) -> npt.NDArray:
        tw = np.empty(self.tw_shape, dtype=self.dtype)
        if not self.complex:
            c, s, r = self._parts(theta)
            tw[..., 0, 0] = c
            tw[..., 0, 1] = -s * r
            tw[..., 1, 0] = s
            tw[..., 1, 1] = c * r
            return tw
        c, s, e00, e01, e10, e11 = self._parts(theta)
        tw[..., 0, 0] = e00 * c
        tw[..., 0, 1] = e01 * s
        tw[..., 1, 0] = e10 * s
        tw[..., 1, 1] = e11 * c
        return tw

    def pullback(self, theta: npt.NDArray[np.float64], dtw: npt.NDArray) -> npt.NDArray[np.float64]:
        if not self.complex:
            d = dtw.real
            c, s, r = self._parts(theta)
            g = np.zeros(self.param_shape)  # the flags' gradient is zero: they stay put
            g[..., 0] = (-s * d[..., 0, 0] - c * r * d[..., 0, 1] + c * d[..., 1, 0]
                         - s * r * d[..., 1, 1])
            return g.ravel()
        c, s, e00, e01, e10, e11 = self._parts(theta)
        t00, t01, t10, t11 = e00 * c, e01 * s, e10 * s, e11 * c
        dc = np.conj(dtw)
        d00, d01, d10, d11 = dc[..., 0, 0], dc[..., 0, 1], dc[..., 1, 0], dc[..., 1, 1]
        g = np.empty(self.param_shape)
        g[..., 0] = np.real(d00 * e00 * -s + d01 * e01 * c + d10 * e10 * c + d11 * e11 * -s)
        g[..., 1] = np.real(1j * (d00 * t00 - d11 * t11))
        g[..., 2] = np.real(1j * (d01 * t01 - d10 * t10))
        g[..., 3] = np.real(1j * (d00 * t00 + d01 * t01 + d10 * t10 + d11 * t11))
        return g.ravel()


class SoftPermutation(_Base):
    """Soft swap ``[[p, 1 - p], [1 - p, p]]`` with ``p = sigmoid(logit)`` per 2x2.

    ``init="randn"`` draws logits from ``N(0, 1)``; ``init="identity"`` starts every
    block at ``p = sigmoid(2) ~ 0.88``, near the identity but with a usable gradient.
    """

    name = "permutation"

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self.tw_shape[:3]

    def _initial(self, init, rng):
        if init == "identity":
            return np.full(self.size, 2.0)
        return rng.standard_normal(self.size)

    def twiddle(self, theta: npt.NDArray[np.float64]) -> npt.NDArray:
        p = _expit(theta.reshape(self.param_shape))
        tw = np.empty(self.tw_shape, dtype=self.dtype)
        tw[..., 0, 0] = p
        tw[..., 1, 1] = p
        tw[..., 0, 1] = 1 - p
        tw[..., 1, 0] = 1 - p
        return tw

    def pullback(self, theta: npt.NDArray[np.float64], dtw: npt.NDArray) -> npt.NDArray[np.float64]:
        p = _expit(theta.reshape(self.param_shape))
        d = dtw.real
        g = (d[..., 0, 0] + d[..., 1, 1] - d[..., 0, 1] - d[..., 1, 0]) * (p * (1 - p))
        return np.ascontiguousarray(g, dtype=np.float64).ravel()


PARAMETRIZATIONS = {"free": Free, "orthogonal": Orthogonal, "permutation": SoftPermutation}


def make_parametrization(name: str, nblocks: int, m: int, complex_: bool) -> _Base:
    """Instantiate the parametrization called ``name`` for a twiddle of ``nblocks x m``."""
    if not isinstance(name, str) or name not in PARAMETRIZATIONS:
        raise ValueError(
            f"parametrization must be one of {tuple(PARAMETRIZATIONS)}; got {name!r}"
        )
    # Soft swaps are real whatever the data; the others follow the data's kind.
    return PARAMETRIZATIONS[name](nblocks, m, complex_ and name != "permutation")


def round_permutation(
    K: KMatrix, *, return_indices: bool = False
) -> KMatrix | tuple[KMatrix, npt.NDArray[np.intp]]:
    """Round a (relaxed) permutation network to the exact permutation it routes.

    Every 2x2 block ``t`` is snapped to the identity when ``|t00 t11| >= |t01 t10|``
    and to the swap otherwise; for a soft swap this is ``p >= 1/2``, and since both
    products scale alike when a row of the block is scaled, the rule is blind to the
    diagonal gauge between factors (it also rounds free fits). The resulting 0/1
    network is evaluated on the index vector, and the permutation it routes is
    returned as ``km.permutation(p)``.

    Parameters
    ----------
    K : KMatrix or FitResult
        A square K-matrix, typically ``fit(..., parametrization="permutation").kmatrix``.
    return_indices : bool, default False
        Also return the index array ``p`` (``permutation(p) @ x == x[p]``).

    Returns
    -------
    P : KMatrix
        ``km.permutation(p)``.
    p : ndarray of int, only if ``return_indices``

    Raises
    ------
    ValueError
        If ``K`` is not square, or if the rounded network moves coordinates into the
        zero padding (possible only with expansion > 1), so that it is not a
        permutation of the ``n`` coordinates.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> from kmatrix.learn import round_permutation
    >>> tw = np.zeros((2, 2, 2, 2, 2)); tw[..., 0, 0] = tw[..., 1, 1] = 0.9
    >>> tw[..., 0, 1] = tw[..., 1, 0] = 0.1
    >>> tw[0, 0, 0] = [[0.2, 0.8], [0.8, 0.2]]   # one soft swap, of entries 0 and 2
    >>> P, p = round_permutation(km.KMatrix(tw), return_indices=True)
    >>> p
    array([2, 1, 0, 3])
    """
    K = getattr(K, "kmatrix", K)
    if not isinstance(K, KMatrix):
        raise TypeError(
            f"round_permutation expects a KMatrix or a FitResult; got {type(K).__name__}"
        )
    rows, cols = K.shape
    if rows != cols:
        raise ValueError(f"round_permutation expects a square KMatrix; got shape {K.shape}")
    t = K.twiddle
    keep = np.abs(t[..., 0, 0] * t[..., 1, 1]) >= np.abs(t[..., 0, 1] * t[..., 1, 0])
    snapped = np.zeros(t.shape, dtype=np.float64)
    snapped[..., 0, 0] = snapped[..., 1, 1] = keep
    snapped[..., 0, 1] = snapped[..., 1, 0] = ~keep
    # A 0/1 routing network moves integers exactly, so the image of 1..n is the permutation.
    image = apply_reference(snapped, np.arange(1.0, cols + 1), K.shape)
    p = np.rint(image).astype(np.intp) - 1
    if not np.array_equal(np.sort(p), np.arange(cols)):
        raise ValueError(
            "the rounded network is not a permutation of the first "
            f"{cols} coordinates (it routes some into the zero padding)"
        )
    from ..constructors.permutation import permutation

    P = permutation(p)
    return (P, p) if return_indices else P


def _expit(z):
    """Logistic sigmoid, overflow-free (scipy.special.expit without importing SciPy.special)."""
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out

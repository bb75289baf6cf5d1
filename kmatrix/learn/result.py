"""The outcome of :func:`~kmatrix.learn.fit`: :class:`FitResult`."""

from __future__ import annotations

__all__ = ["FitResult"]

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .._operator import KMatrix


@dataclass
class FitResult:
    """Outcome of :func:`~kmatrix.learn.fit`.

    Attributes
    ----------
    kmatrix : KMatrix
        The fitted operator, of the requested dtype.
    rel_error : float
        ``||K X - Y||_F / ||Y||_F`` of the returned ``kmatrix`` on the fitting data
        (``||K - T||_F / ||T||_F`` for a target compared on the identity).
    history : ndarray
        Relative error at the start and after every iteration of each optimizer run
        (a relaxed fit appends its real run to its complex run; for Adam with
        ``batch_size``, on that iteration's mini-batch).
    n_iter : int
        Iterations performed.
    converged : bool
        ``rel_error <= tol``. A failed fit is reported here, never by an exception:
        an optimizer that diverges (a non-finite loss, e.g. Adam with a too large
        ``lr``) stops, and the best iterate seen is returned with its honest error.
    message : str
        Why the optimizer stopped.
    parametrization : str
    params : ndarray
        Final real parameter vector of the parametrization, for the data brought to
        unit magnitude by powers of two (the fit is scale-invariant: ``kmatrix``
        carries the scale, spread evenly over its factors for ``"free"``).
    seconds : float
        Wall time of the fit.
    permutation : ndarray of int or None
        With ``permutation="learn"``: the learned index array ``p``; ``kmatrix`` is
        ``K @ km.permutation(p)``.
    model : str
        What was fitted: ``"plain"`` (``K``, or ``K @ P`` with a learned permutation)
        or ``"real part"`` (``Re(K) @ P``: the real part of a complex ``K`` of width 1
        and a permutation ``p`` of the first level of the recursive family; the
        result is ``(K + conj K) / 2 @ km.permutation(p)``, width 2 and expansion 2,
        see :mod:`kmatrix.learn.realpart`).
    restarts : list of FitResult
        With ``restarts > 1``: every restart's result (histories included), in seed
        order; the returned fields are those of the best one.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> res = km.fit(np.eye(4)[::-1], init="ortho", rng=0)
    >>> type(res).__name__, res.converged, res.kmatrix.shape
    ('FitResult', True, (4, 4))
    """

    kmatrix: KMatrix
    rel_error: float
    history: npt.NDArray[np.float64] = field(repr=False)
    n_iter: int
    converged: bool
    message: str
    parametrization: str = "free"
    params: npt.NDArray[np.float64] | None = field(default=None, repr=False)
    seconds: float = 0.0
    permutation: npt.NDArray[np.intp] | None = field(default=None, repr=False)
    restarts: list[FitResult] = field(default_factory=list, repr=False)
    model: str = "plain"

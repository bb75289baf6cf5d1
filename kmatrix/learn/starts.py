"""Starting points of a free fit: the orthogonal start and the balanced scale.

:func:`orthogonal_start` runs the stages of a free fit to data that are orthogonal or
unitary up to scale (``Y = c Q X``); :func:`balanced` scales a named random init to
the data's norm; :func:`scaled` spreads a scale over all factors of a twiddle.
"""

from __future__ import annotations

__all__ = [
    "REALIFY_AT",
    "STALL",
    "GIVE_UP_STALL",
    "POLISH_STALL",
    "UNITARY_TRIES",
    "ORTHOGONAL_MEMORY",
    "orthogonal_start",
    "narrow_attempt",
    "identity_padded",
    "balanced",
    "scaled",
]

from typing import Any

import numpy as np
import numpy.typing as npt

from ..backends.cpu.vjp import twiddle_vjp
from .optimize import Objective
from .parametrizations import make_parametrization
from .relax import realify
from .stages import StageRunner

# Relative error at which the unitary stage of an orthogonal start hands over to real
# factors: the phase gauge then finds real factors close enough for the real
# orthogonal polish to converge (measured at sizes 32-256).
REALIFY_AT = 1e-3
# A unitary stage above relative error 0.1 at iteration 200, or 0.02 at iteration
# 400, sits in a local minimum (measured at sizes 32-256: converging runs are at
# 0.014-0.035 at 200 and below 0.01 at 400, stuck ones stay at 0.1-0.3; at size 256
# about half of the starts are stuck) and starts again from a new random point, at
# most UNITARY_TRIES times in all.
STALL = ((200, 0.1), (400, 0.02))
UNITARY_TRIES = 10
# With give_up (fit's model="auto" on real data, where the real-part model follows
# a plain fit that stalls), every unitary start, the last one too, is abandoned by
# GIVE_UP_STALL: converging starts are at most at 0.04 after 100 iterations, the
# starts on the DCT-II, DST-II and Hartley transforms of size 32-128 with width 2 at
# 0.3-0.95 (measured: width-1 teachers of size 64-256, the DFT and Hadamard of size
# 128-256). A polish stage above 1e-2 after 100 iterations ends the plain fit: those
# of converging fits start near REALIFY_AT (the Hadamard of size 256 with width 2:
# at 0.26, and below 1e-4 after 50 iterations), those of stalled ones at 0.3-0.8 and
# spend 1000 iterations each to end at 0.2-0.6.
GIVE_UP_STALL = ((100, 0.2),) + STALL
POLISH_STALL = ((100, 1e-2),)
# L-BFGS correction pairs of the unitary stage and of the real orthogonal polish (a few
# angles per block: cheap); their convergence is linear and slow near 1e-6 with the
# default 20 (the real polish at size 256; the DFT of size 64 with width 2 stopped at
# 1.3e-6 after 1000 unitary and 1000 free iterations, and converges with 50).
ORTHOGONAL_MEMORY = 50


def scaled(tw: npt.ArrayLike, c: float) -> npt.NDArray:
    """Twiddle ``tw`` with every factor multiplied by ``c ** (1 / factors)``.

    Examples
    --------
    >>> import kmatrix as km
    >>> K = km.random(8, rng=0)
    >>> K2 = km.KMatrix(scaled(K.twiddle, 3.0), K.shape)
    >>> bool(np.allclose(K2.toarray(), 3 * K.toarray()))
    True
    """
    tw = np.asarray(tw)
    return tw if c == 1.0 else tw * c ** (1.0 / (tw.shape[0] * tw.shape[1]))


def orthogonal_start(
    run: StageRunner,
    param: Any,
    X: npt.NDArray,
    Y: npt.NDArray,
    c: float,
    compute: np.dtype,
    tol: float,
    rng: np.random.Generator,
    give_up: bool = False,
) -> tuple[str, npt.NDArray[np.float64]]:
    """The stages of a free fit to data ``Y = c Q X`` with ``Q`` orthogonal/unitary.

    1. *unitary*: ``Q`` in the unitary parametrization from a random start. ``U(2)`` is
       connected; real rotations and reflections are not, and real orthogonal fits
       from random starts stop in local minima (width-1 teachers of size 128: 2 of 10
       recovered, against 10 of 10 this way). A stalled start starts again from a new
       random point; with width > 1, every other start fits one ``BB*`` product
       padded with identity blocks (:func:`narrow_attempt`).
    2. *orthogonal* (real data): the unitary twiddle brought to real factors by a phase
       gauge (:func:`~kmatrix.learn.relax.realify`) once it is within
       :data:`REALIFY_AT`, projected onto rotations/reflections and polished there.
    3. *free*: the factors times ``c ** (1 / factors)``, polished in the free
       parametrization only if the earlier stages stopped above ``tol`` (first with
       one ``BB*`` if a narrow start won, then with all blocks if still above).

    With ``give_up`` and real data, every unitary start is abandoned by
    :data:`GIVE_UP_STALL` and each polish by :data:`POLISH_STALL` (a stalled polish
    ends the fit).

    Returns ``(message, free parameters)``. Used by :func:`~kmatrix.learn.fit` with
    ``init="auto"``, e.g. ``km.fit(scipy.linalg.hadamard(16))``.
    """
    nblocks, m = param.tw_shape[:2]
    Yo = Y / c
    uobj = {}  # unitary parametrization and objective, by number of blocks

    def unitary(blocks):
        if blocks not in uobj:
            p = make_parametrization("orthogonal", blocks, m, True)
            uobj[blocks] = (p, Objective(p, X.astype(np.complex128), Yo.astype(np.complex128)))
        return uobj[blocks]

    goal = tol if compute.kind == "c" else max(tol, REALIFY_AT)
    # Complex data have no real-part model to hand over to.
    give_up = give_up and compute.kind == "f"
    best = None
    for attempt in range(UNITARY_TRIES):
        blocks = 2 if narrow_attempt(nblocks, attempt) else nblocks
        uparam, obj = unitary(blocks)
        run.why = None
        theta, msg = run(
            uparam, obj, uparam.initial("ortho", rng), goal=goal, scale=c,
            stall=GIVE_UP_STALL if give_up else (STALL if attempt < UNITARY_TRIES - 1 else None),
            memory=ORTHOGONAL_MEMORY,
        )
        rel = obj.rel_error(theta)
        if best is None or rel < best[0]:
            best = (rel, uparam.twiddle(theta), blocks)
        why = run.why or ""
        # A narrow start that ends above the goal (a local minimum of width 1, or a
        # target that needs the width) hands over to a wide start, not to the polish.
        if not why.startswith("stalled") and (blocks == nblocks or why):
            break
    _, tw, blocks = best
    width = "width 1 and identity blocks, " if blocks < nblocks else ""
    stages = f"unitary stage ({width}{attempt + 1} start{'s' if attempt else ''}): {msg}"
    stopped = run.why is not None and not run.why.startswith(("relative", "stalled"))
    if run.why is not None and run.why.startswith("stalled"):
        run.why = None
    polish = POLISH_STALL if give_up else None
    if compute.kind == "f" and not stopped:
        # A narrow start is polished narrow too: with its identity blocks free, the
        # real polish of the Hadamard matrix of size 64 with width 2 stopped at 2.8e-6.
        oparam = make_parametrization("orthogonal", blocks, m, False)
        run.why = None
        theta, msg = run(
            oparam, Objective(oparam, X, Yo), oparam.from_twiddle(realify(tw)), scale=c,
            stall=polish, memory=ORTHOGONAL_MEMORY,
        )
        stages += f"; orthogonal stage: {msg}"
        tw = oparam.twiddle(theta)
    elif compute.kind == "f":  # stopped in the unitary stage: real factors all the same
        tw = realify(tw)
    if run.why is None and blocks < nblocks:
        # The free polish of a narrow start is narrow too (the identity blocks free,
        # the Hadamard matrix of size 256 with width 2 stopped at 7.8e-6 after 1000
        # iterations; narrow, it converges in a few), and wide only if it stalls.
        narrow = make_parametrization("free", blocks, m, param.complex)
        theta, msg = run(narrow, Objective(narrow, X, Y), narrow.to_params(scaled(tw, c)),
                         stall=polish)
        stages += f"; free stage (width 1): {msg}"
        tw, c = narrow.twiddle(theta), 1.0
    theta = param.to_params(scaled(identity_padded(tw, nblocks), c))
    if run.why is None:
        theta, msg = run(param, Objective(param, X, Y), theta, stall=polish)
        stages += f"; free stage: {msg}"
    return stages, theta


def narrow_attempt(nblocks: int, attempt: int) -> bool:
    """Whether unitary attempt ``attempt`` of a fit with ``nblocks`` blocks fits one
    ``BB*`` product only (then padded with identity blocks, :func:`identity_padded`).

    Wider unitary fits from random starts stall far more often than width 1 on
    targets that width 1 holds: the DFT of size 256 with width 2 stayed at relative
    error 0.29 after 10 starts, while width 1 converges from about every second
    start. Even attempts are narrow and odd ones use all blocks (the targets that need
    the width), and the last attempt, which runs without the stall test, is wide.

    Examples
    --------
    >>> [narrow_attempt(4, a) for a in range(3)], narrow_attempt(2, 0)
    ([True, False, True], False)
    >>> narrow_attempt(4, UNITARY_TRIES - 1)
    False
    """
    return nblocks > 2 and attempt % 2 == 0 and attempt < UNITARY_TRIES - 1


def identity_padded(tw: npt.ArrayLike, nblocks: int) -> npt.NDArray:
    """Twiddle ``tw`` followed by identity blocks up to ``nblocks`` blocks: the same
    operator in a wider layout (later blocks apply after ``tw``'s).

    Examples
    --------
    >>> import kmatrix as km
    >>> K = km.random(8, rng=0)
    >>> tw = identity_padded(K.twiddle, 4)
    >>> tw.shape[0], bool(np.allclose(km.KMatrix(tw, K.shape).toarray(), K.toarray()))
    (4, True)
    """
    tw = np.asarray(tw)
    if tw.shape[0] >= nblocks:
        return tw
    pad = np.zeros((nblocks - tw.shape[0],) + tw.shape[1:], dtype=tw.dtype)
    pad[..., 0, 0] = pad[..., 1, 1] = 1
    return np.concatenate([tw, pad])


def balanced(param: Any, obj: Objective, theta: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Scale every factor of a free init by one factor ``c`` so that ``||K X|| = ||Y||``.

    A product of ``L`` factors scales as ``c^L``; matching the data's norm up front
    keeps all factors at the scale the solution needs (an unnormalized Hadamard of
    size 64 has entries 1, a ``"randn"`` init entries of size 0.7).

    Examples
    --------
    >>> from kmatrix.learn.parametrizations import make_parametrization
    >>> p = make_parametrization("free", 2, 3, False)
    >>> obj = Objective(p, np.eye(8), 5 * np.eye(8))
    >>> import kmatrix as km
    >>> th = balanced(p, obj, p.initial("randn", np.random.default_rng(0)))
    >>> K = km.KMatrix(np.asarray(p.twiddle(th)), (8, 8))
    >>> bool(np.isclose(np.linalg.norm(K.toarray()), np.linalg.norm(5 * np.eye(8))))
    True
    """
    tw = np.asarray(param.twiddle(theta), dtype=obj.compute)
    nfactors = tw.shape[0] * tw.shape[1]
    _, _, sq = twiddle_vjp(tw, obj.X, obj.Y * 0, residual=True)
    if not sq > 0:
        return theta
    return theta * (obj.y2 / sq) ** (0.5 / nfactors)

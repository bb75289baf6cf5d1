"""Theorem 1 as a constructor: a linear arithmetic circuit compiled to a K-matrix."""

from __future__ import annotations

__all__ = ["from_circuit"]

from collections.abc import Sequence
import numbers

import numpy as np
from numpy.typing import DTypeLike
import scipy.sparse

from .. import _algebra
from .._checks import as_int, check_dtype, check_size, value_dtype
from .._operator import KMatrix
from .sparse import sparse


def _wire(w, g, name, n):
    """Wire index ``w`` read by gate ``g``: an int that exists before wire ``n + g``."""
    w = as_int(w, f"gates[{g}]: {name}", "an integer wire index")
    if not 0 <= w < n + g:
        raise ValueError(
            f"gates[{g}] refers to wire {w}, which does not exist yet: gate {g} creates wire "
            f"{n + g}, and only wires 0..{n + g - 1} exist before it"
        )
    return w


def _weight(c, g, name):
    if isinstance(c, (bool, np.bool_)) or not isinstance(c, (numbers.Number, np.number)):
        raise TypeError(f"gates[{g}]: weight {name} must be a real or complex number; got {c!r}")
    if not np.isfinite(c):
        raise ValueError(f"gates[{g}]: weight {name} must be finite; got {c!r}")
    return c


def _parse(n, gates, outputs):
    """Validated ``(gates, outputs)``: lists of ``(i, a, j, b)`` and of wire indices."""
    if isinstance(gates, (str, bytes)) or not hasattr(gates, "__iter__"):
        raise TypeError(f"gates must be a sequence of (i, a, j, b) tuples; got {type(gates).__name__}")
    parsed = []
    for g, gate in enumerate(gates):
        try:
            i, a, j, b = gate
        except (TypeError, ValueError):
            raise ValueError(f"gates[{g}] must be a tuple (i, a, j, b); got {gate!r}") from None
        parsed.append((_wire(i, g, "i", n), _weight(a, g, "a"), _wire(j, g, "j", n), _weight(b, g, "b")))
    total = n + len(parsed)
    if isinstance(outputs, (str, bytes)) or not hasattr(outputs, "__iter__"):
        raise TypeError(f"outputs must be a sequence of wire indices; got {type(outputs).__name__}")
    outs = []
    for k, w in enumerate(outputs):
        w = as_int(w, f"outputs[{k}]", "an integer wire index")
        if not 0 <= w < total:
            raise ValueError(f"outputs[{k}] = {w} is not a wire: the circuit has wires 0..{total - 1}")
        outs.append(w)
    if not outs:
        raise ValueError("outputs must list at least one wire")
    return parsed, outs


def _normalize(n, gates):
    """Per gate ``{wire: weight}`` without zero weights or zero wires; depths; zero flags."""
    total = n + len(gates)
    depth = np.zeros(total, dtype=np.intp)
    zero = np.zeros(total, dtype=bool)
    terms = []
    for g, (i, a, j, b) in enumerate(gates):
        t = {}
        for w, c in ((i, a), (j, b)):
            if c != 0 and not zero[w]:
                t[w] = t.get(w, 0) + c
        t = {w: c for w, c in t.items() if c != 0}
        if t:
            depth[n + g] = 1 + max(depth[w] for w in t)
        else:
            zero[n + g] = True  # identically zero: read as the constant 0
        terms.append(t)
    return terms, depth, zero


def _layers(n, terms, depth, zero, outputs):
    """The layer matrices ``S_1, ..., S_D`` (SciPy COO), ``max(D, 1)`` of them."""
    total = n + len(terms)
    live_out = [w for w in outputs if not zero[w]]
    n_layers = max(1, max((int(depth[w]) for w in live_out), default=0))
    # last_use[w]: the last layer that reads w (beyond the last for outputs).
    needed = np.zeros(total, dtype=bool)
    needed[live_out] = True
    last_use = np.zeros(total, dtype=np.intp)
    last_use[live_out] = n_layers + 1
    for g in range(len(terms) - 1, -1, -1):
        w = n + g
        if needed[w]:
            for u in terms[g]:
                needed[u] = True
                last_use[u] = max(last_use[u], depth[w])
    born = [[] for _ in range(n_layers + 1)]
    dies = [[] for _ in range(n_layers + 2)]
    for w in np.flatnonzero(needed):
        born[depth[w]].append(int(w))
        dies[last_use[w]].append(int(w))
    alive = set(born[0])
    prev = list(range(n))  # layer 1 reads every input (the operator's columns)
    mats = []
    for t in range(1, n_layers + 1):
        alive.update(born[t])
        alive.difference_update(dies[t])
        rows = outputs if t == n_layers else sorted(alive)
        col = {w: k for k, w in enumerate(prev)}
        r_idx, c_idx, vals = [], [], []
        for r, w in enumerate(rows):
            if zero[w]:
                continue
            if w >= n and depth[w] == t:
                for u, c in terms[w - n].items():
                    r_idx.append(r)
                    c_idx.append(col[u])
                    vals.append(c)
            else:
                r_idx.append(r)
                c_idx.append(col[w])
                vals.append(1)
        mats.append((np.array(r_idx, dtype=np.intp), np.array(c_idx, dtype=np.intp), vals,
                     (len(rows), len(prev))))
        prev = rows
    return mats


def from_circuit(
    n: int,
    gates: Sequence[tuple[int, complex, int, complex]],
    outputs: Sequence[int],
    dtype: DTypeLike | None = None,
) -> KMatrix:
    """The linear map computed by an arithmetic circuit, as a K-matrix (Theorem 1).

    Parameters
    ----------
    n : int
        Number of inputs; wires ``0..n-1`` hold ``x[0..n-1]``.
    gates : sequence of (i, a, j, b)
        Gate ``g`` creates wire ``n + g`` with value ``a * w[i] + b * w[j]``; ``i`` and
        ``j`` must be existing wires (``< n + g``), ``a`` and ``b`` finite real or
        complex numbers.
    outputs : sequence of int
        The wires read out, one per row (repeats allowed): the operator has shape
        ``(len(outputs), n)``.
    dtype : dtype, optional
        Operator dtype; default from the weights (float64 for Python floats, complex128
        when a weight is complex, float32 when all are float32).

    Returns
    -------
    KMatrix
        ``K @ x`` equals the circuit's outputs.  With ``D`` the depth (the longest path
        to an output, at least 1) and ``s`` the number of gates: width at most
        ``2 D + 2``, internal size at most ``2**ceil(log2(max(2, n + 2 s, 2 m)))``
        (``m = len(outputs)``), so expansion ``< 4 (n + s) / n``.

    Raises
    ------
    ValueError
        A gate that reads a wire that does not exist yet, a non-finite weight, an output
        that is not a wire, an empty ``outputs``, a malformed gate.
    TypeError
        Wire indices that are not integers, weights that are not numbers.

    Notes
    -----
    Layer ``t`` holds the gates of depth ``t``.  Between layers, the *live* wires are
    those already computed and still read later; layer ``t`` maps the live wires
    before it to those after it: a gate's row has its (at most two) weights, a wire
    carried through has a 1.  That is a sparse matrix with ``s_t <= L_t + g_t``
    nonzeros (``L_t`` live wires, ``g_t`` gates), built by :func:`kmatrix.sparse`
    (column routing, copy, slot routing, sum, row routing: four ``BB*``).  The last
    layer's rows are ``outputs``.  Live wires are kept in one order on both sides of
    a junction and every one of them is read, so the row routing of layer ``t`` and
    the column routing of layer ``t + 1`` are identity permutations; the product
    merges them (:doc:`/theory`) and drops the result: each layer adds two ``BB*``, and
    only the first column routing (when an input is unused) and the last row routing
    (when an output is zero) remain.  Internal size:
    ``2**ceil(log2 max(2, n, m, s_1, ..., s_D))``; since ``L_t <= n + s`` and the last
    layer has at most ``2 m`` nonzeros, at most ``2**ceil(log2 max(2, n + 2 s, 2 m))``.
    A weight of 0 drops its input, and a gate whose inputs all drop is the constant 0.

    Examples
    --------
    The 2-point DFT ``[x0 + x1, x0 - x1]`` followed by a scaling:

    >>> import numpy as np, kmatrix as km
    >>> gates = [(0, 1.0, 1, 1.0), (0, 1.0, 1, -1.0), (3, 0.5, 3, 0.0)]
    >>> K = km.from_circuit(2, gates, outputs=[2, 4])
    >>> K @ np.array([3.0, 1.0])
    array([4., 1.])
    >>> K.shape, K.width <= 2 * 2 + 2
    ((2, 2), True)
    """
    n = check_size(n)
    parsed, outs = _parse(n, gates, outputs)
    weights = [c for (_, a, _, b) in parsed for c in (a, b)]
    if dtype is None:
        dtype = value_dtype(*(np.asarray(c).dtype for c in weights), name="the weights") if weights \
            else np.dtype(np.float64)
    else:
        dtype = check_dtype(dtype)
        if dtype.kind == "f" and any(np.iscomplexobj(c) and c.imag != 0 for c in weights):
            raise ValueError(f"the weights have nonzero imaginary parts; the operator cannot be {dtype}")
    terms, depth, zero = _normalize(n, parsed)
    layers = []
    for r_idx, c_idx, vals, shape in _layers(n, terms, depth, zero, outs):
        vals = np.array(vals, dtype=np.complex128 if dtype.kind == "c" else np.float64)
        if dtype.kind == "f":
            vals = vals.real
        S = scipy.sparse.coo_array((vals.astype(dtype), (r_idx, c_idx)), shape=shape)
        layers.append(sparse(S, dtype=dtype)._pair())
    return KMatrix._from_owned(*_algebra.chain(layers))

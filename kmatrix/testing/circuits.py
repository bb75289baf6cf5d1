"""Linear arithmetic circuits for :func:`kmatrix.from_circuit`: classic fast transforms and an evaluator.

A circuit on ``n`` inputs is a list of gates ``(i, a, j, b)``; gate ``g`` creates wire
``n + g = a * w[i] + b * w[j]``, and ``outputs`` lists the wires read out.  These
helpers build the radix-2 FFT and a fast DCT-II in that form and evaluate any circuit
directly, so the compiled K-matrix can be checked against both.

Examples
--------
>>> import numpy as np, kmatrix as km
>>> from kmatrix.testing.circuits import fft_circuit
>>> n, gates, outputs = fft_circuit(8)
>>> K = km.from_circuit(n, gates, outputs)
>>> np.allclose(K @ np.arange(8.0), np.fft.fft(np.arange(8.0)))
True
"""

from __future__ import annotations

__all__ = ["fft_circuit", "dct_circuit", "evaluate_circuit"]

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._typing import Gate


def _pow2(n, name):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or n & (n - 1):
        raise ValueError(f"{name} needs n to be a power of two; got {n!r}")
    return int(n)


def fft_circuit(n: int, inverse: bool = False) -> tuple[int, list[Gate], list[int]]:
    """Radix-2 decimation-in-time FFT as a circuit: ``(n, gates, outputs)``.

    The outputs are ``numpy.fft.fft(x)`` (``inverse=True``: ``n * numpy.fft.ifft(x)``,
    the unscaled inverse).  The bit reversal of the input is a relabelling of wires, so
    the circuit is ``log2 n`` layers of ``n`` gates ``x_u + w x_v``, ``x_u - w x_v``:
    depth ``log2 n``, ``s = n log2 n`` gates.

    Parameters
    ----------
    n : int
        A power of two.
    inverse : bool, default False

    Examples
    --------
    >>> from kmatrix.testing.circuits import fft_circuit, evaluate_circuit
    >>> import numpy as np
    >>> n, gates, outputs = fft_circuit(4)
    >>> len(gates), np.allclose(evaluate_circuit(n, gates, outputs, np.eye(4)), np.fft.fft(np.eye(4)))
    (8, True)
    """
    n = _pow2(n, "fft_circuit")
    m = n.bit_length() - 1
    sign = 1 if inverse else -1
    cur = [int(format(k, f"0{m}b")[::-1], 2) if m else 0 for k in range(n)]
    gates: list[Gate] = []
    size = 2
    while size <= n:
        half = size // 2
        new = list(cur)
        for start in range(0, n, size):
            for k in range(half):
                u, v = cur[start + k], cur[start + k + half]
                w = complex(np.exp(sign * 2j * np.pi * k / size))
                gates.append((u, 1.0, v, w))
                new[start + k] = n + len(gates) - 1
                gates.append((u, 1.0, v, -w))
                new[start + k + half] = n + len(gates) - 1
        cur = new
        size *= 2
    return n, gates, cur


def dct_circuit(n: int) -> tuple[int, list[Gate], list[int]]:
    """Fast DCT-II (Lee's recursion) as a circuit: outputs ``scipy.fft.dct(x, type=2)``.

    With ``X[k] = 2 sum_j x[j] cos(pi (2j + 1) k / (2n))``, the even outputs are the
    DCT of ``g[j] = x[j] + x[n-1-j]`` and the odd ones ``X[2k+1] = H[k] + H[k+1]``,
    with ``H`` the DCT of ``h[j] = (x[j] - x[n-1-j]) / (2 cos(pi (2j + 1) / (2n)))``:
    depth ``2 log2 n - 1``, about ``1.5 n log2 n`` gates, real weights.

    Parameters
    ----------
    n : int
        A power of two.

    Examples
    --------
    >>> import numpy as np, scipy.fft
    >>> from kmatrix.testing.circuits import dct_circuit, evaluate_circuit
    >>> n, gates, outputs = dct_circuit(8)
    >>> x = np.arange(8.0)
    >>> np.allclose(evaluate_circuit(n, gates, outputs, x), scipy.fft.dct(x, type=2))
    True
    """
    n = _pow2(n, "dct_circuit")
    gates: list[Gate] = []

    def gate(i, a, j, b):
        gates.append((i, a, j, b))
        return n + len(gates) - 1

    def lee(wires, scale):
        size = len(wires)
        if size == 1:
            return [wires[0] if scale == 1 else gate(wires[0], scale, wires[0], 0.0)]
        half = size // 2
        g, h = [], []
        for j in range(half):
            a, b = wires[j], wires[size - 1 - j]
            c = scale / (2 * np.cos(np.pi * (2 * j + 1) / (2 * size)))
            g.append(gate(a, scale, b, scale))
            h.append(gate(a, c, b, -c))
        G, H = lee(g, 1.0), lee(h, 1.0)
        out = [0] * size
        for k in range(half):
            out[2 * k] = G[k]
            out[2 * k + 1] = gate(H[k], 1.0, H[k + 1], 1.0) if k < half - 1 else H[k]
        return out

    return n, gates, lee(list(range(n)), 2.0)


def evaluate_circuit(n: int, gates: Sequence[Gate], outputs: Sequence[int],
                     x: ArrayLike) -> NDArray[Any]:
    """Evaluate the circuit gate by gate on ``x`` of shape ``(n,)`` or ``(n, k)``.

    Examples
    --------
    >>> import numpy as np
    >>> from kmatrix.testing.circuits import evaluate_circuit
    >>> evaluate_circuit(2, [(0, 1.0, 1, -1.0)], [2, 0], np.array([5.0, 3.0]))
    array([2., 5.])
    """
    x = np.asarray(x)
    dtype = np.result_type(x.dtype, *(np.asarray(c).dtype for _, a, _, b in gates for c in (a, b)))
    wires = list(x.astype(dtype))
    for i, a, j, b in gates:
        wires.append(a * wires[i] + b * wires[j])
    return np.array([wires[w] for w in outputs])

"""The four-step schedule: a K-matrix applied to columns split across row chunks.

Pad the input to the internal size ``N`` and cut it into ``P = N / C`` aligned chunks
of ``C`` rows (``C`` a power of two, ``C >= sqrt(N)``). Write a coordinate as
``p = hi * C + lo`` with ``hi < P``, ``lo < C``.

* A factor of stride ``s < C`` pairs ``p`` with ``p + s`` inside one chunk: chunk ``c``
  holds the pair indices ``[c C/2, (c+1) C/2)`` in order, so on that chunk the factor is
  a size-``C`` factor of the same stride whose 2x2 maps are that slice of the twiddle.
* A factor of stride ``s = S C`` pairs ``(hi, lo)`` with ``(hi + S, lo)``: for every
  ``lo`` it is a size-``P`` factor of stride ``S`` on ``hi``, and the pair index is
  ``i = ihi * C + lo``. After an exact transpose of the chunk grid (``rechunk`` from
  chunks holding one ``hi`` and every ``lo`` to chunks holding every ``hi`` and a range
  of ``L = C^2 / N`` values of ``lo``), a chunk ``(hi, lo')`` laid out as
  ``hi * L + lo'`` is again a butterfly of size ``P L``: the factor has stride ``S L``
  there and its 2x2 maps are ``twiddle[b, j].reshape(P/2, C)[:, l0:l0+L]``.

Application order is ``B*_0 B_1 B*_2 ...``: an even block runs its strides from ``N/2``
down, an odd block from ``1`` up, so the factors fall into alternating runs
``H_0 | L_0 L_1 | H_1 H_2 | ... | L_{2w-2} L_{2w-1} | H_{2w-1}`` of high (``>= C``) and
low (``< C``) strides. Each run is one local task per chunk (a small K-matrix with
identity padding, run by the ordinary kernels); between runs the chunk grid is
transposed. A width-``w`` operator therefore costs ``2w + 2`` all-to-all exchanges (two
per BB*, plus one into and one out of the transposed layout); runs made only of
identity factors are skipped together with the exchanges they would need.
"""

__all__ = ["Split", "stages", "local_layout", "local_sources", "chunk_pairs",
           "apply_generated", "build_local", "SLAB_PAIRS"]

import numpy as np

from .._closedform import TwiddleFormula
from .._layout import identity_twiddle, log2_exact, stride

# Pairs of a generated factor computed and applied at a time: its 2x2 maps and the
# update's temporaries stay near 1 MiB, far below a chunk of the vectors this serves.
SLAB_PAIRS = 1 << 14


class Split:
    """Geometry of ``N`` rows cut into ``P = N / C`` chunks of ``C`` rows.

    ``span`` is ``L``, the range of ``lo`` one transposed chunk holds; ``count(high)``
    the number of chunks in the natural (low strides) or transposed layout.
    """

    def __init__(self, n, chunk):
        self.n = n
        self.chunk = chunk
        self.parts = n // chunk
        self.span = max(1, chunk // self.parts)
        if self.parts * self.span < chunk:
            raise ValueError(f"row chunks of {chunk} are too small for N = {n} (need C^2 >= N)")
        self.local_high = self.parts * self.span  # size of a transposed chunk

    @classmethod
    def for_chunks(cls, n, row_chunks):
        """The split for internal size ``n`` and the input's row chunk sizes.

        ``C`` is the largest power of two not above the largest input chunk, raised to
        ``sqrt(N)`` if needed (then a transposed chunk is no larger than a natural one).
        """
        largest = max(int(c) for c in row_chunks)
        c = 1 << max(0, largest.bit_length() - 1)
        floor = 1 << ((log2_exact(n) + 1) // 2)
        return cls(n, min(n, max(c, floor)))

    def count(self, high):
        return self.chunk // self.span if high else self.parts


def _is_identity(twiddle, b, j):
    if isinstance(twiddle, TwiddleFormula):
        return twiddle.is_identity(b, j)
    t = twiddle[b, j]
    return bool(np.all(t[..., 0, 0] == 1) and np.all(t[..., 1, 1] == 1)
                and not np.any(t[..., 0, 1]) and not np.any(t[..., 1, 0]))


def stages(twiddle, chunk, skip_identity=True):
    """Runs ``[(high, [(block, factor), ...]), ...]`` in application order.

    ``twiddle`` is the twiddle array or a :class:`~kmatrix._closedform.TwiddleFormula`.
    ``high`` says whether the run's strides are ``>= chunk`` (run on the transposed
    layout). With ``skip_identity``, identity factors are left out and adjacent runs of
    one kind merge, so an idle run costs no exchange.
    """
    nb, m = twiddle.shape[:2]
    out = []
    for b in range(nb):
        for j in range(m):
            if skip_identity and _is_identity(twiddle, b, j):
                continue
            high = stride(b, j, m) >= chunk
            if out and out[-1][0] == high:
                out[-1][1].append((b, j))
            else:
                out.append((high, [(b, j)]))
    return out


def local_layout(factors, high, split, m):
    """Where each factor goes in a chunk's local twiddle.

    Returns ``(places, nblocks, mloc)``: ``places`` an int array of rows
    ``(block, factor, local block, local factor)``; local blocks keep the parity (even:
    strides decrease) of the blocks they come from.
    """
    mloc = log2_exact(split.local_high if high else split.chunk)
    rows = []
    lb = factors[0][0] % 2
    prev = factors[0][0]
    for b, j in factors:
        if b != prev:
            lb += 1 if (b - prev) % 2 else 2
            prev = b
        s = stride(b, j, m)
        ls = (s // split.chunk) * split.span if high else s
        e = ls.bit_length() - 1
        rows.append((b, j, lb, mloc - 1 - e if b % 2 == 0 else e))
    nblocks = lb + 1 + (lb + 1) % 2
    return np.array(rows, dtype=np.int64), nblocks, mloc


def local_sources(twiddle, places, high, split, i):
    """The twiddle entries of chunk ``i`` for each factor of ``places``.

    The one place where the schedule reads twiddles: views of the array, or for a
    :class:`~kmatrix._closedform.TwiddleFormula` the entries computed from it (a
    generator, one factor at a time, so a task holds one factor's slice besides its
    local operator).
    """
    if isinstance(twiddle, TwiddleFormula):
        return (twiddle.factor(b, j, chunk_pairs(high, split, i)) for b, j, _, _ in places)
    srcs = []
    for b, j, _, _ in places:
        if high:
            t = twiddle[b, j].reshape(split.parts // 2, split.chunk, 2, 2)
            srcs.append(t[:, i * split.span:(i + 1) * split.span])
        else:
            half = split.chunk // 2
            srcs.append(twiddle[b, j, i * half:(i + 1) * half])
    return srcs


def chunk_pairs(high, split, i):
    """The pair indices of the whole operator that chunk ``i`` of a run holds, in the
    order of its local operator's pairs."""
    if high:
        hi = np.arange(split.parts // 2, dtype=np.int64)[:, None] * split.chunk
        return (hi + np.arange(i * split.span, (i + 1) * split.span)).ravel()
    half = split.chunk // 2
    return np.arange(i * half, (i + 1) * half, dtype=np.int64)


def apply_generated(formula, factors, high, split, i, block, overwrite_x=False):
    """Chunk ``i`` of a run of ``factors`` (rows ``(block, factor)``) applied to ``block``,
    each factor computed from ``formula`` just before it is applied.

    ``block`` is the chunk in its layout, ``(1, C, k)`` or ``(P, L, k)``; the result is an
    array of the same shape: ``block`` itself where ``overwrite_x`` allows it and its
    dtype is the result's (as in :mod:`scipy.fft`, a permission), else a new one. Each
    factor is computed and applied :data:`SLAB_PAIRS` pairs at a time, so that besides
    the chunk (and its result, unless overwritten) the task holds the 2x2 maps and
    temporaries of one slab, not of a whole factor.
    """
    shape = block.shape
    nloc = shape[0] * shape[1]
    dtype = np.result_type(formula.dtype, block.dtype)
    if overwrite_x and block.dtype == dtype and block.flags.c_contiguous:
        y = block.reshape(nloc, shape[2])
    else:
        y = np.array(block, dtype=dtype).reshape(nloc, shape[2])
    pairs = chunk_pairs(high, split, i)
    m = formula.shape[1]
    slab = min(SLAB_PAIRS, nloc // 2)
    for b, j in factors:
        s = stride(b, j, m)
        ls = (s // split.chunk) * split.span if high else s  # the stride in the chunk
        y4 = y.reshape(nloc // (2 * ls), 2, ls, shape[2])
        for q0 in range(0, nloc // 2, slab):
            t = formula.factor(b, j, pairs[q0:q0 + slab])
            if ls <= slab:  # whole groups of pairs
                part = y4[q0 // ls:(q0 + slab) // ls]
                t = t.reshape(slab // ls, ls, 2, 2, 1)
            else:  # a run of pairs inside one group
                g, l0 = divmod(q0, ls)
                part = y4[g:g + 1, :, l0:l0 + slab]
                t = t.reshape(1, slab, 2, 2, 1)
            yp, yq = part[:, 0], part[:, 1]
            p = t[:, :, 0, 0] * yp + t[:, :, 0, 1] * yq
            yq[...] = t[:, :, 1, 0] * yp + t[:, :, 1, 1] * yq
            yp[...] = p
    return y.reshape(shape)


def build_local(places, nblocks, mloc, dtype, srcs):
    """The twiddle of one chunk's local operator: identity except at ``places``."""
    tw = identity_twiddle(nblocks, mloc, dtype)
    for (_, _, lb, lj), src in zip(places, srcs):
        tw[lb, lj] = src.reshape(-1, 2, 2)
    return tw

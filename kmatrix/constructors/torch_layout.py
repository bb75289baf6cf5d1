"""Exchange with torch_butterfly: its ``Butterfly`` twiddles as K-matrices and back, on plain arrays.

torch_butterfly stores a ``Butterfly(in_size, out_size, nblocks=..., increasing_stride=...)``
module's factors in ``twiddle`` of shape ``(nstacks, nblocks, log_n, n/2, 2, 2)``
(complex modules store ``torch.view_as_real`` of it, one more axis of length 2).
Block ``b`` of stack ``s`` runs its ``log_n`` factors with increasing strides
``1, 2, ..., n/2`` when ``increasing_stride`` differs from ``b`` odd, decreasing ones
otherwise; pair ``i`` of the factor of stride ``st`` maps entries
``(2 st (i // st) + i % st, ... + st)`` exactly as in the canonical layout.  The
module zero-pads its input to ``n``, runs every stack on it, concatenates the stacks'
outputs and keeps the first ``out_size``.  Nothing here imports torch.
"""

from __future__ import annotations

__all__ = ["from_torch_butterfly", "to_torch_butterfly"]

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import _algebra
from .._checks import check_dtype, check_size, value_dtype
from .._layout import identity_twiddle
from .._operator import KMatrix


def _torch_twiddle(twiddle):
    """``twiddle`` as an ndarray of shape ``(nstacks, nblocks, log_n, n/2, 2, 2)``."""
    if hasattr(twiddle, "detach") and not isinstance(twiddle, np.ndarray):
        raise TypeError(
            "twiddle must be a NumPy array; pass module.twiddle.detach().cpu().numpy()"
        )
    tw = np.asarray(twiddle)
    if tw.dtype.kind not in "fc":
        raise TypeError(f"twiddle must be a real or complex array; got dtype {tw.dtype}")
    if tw.ndim == 7 and tw.shape[-1] == 2 and tw.dtype.kind == "f":
        tw = tw[..., 0] + 1j * tw[..., 1]  # torch.view_as_real of a complex twiddle
    if tw.ndim != 6 or tw.shape[-2:] != (2, 2):
        raise ValueError(
            "twiddle must have shape (nstacks, nblocks, log_n, n/2, 2, 2) (or that shape "
            f"plus a last axis of 2 for a real view of complex values); got {tw.shape}"
        )
    nstacks, nblocks, log_n, half = tw.shape[:4]
    if min(nstacks, nblocks) < 1 or log_n < 1 or half != 1 << (log_n - 1):
        raise ValueError(
            "twiddle must have nstacks, nblocks, log_n >= 1 and axis 3 = 2**(log_n - 1); "
            f"got shape {tw.shape}"
        )
    if not np.all(np.isfinite(tw)):
        raise ValueError("twiddle contains NaN or infinite entries")
    return tw


def _canonical_blocks(blocks, increasing_stride, dtype):
    """Torch blocks of one stack as canonical blocks: an identity ``B*`` first when the
    first torch block increases, an identity block last to make the count even."""
    m = blocks.shape[1]
    parts = [blocks.astype(dtype)]
    if increasing_stride:
        parts.insert(0, identity_twiddle(1, m, dtype))
    count = sum(p.shape[0] for p in parts)
    if count % 2:
        parts.append(identity_twiddle(1, m, dtype))
    return np.concatenate(parts, axis=0)


def from_torch_butterfly(
    twiddle: ArrayLike,
    increasing_stride: bool = True,
    in_size: int | None = None,
    out_size: int | None = None,
    dtype: DTypeLike | None = None,
    nblocks: int | None = None,
    complex: bool | None = None,  # noqa: A002 - torch's word
) -> KMatrix:
    """The matrix of a torch_butterfly ``Butterfly`` module (without bias) as a K-matrix.

    Parameters
    ----------
    twiddle : ndarray, shape (nstacks, nblocks, log_n, n/2, 2, 2)
        ``module.twiddle.detach().cpu().numpy()``: real, complex, or the real view of
        a complex twiddle (a last axis of length 2, as complex modules store it).
    increasing_stride : bool, default True
        The module's ``increasing_stride`` (its default is True): the direction of
        block 0; the blocks alternate.
    in_size : int, optional
        The module's ``in_size``, ``<= n``; default ``n``.
    out_size : int, optional
        The module's ``out_size``, ``<= nstacks * n``; default ``nstacks * n``.
    dtype : dtype, optional
        Operator dtype; default from the twiddle (float64 stays, float32 stays,
        complex stays complex).
    nblocks, complex : optional
        The module's ``nblocks`` and ``complex``, checked against the twiddle when
        given (so that ``**to_torch_butterfly(K)`` can be passed back).

    Returns
    -------
    KMatrix
        Shape ``(out_size, in_size)``, equal to ``module(x) - module.bias`` (the bias
        is not linear and is not included).  One stack: width
        ``ceil((nblocks + increasing_stride) / 2)``, internal size ``n``.  ``nstacks``
        stacks run side by side in ``2**ceil(log2 nstacks)`` slots of size ``n`` after
        a 0/1 replication of the input (the frame of :func:`kmatrix.sum`, without its
        sum): same width, internal size ``2**ceil(log2 nstacks) n``.

    Notes
    -----
    The canonical layout is torch_butterfly's with ``increasing_stride=False`` and an
    even number of blocks, without the ``nstacks`` axis; a module that starts with an
    increasing-stride block gets an identity decreasing-stride block in front, and an
    odd count an identity block at the end.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> tw = np.random.default_rng(0).standard_normal((1, 3, 3, 4, 2, 2))
    >>> K = km.from_torch_butterfly(tw, increasing_stride=True, in_size=8, out_size=8)
    >>> K.shape, K.width
    ((8, 8), 2)
    >>> np.allclose(km.from_torch_butterfly(**km.to_torch_butterfly(K)).toarray(), K.toarray())
    True
    """
    tw = _torch_twiddle(twiddle)
    if not isinstance(increasing_stride, (bool, np.bool_)):
        raise TypeError(f"increasing_stride must be a bool; got {increasing_stride!r}")
    if nblocks is not None and check_size(nblocks, "nblocks") != tw.shape[1]:
        raise ValueError(f"nblocks = {nblocks} does not match the twiddle's {tw.shape[1]} blocks")
    if complex is not None and bool(complex) != (tw.dtype.kind == "c"):
        raise ValueError(f"complex = {complex} does not match the twiddle's dtype {tw.dtype}")
    nstacks, _, log_n = tw.shape[:3]
    n = 1 << log_n
    in_size = n if in_size is None else check_size(in_size, "in_size")
    out_size = nstacks * n if out_size is None else check_size(out_size, "out_size")
    if in_size > n:
        raise ValueError(f"in_size must be <= n = 2**log_n = {n}; got {in_size}")
    if out_size > nstacks * n:
        raise ValueError(f"out_size must be <= nstacks * n = {nstacks * n}; got {out_size}")
    dtype = value_dtype(tw.dtype, name="twiddle") if dtype is None else check_dtype(dtype)
    if dtype.kind == "f" and tw.dtype.kind == "c":
        if np.any(tw.imag != 0):
            raise ValueError(f"twiddle has nonzero imaginary parts; it cannot be a {dtype} operator")
        tw = tw.real
    stacks = [_canonical_blocks(tw[s], bool(increasing_stride), dtype) for s in range(nstacks)]
    full = stacks[0] if nstacks == 1 else _algebra.stack_slots(stacks)
    return KMatrix(full, (out_size, in_size))


def to_torch_butterfly(K: KMatrix, increasing_stride: bool = True) -> dict[str, Any]:
    """torch_butterfly ``Butterfly`` arguments and twiddle that reproduce ``K``.

    Parameters
    ----------
    K : KMatrix
    increasing_stride : bool, default True
        Direction of the module's first block.  ``True`` (torch_butterfly's default)
        puts an identity increasing-stride block first, since ``K``'s block 0
        decreases: ``nblocks = 2 w + 1``; ``False`` gives ``nblocks = 2 w``.

    Returns
    -------
    dict
        ``twiddle`` (ndarray ``(1, nblocks, log2 N, N/2, 2, 2)`` of ``K``'s dtype),
        ``increasing_stride``, ``in_size``, ``out_size``: the keyword arguments of
        :func:`from_torch_butterfly`, and, with ``nblocks`` and ``complex``, of
        ``Butterfly(in_size, out_size, bias=False, complex=..., increasing_stride=...,
        nblocks=...)``, whose ``twiddle`` parameter then takes
        ``torch.from_numpy(twiddle)`` (``torch.view_as_real(...)`` of it for a complex
        module).  ``in_size`` is ``K.shape[1]`` when ``N`` is the next power of two of
        it, else ``N`` (a module's ``n`` is the next power of two of its ``in_size``;
        pad inputs with zeros to ``N``, as ``K`` does internally, and the operator
        read back has ``N`` columns, the first ``K.shape[1]`` of which are ``K``'s);
        ``out_size`` is ``K.shape[0]``.

    Examples
    --------
    >>> import numpy as np, kmatrix as km
    >>> args = km.to_torch_butterfly(km.dft(8))
    >>> args["twiddle"].shape, args["nblocks"], args["increasing_stride"], args["complex"]
    ((1, 3, 3, 4, 2, 2), 3, True, True)
    """
    if not isinstance(K, KMatrix):
        raise TypeError(f"K must be a KMatrix; got {type(K).__name__}")
    if not isinstance(increasing_stride, (bool, np.bool_)):
        raise TypeError(f"increasing_stride must be a bool; got {increasing_stride!r}")
    tw = np.array(K.twiddle)
    m, big = tw.shape[1], K.internal_size
    if increasing_stride:
        tw = np.concatenate([identity_twiddle(1, m, tw.dtype), tw], axis=0)
    rows, cols = K.shape
    in_size = cols if 2 * cols > big else big
    return {
        "twiddle": tw[None],
        "increasing_stride": bool(increasing_stride),
        "in_size": in_size,
        "out_size": rows,
        "nblocks": tw.shape[0],
        "complex": tw.dtype.kind == "c",
    }

"""Fit a K-matrix to data pairs held in Dask arrays, one column chunk at a time.

:func:`~kmatrix.learn.fit` hands Dask ``X``/``Y`` here. The data set is never
materialized: Adam takes one step per mini-batch of columns, and the batches are cut
from matching column chunks of ``X`` and ``Y`` computed one at a time (in a new random
order every epoch, the next chunk computed in the background while the current one
trains). Two streamed passes over the data bracket the fit: one for the scale and the
finiteness of the data before it, one for the relative error of the result after it;
Dask reduces both chunk by chunk.
"""

__all__ = ["fit_streaming", "ChunkStream"]

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._checks import (
    cast_finite,
    check_dtype,
    check_real,
    is_dask_array,
    value_dtype,
)
from .._layout import internal_size_for
from .._operator import KMatrix
from .._scaling import ldexp, spread_exponent
from ..backends.cpu.vjp import twiddle_vjp
from ._problem import Progress, fit_geometry
from .checks import pair_shapes, positive_float, positive_int
from .result import FitResult
from .optimize import Objective

# Adam's constants, as for in-memory data.
B1, B2, EPS = 0.9, 0.999, 1e-8


class ChunkStream:
    """Mini-batches of matching columns of two Dask arrays, computed chunk by chunk.

    Every epoch visits the column chunks in a new random order and shuffles the
    columns inside each chunk; a batch of ``batch_size`` columns may span chunks
    (``None``: one whole chunk per batch). At most the current chunk, the next one
    (computed in the background) and the batch are in memory.

    Parameters
    ----------
    X, Y : dask.array.Array, shapes (cols, k) and (rows, k)
        With the same column chunks.
    batch_size : int or None
    rng : numpy.random.Generator

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from kmatrix.learn.streaming import ChunkStream
    >>> X = da.from_array(np.arange(12.0).reshape(2, 6), chunks=(2, 2))
    >>> with ChunkStream(X, 2 * X, 3, np.random.default_rng(0)) as s:
    ...     xb, yb = s.next()
    >>> xb.shape, bool(np.all(yb == 2 * xb)), s.columns
    ((2, 3), True, 3)
    """

    def __init__(self, X, Y, batch_size, rng):
        self.X, self.Y = X, Y
        self.batch_size = batch_size
        self.rng = rng
        self.columns = 0  # columns handed out so far
        self.k = X.shape[1]
        self._order = []
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending = self._pool.submit(self._load, self._next_index())
        self._x = self._y = None
        self._pos = 0

    def _next_index(self):
        if not self._order:
            self._order = list(self.rng.permutation(self.X.numblocks[1]))
        return self._order.pop()

    def _load(self, j):
        import dask

        return dask.compute(self.X.blocks[:, j], self.Y.blocks[:, j])

    def _advance(self):
        x, y = self._pending.result()
        self._x = self._y = None  # drop the finished chunk before the next one lands
        self._pending = self._pool.submit(self._load, self._next_index())
        if self.batch_size is not None:
            cols = self.rng.permutation(x.shape[1])
            x, y = x[:, cols], y[:, cols]
        self._x, self._y, self._pos = x, y, 0

    def next(self):
        """The next batch ``(x, y)`` as NumPy arrays."""
        if self.batch_size is None:
            self._advance()
            self._pos = self._x.shape[1]
            self.columns += self._pos
            return self._x, self._y
        xs, ys, need = [], [], self.batch_size
        while need:
            if self._x is None or self._pos == self._x.shape[1]:
                self._advance()
            take = min(need, self._x.shape[1] - self._pos)
            xs.append(self._x[:, self._pos:self._pos + take])
            ys.append(self._y[:, self._pos:self._pos + take])
            self._pos += take
            need -= take
        self.columns += self.batch_size
        if len(xs) == 1:
            return xs[0], ys[0]
        return np.concatenate(xs, axis=1), np.concatenate(ys, axis=1)

    def close(self):
        self._pending.cancel()
        self._pool.shutdown(wait=True)
        self._x = self._y = self._pending = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _dask_pair(X, Y):
    """``(X, Y)`` as 2-D Dask arrays with matching column chunks, and the data's
    operator dtype; a NumPy operand is chunked like the other."""
    import dask.array as da

    arrays = {}
    for name, a, other in (("X", X, Y), ("Y", Y, X)):
        if not is_dask_array(a):
            a = np.asarray(a)
            cols = other.chunks[1] if a.ndim == 2 == other.ndim and a.shape[1] == other.shape[1] else -1
            a = da.from_array(a, chunks=(-1, cols) if a.ndim == 2 else -1)
        if a.dtype.kind not in "biufc":
            raise TypeError(f"{name} must be numeric; got dtype {a.dtype}")
        if any(np.isnan(c) for cs in a.chunks for c in cs):
            raise ValueError(
                f"{name} must be a Dask array with known chunk sizes; got shape {a.shape} "
                "(call compute_chunk_sizes() first)"
            )
        arrays[name] = a
    X, Y = arrays["X"], arrays["Y"]
    X, Y = pair_shapes(X, Y)
    if X.chunks[1] != Y.chunks[1]:
        raise ValueError(
            "X and Y must have the same column chunks (each step reads matching chunks "
            f"of both); got {X.chunks[1]} and {Y.chunks[1]} (e.g. Y.rechunk({{1: X.chunks[1]}}))"
        )
    return X, Y, value_dtype(X.dtype, Y.dtype, name="X and Y")


def _max_abs(a):
    """Largest ``|real|`` or ``|imag|`` of ``a`` (a lazy Dask scalar)."""
    import dask.array as da

    if a.dtype.kind == "c":
        return da.maximum(abs(a.real).max(), abs(a.imag).max())
    return abs(a).max()


def _balanced(param, theta, X, Y):
    """A free init scaled by one factor per factor so that ``||K X|| = ||Y||`` on a batch."""
    tw = np.asarray(param.twiddle(theta), dtype=X.dtype)
    _, _, sq = twiddle_vjp(tw, X, Y * 0, residual=True)
    if not sq > 0:
        return theta
    return theta * (float(np.vdot(Y, Y).real) / sq) ** (0.5 / (tw.shape[0] * tw.shape[1]))


def fit_streaming(target=None, *, X, Y, width=1, expansion=1, dtype=None, init=None,
                  method="adam", max_iter=1000, tol=1e-6, rng=None, callback=None,
                  progress=False, parametrization="free", probes=None, lr=1e-2,
                  batch_size=None, relax="auto", permutation="auto", restarts=None):
    """:func:`~kmatrix.learn.fit` for data pairs in Dask arrays: streamed mini-batch Adam.

    The arguments are those of :func:`~kmatrix.learn.fit`, with these rules:

    * ``method`` must be ``"adam"``: L-BFGS needs the exact loss and gradient over the
      whole data set at every step, Adam a mini-batch;
    * ``batch_size`` is the number of columns per step (default: one column chunk);
    * ``init`` ``"auto"`` means ``"randn"`` (the orthogonal start, ``"match"`` and the
      complex relaxation look at the whole data set and are not available:
      ``relax=True``, ``init="match"``, ``permutation="learn"`` and ``restarts > 1``
      raise ``ValueError``);
    * ``X`` and ``Y`` need the same column chunks (``ValueError`` otherwise).

    ``history`` holds each step's mini-batch error; ``rel_error`` is exact, from
    streamed sums over all the data. The fit stops when a mini-batch error reaches
    ``tol`` and a streamed pass (at most one per epoch) confirms it.

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np, dask.array as da, kmatrix as km
    >>> T = km.random(16, rng=0)
    >>> X = da.random.default_rng(1).standard_normal((16, 256), chunks=(16, 32))
    >>> res = km.fit(X=X, Y=T @ X, method="adam", lr=0.05, max_iter=300, rng=0)
    >>> res.kmatrix.shape, res.kmatrix.dtype, res.rel_error < 0.5
    ((16, 16), dtype('float64'), True)
    """
    import dask
    import dask.array as da

    t_start = time.perf_counter()
    if target is not None:
        raise ValueError("pass either target or the data pairs X, Y, not both")
    if probes is not None:
        raise ValueError("probes applies to a target, not to data pairs")
    if method != "adam":
        raise ValueError(
            f"fit on Dask data streams mini-batches with Adam: pass method='adam' (and "
            f"batch_size, columns per step); got method={method!r}"
        )
    if permutation not in ("auto", None):
        raise ValueError(
            "permutation='learn' needs the data in memory; fit on Dask data takes "
            f"permutation='auto' or None, got {permutation!r}"
        )
    if restarts is not None and positive_int(restarts, "restarts") > 1:
        raise ValueError("restarts > 1 need the data in memory; got Dask data")
    if not (relax == "auto" if isinstance(relax, str) else isinstance(relax, bool)):
        raise ValueError(f"relax must be 'auto', True or False; got {relax!r}")
    if relax is True:
        raise ValueError("relax=True needs the data in memory; got Dask data")
    if isinstance(init, str) and init == "match":
        raise ValueError("init='match' needs the data in memory; got Dask data")
    width = positive_int(width, "width")
    max_iter = positive_int(max_iter, "max_iter", minimum=0)
    tol = positive_float(tol, "tol", allow_zero=True)
    lr = positive_float(lr, "lr")
    expansion = check_real(expansion, "expansion", low=1)
    if batch_size is not None:
        batch_size = positive_int(batch_size, "batch_size")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {type(callback).__name__}")
    rng = np.random.default_rng(rng)
    X, Y, data_dtype = _dask_pair(X, Y)
    out_dtype = data_dtype if dtype is None else check_dtype(dtype)
    compute = np.dtype(
        np.complex128 if "c" in (X.dtype.kind, Y.dtype.kind, out_dtype.kind) else np.float64
    )
    rows, cols, k = Y.shape[0], X.shape[0], X.shape[1]
    if batch_size is not None:
        batch_size = min(batch_size, k)

    # Pass 1 (streamed): magnitudes and finiteness.
    ax, ay, finite = dask.compute(
        _max_abs(X), _max_abs(Y), da.isfinite(X).all() & da.isfinite(Y).all()
    )
    if not finite:
        raise ValueError("X or Y contains NaN or infinite entries")
    if not ay > 0:
        raise ValueError("the target data Y is zero: the relative error is undefined")
    ex = int(np.frexp(ax)[1]) if ax > 0 else 0
    ey = int(np.frexp(ay)[1])

    # two chunks (the current and the prefetched one) padded to N rows on both sides
    big = internal_size_for(rows, cols, expansion)
    step_cols = batch_size or max(X.chunks[1])
    nblocks, big, m, param = fit_geometry(
        rows, cols, width, expansion, parametrization, compute, out_dtype.kind == "c",
        8 * big * step_cols * compute.itemsize,
    )
    # Data brought to unit magnitude by powers of two, as for in-memory data.
    shift = ey - ex if param.name == "free" else 0
    sx, sy = -(ey - shift), -ey
    if not (ax > 0 and 0 < np.ldexp(ax, sx) < np.inf):
        raise ValueError(
            f"X and Y differ in scale by more than {compute} can hold (max|X| ~ 2**{ex}, "
            f"max|Y| ~ 2**{ey}); parametrization={param.name!r} cannot absorb the scale"
        )

    def batch(stream):
        xb, yb = stream.next()
        with np.errstate(over="ignore", under="ignore"):
            return (ldexp(np.asarray(xb, dtype=compute), sx),
                    ldexp(np.asarray(yb, dtype=compute), sy))

    def operator(th, dtype=None):
        tw = spread_exponent(param.twiddle(th), shift)
        return KMatrix._from_owned(tw if dtype is None else _cast(tw, dtype), (rows, cols))

    history = []
    bar = Progress(progress, max_iter, "kmatrix.fit[adam, dask]")
    y2_seen = [0.0, 0]  # sum of the batches' ||y||^2, and their columns

    def evaluate(th, xb, yb):
        obj = Objective(param, xb, yb)
        y2_seen[0] += obj.y2
        y2_seen[1] += xb.shape[1]
        # an all-zero batch of Y: normalize by the mean of the batches seen so far
        y2 = obj.y2 or (y2_seen[0] / y2_seen[1] * xb.shape[1]) or 1.0
        loss, g = obj(th, y2=y2)
        return float(np.sqrt(2 * loss)), g

    def streamed_error(th, dtype):
        """Exact ``||K X - Y|| / ||Y||`` on all the data, from sums over the chunks."""
        tw = _cast(np.asarray(param.twiddle(th)), dtype).astype(compute)
        K = KMatrix._from_owned(tw, (rows, cols))
        Xs = X.map_blocks(lambda b: ldexp(b.astype(compute), sx), dtype=compute)
        Ys = Y.map_blocks(lambda b: ldexp(b.astype(compute), sy), dtype=compute)
        with np.errstate(over="ignore", invalid="ignore"):
            r2, y2 = dask.compute((abs(K @ Xs - Ys) ** 2).sum(), (abs(Ys) ** 2).sum())
        return float(np.sqrt(r2 / y2)) if np.isfinite(r2) else float("inf")

    why, checked_at, done = None, -k, 0
    with ChunkStream(X, Y, batch_size, rng) as stream:
        try:
            xb, yb = batch(stream)
            theta = param.initial("randn" if init in (None, "auto") else init, rng)
            if param.name == "free" and isinstance(init, (str, type(None))):
                theta = _balanced(param, theta, xb, yb)
            elif param.name == "free":  # a warm start, at the original scale
                theta = param.to_params(spread_exponent(param.twiddle(theta), -shift))
            theta = np.array(theta, dtype=np.float64)
            rel, g = evaluate(theta, xb, yb)
            history.append(rel)
            best = (rel if np.isfinite(rel) else np.inf, theta.copy())
            mom, vel = np.zeros_like(theta), np.zeros_like(theta)
            for it in range(1, max_iter + 1):
                mom = B1 * mom + (1 - B1) * g
                vel = B2 * vel + (1 - B2) * g * g
                theta -= lr * (mom / (1 - B1**it)) / (np.sqrt(vel / (1 - B2**it)) + EPS)
                xb, yb = batch(stream)
                rel, g = evaluate(theta, xb, yb)
                done = it
                history.append(rel)
                bar.update(it, rel)
                if not np.isfinite(rel) or not np.all(np.isfinite(g)):
                    why = "stopped: the loss is not finite (the optimizer diverged)"
                    break
                if rel < best[0]:
                    best = (rel, theta.copy())
                if callback is not None and callback(it, operator(theta), rel):
                    why = "stopped by callback"
                    break
                if rel <= tol and stream.columns - checked_at >= k:
                    checked_at = stream.columns
                    full = streamed_error(theta, compute)
                    if full <= tol:
                        why = f"relative error {full:.3g} <= tol"
                        break
        finally:
            bar.close()
    msg = why or ("max_iter = 0" if max_iter == 0 else "Adam: max_iter reached")
    if not np.all(np.isfinite(theta)) or (why or "").startswith("stopped: the loss"):
        theta = best[1]
        msg += f"; returned the iterate of the best mini-batch error ({best[0]:.3g})"
    # Pass 2 (streamed): the error of the returned operator, in its dtype.
    rel = streamed_error(theta, out_dtype)
    return FitResult(
        kmatrix=operator(theta, out_dtype),
        rel_error=rel,
        history=np.asarray(history),
        n_iter=done,
        converged=bool(rel <= tol),
        message=msg,
        parametrization=param.name,
        params=theta,
        seconds=time.perf_counter() - t_start,
    )


def _cast(tw, dtype):
    """``tw`` in ``dtype``; ``OverflowError`` if the fitted factors do not fit in it."""
    return cast_finite(tw, dtype, OverflowError, "fit with a wider dtype: the fitted factors")

"""Argument checks of :func:`~kmatrix.learn.fit`: one place for the options' rules and
their error messages (the data themselves are checked in :mod:`kmatrix.learn._problem`)."""

from __future__ import annotations

__all__ = [
    "pair_shapes",
    "METHODS",
    "PERMUTATIONS",
    "positive_int",
    "positive_float",
    "check_permutation_option",
    "MODELS",
    "check_model_option",
    "DFT_PHASES",
    "check_dft_phases",
    "check_data_source",
    "check_fit_options",
    "check_in_memory",
]

from typing import Any

from .._checks import check_real, check_size, is_dask_array

METHODS = ("lbfgs", "adam")
PERMUTATIONS = ("auto", "learn", None)
MODELS = ("auto", "plain", "real part")
DFT_PHASES = ("none", "out", "both")


def positive_int(v: Any, name: str, minimum: int = 1) -> int:
    """``v`` as an int ``>= minimum`` (``TypeError``/``ValueError`` naming ``name``)."""
    return check_size(v, name, minimum)


def positive_float(v: Any, name: str, allow_zero: bool = False) -> float:
    """``v`` as a float ``> 0`` (``>= 0`` with ``allow_zero``)."""
    return check_real(v, name, low=0, low_open=not allow_zero)


def check_permutation_option(permutation: Any) -> None:
    """``permutation`` is one of ``"auto"``, ``"learn"``, None."""
    if permutation is not None and permutation not in ("auto", "learn"):
        raise ValueError(f"permutation must be 'auto', 'learn' or None; got {permutation!r}")


def check_model_option(model: Any) -> None:
    """``model`` is one of :data:`MODELS`."""
    if not isinstance(model, str) or model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}; got {model!r}")


def check_dft_phases(phases: Any) -> None:
    """``phases`` of a DFT start is one of :data:`DFT_PHASES`."""
    if not isinstance(phases, str) or phases not in DFT_PHASES:
        raise ValueError(f"phases must be one of {DFT_PHASES}; got {phases!r}")


def check_data_source(target: Any, X: Any, Y: Any) -> None:
    """Exactly one of a target and the data pairs ``X, Y``."""
    if target is not None and (X is not None or Y is not None):
        raise ValueError("pass either target or the data pairs X, Y, not both")
    if target is None and (X is None or Y is None):
        raise ValueError("fit needs a target, or both X and Y")


def check_fit_options(
    *,
    width: Any,
    max_iter: Any,
    tol: Any,
    lr: Any,
    expansion: Any,
    method: Any,
    batch_size: Any,
    callback: Any,
    relax: Any,
) -> dict[str, Any]:
    """The numeric and named options of a single fit, checked and normalized.

    Returns a dict with ``width``, ``max_iter``, ``tol``, ``lr``, ``expansion`` and
    ``batch_size`` converted (ints and floats); the others are only checked.
    """
    out = dict(
        width=positive_int(width, "width"),
        max_iter=positive_int(max_iter, "max_iter", minimum=0),
        tol=positive_float(tol, "tol", allow_zero=True),
        lr=positive_float(lr, "lr"),
        expansion=check_real(expansion, "expansion", low=1),
    )
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if batch_size is not None:
        if method != "adam":
            raise ValueError("batch_size is an Adam option; use method='adam'")
        batch_size = positive_int(batch_size, "batch_size")
    out["batch_size"] = batch_size
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {type(callback).__name__}")
    if not (relax == "auto" if isinstance(relax, str) else isinstance(relax, bool)):
        raise ValueError(f"relax must be 'auto', True or False; got {relax!r}")
    return out


def check_in_memory(*arrays: Any) -> None:
    """``TypeError`` for a Dask target: a target is fitted in memory."""
    if any(is_dask_array(a) for a in arrays):
        raise TypeError(
            "fit needs a target in memory; got a Dask array (pass Dask data as X and Y, "
            "e.g. X=da.eye(n) and Y=target, to stream it)"
        )


def pair_shapes(X: Any, Y: Any) -> tuple[Any, Any]:
    """``X`` and ``Y`` (NumPy or Dask) as ``(cols, k)`` and ``(rows, k)``: both 1-D or both
    2-D, the same number of columns, none empty; ``ValueError`` otherwise."""
    if X.ndim not in (1, 2) or Y.ndim != X.ndim:
        raise ValueError(
            f"X and Y must both be 1-D or both 2-D; got shapes {X.shape} and {Y.shape}"
        )
    if X.ndim == 1:
        X, Y = X[:, None], Y[:, None]
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X (cols, k) and Y (rows, k) need the same number of columns k; "
            f"got shapes {X.shape} and {Y.shape}"
        )
    if X.shape[0] < 1 or Y.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X and Y must be non-empty; got shapes {X.shape} and {Y.shape}")
    return X, Y

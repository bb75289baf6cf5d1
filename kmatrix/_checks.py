"""The one argument and dtype policy of kmatrix.

Every public function validates its arguments through these helpers, so a bad argument
gets the same kind of error everywhere: ``TypeError`` for the wrong kind of object,
``ValueError`` for a value out of range, each naming the argument, what was expected
and what was given.
"""

from __future__ import annotations

__all__ = [
    "SUPPORTED_DTYPES",
    "check_dtype",
    "value_dtype",
    "apply_dtype",
    "as_int",
    "check_size",
    "check_workers",
    "shape_pair",
    "shape_tuple",
    "check_choice_int",
    "check_optional_bool",
    "check_real",
    "check_norm",
    "check_power",
    "numeric_array",
    "as_vector",
    "is_scalar",
    "is_device_array",
    "is_dask_array",
    "available_memory",
    "check_memory",
    "cast_finite",
    "twiddle_nbytes",
    "SCIPY_BATCHES",
    "is_operator_scalar",
    "scaled_dtype",
]

import numbers
import operator
import os

import numpy as np
import scipy

from ._layout import SUPPORTED_DTYPES

# SciPy 1.18 gave LinearOperator batch dimensions (``matvec`` on ``(..., n)``, ``matmat``
# on ``(..., n, k)``), deprecated ``(n, 1)`` columns in ``matvec`` and reworded its
# errors; operators follow the installed version's contract.
SCIPY_BATCHES = tuple(int(p) for p in scipy.__version__.split(".")[:2]) >= (1, 18)

_NUMERIC_KINDS = "biufc"


def check_dtype(dtype, name="dtype"):
    """``dtype`` as a :class:`numpy.dtype` that is one of the four operator dtypes."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{name} must be one of float32, float64, complex64, complex128; got {dtype!r}"
        ) from None
    if dt not in SUPPORTED_DTYPES:
        raise TypeError(
            f"{name} must be one of float32, float64, complex64, complex128; got {dt}"
        )
    return dt


def value_dtype(*dtypes, name="the input", complex_=False):
    """The operator dtype for values of ``dtypes`` (the one dtype policy).

    Booleans and integers give float64; float16 and float32 give float32; float64,
    complex64 and complex128 are kept; the mixture is ``numpy.result_type`` of those.
    ``complex_=True`` raises the result to its complex counterpart (for maps whose
    factors are complex whatever the input). Extended precision (``longdouble``,
    ``clongdouble``) is refused rather than rounded silently.
    """
    mapped = []
    for d in dtypes:
        d = np.dtype(d)
        if d.kind in "biu":
            mapped.append(np.dtype(np.float64))
        elif d.kind == "f" and d.itemsize <= 8:
            mapped.append(np.result_type(d, np.float32))
        elif d.kind == "c" and d.itemsize <= 16:
            mapped.append(d)
        elif d.kind in "fc":
            raise TypeError(
                f"{name} has dtype {d}, which float64/complex128 operators would round; "
                "cast it explicitly (e.g. .astype(np.float64)) if that is intended"
            )
        else:
            raise TypeError(f"{name} must be numeric; got dtype {d}")
    out = np.result_type(*mapped)
    if complex_:
        out = np.result_type(out, np.complex64)
    return out


def apply_dtype(op_dtype, *x_dtypes, name="KMatrix @ x"):
    """Dtype of applying an operator of ``op_dtype`` to arrays of ``x_dtypes``.

    NumPy's promotion, as for ``A @ x`` with an ndarray ``A``: ``numpy.result_type`` of
    all of them, which must be one of the four operator dtypes (``TypeError`` otherwise,
    e.g. for extended-precision input: nothing is rounded silently).
    """
    out = np.result_type(op_dtype, *x_dtypes)
    if out not in SUPPORTED_DTYPES:
        given = ", ".join(str(np.dtype(d)) for d in x_dtypes)
        raise TypeError(
            f"{name}: the result type {out} of a {np.dtype(op_dtype)} KMatrix and {given} "
            "input is not one of float32, float64, complex64, complex128"
        )
    return out


def as_int(v, name, what="an integer"):
    """``v`` as a Python int; ``TypeError`` naming ``name`` for non-integers and bools."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be {what}; got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{name} must be {what}; got {type(v).__name__}") from None


def check_size(n, name="n", minimum=1):
    """``n`` as an int ``>= minimum``; ``TypeError`` for non-integers (bools included)."""
    n = as_int(n, name)
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {n}")
    return n


def check_workers(workers, cores, name="workers"):
    """A thread count as scipy.fft reads ``workers``: an int ``>= 1`` as given, or ``-k``
    (``1 <= k <= cores``) for ``cores + 1 - k``, so ``-1`` is all ``cores``."""
    workers = as_int(workers, name, "an integer or None")
    if workers == 0:
        raise ValueError(f"{name} must be a positive or a negative integer; got 0")
    if workers < 0:
        if workers < -cores:
            raise ValueError(
                f"{name} must not be less than -{cores} (-1 is all {cores} usable cores); "
                f"got {workers}"
            )
        workers += cores + 1
    return workers


def shape_pair(shape, name="shape"):
    """``(rows, cols)`` from an int ``n`` (square) or a pair."""
    if isinstance(shape, (tuple, list)):
        if len(shape) != 2:
            raise ValueError(f"{name} must be an int or a pair (rows, cols); got {shape!r}")
        return check_size(shape[0], "rows"), check_size(shape[1], "cols")
    n = check_size(shape, name)
    return n, n


def check_real(v, name, *, low=None, high=None, low_open=False, allow_none=False):
    """``v`` as a finite Python float in ``[low, high]`` (``(low, high]`` if ``low_open``).

    Infinite and NaN values are refused: a user number that is not finite would make a
    loop unbounded or a result meaningless.
    """
    if v is None and allow_none:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number; got {type(v).__name__}")
    f = float(v)
    if not np.isfinite(f):
        raise ValueError(f"{name} must be finite; got {v!r}")
    if low is not None and (f < low or (low_open and f == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}; got {v!r}")
    if high is not None and f > high:
        raise ValueError(f"{name} must be <= {high}; got {v!r}")
    return f


def check_norm(norm, choices=("backward", "ortho", "forward")):
    """A normalization word as NumPy/SciPy spell it (``None`` means ``"backward"``)."""
    if norm is None:
        return "backward"
    if not isinstance(norm, str) or norm not in choices:
        raise ValueError(f"norm must be one of {choices} (or None); got {norm!r}")
    return norm


def check_power(p):
    """Exponent of ``K ** p`` as an int ``>= 0``, with SciPy's ``LinearOperator.__pow__`` rules.

    Integers (NumPy integers included) are accepted; floats, even integral ones,
    negative numbers and other scalars raise ``ValueError`` as in SciPy; booleans raise
    ``TypeError`` (they are not exponents).
    """
    if isinstance(p, (bool, np.bool_)):
        raise TypeError(f"the exponent must be an integer; got {p!r}")
    try:
        k = operator.index(p)
    except TypeError:
        if isinstance(p, (float, np.floating)) and float(p).is_integer():
            # SciPy's wording for an integral float exponent
            raise ValueError("Inexact indices into sparse matrices are not allowed (the "
                             f"exponent must be an integer; got {p!r})") from None
        raise ValueError(f"non-negative integer expected as p; got {p!r}") from None
    if k < 0:
        raise ValueError(f"non-negative integer expected as p; got {k}")
    return k


def numeric_array(a, name, *, ndim=None, nonempty=True, finite=True):
    """``a`` as a numeric ndarray (bool, int, float or complex), checked as asked."""
    from scipy.sparse import issparse
    from scipy.sparse.linalg import LinearOperator

    if isinstance(a, LinearOperator) or issparse(a):
        raise TypeError(f"{name} must be a dense array; got {type(a).__name__}")
    a = np.asarray(a)
    if a.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} must be numeric; got dtype {a.dtype}")
    if ndim is not None and a.ndim not in np.atleast_1d(ndim):
        want = " or ".join(f"{d}-D" for d in np.atleast_1d(ndim))
        raise ValueError(f"{name} must be {want}; got shape {a.shape}")
    if nonempty and a.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {a.shape}")
    if finite and a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return a


def as_vector(a, name):
    """``a`` as a non-empty, finite, numeric 1-D array."""
    a = np.asarray(a)
    if a.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} must be numeric; got dtype {a.dtype}")
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {a.shape}")
    if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return a


def is_scalar(c):
    """Whether ``c`` is a numeric scalar (not a bool); a non-finite one is a ``ValueError``."""
    if isinstance(c, (numbers.Number, np.number)) and not isinstance(c, (bool, np.bool_)):
        if not np.isfinite(c):
            raise ValueError(f"scalar must be finite; got {c!r}")
        return True
    if isinstance(c, np.ndarray) and c.ndim == 0 and c.dtype.kind in "iufc":
        return is_scalar(c.item())
    return False


def is_device_array(x: object) -> bool:
    """Whether ``x`` is a GPU array (``__cuda_array_interface__``, or the CUDA simulator's)."""
    return not isinstance(x, np.ndarray) and (
        hasattr(x, "__cuda_array_interface__") or getattr(x, "__cuda_ndarray__", False) is True
    )


def is_dask_array(x):
    """Whether ``x`` is a ``dask.array.Array`` (checked without importing Dask).

    Examples
    --------
    >>> import numpy as np
    >>> from kmatrix._checks import is_dask_array
    >>> is_dask_array(np.ones(3))
    False
    """
    return (
        type(x).__module__.startswith("dask.")
        and hasattr(x, "__dask_graph__")
        and hasattr(x, "chunks")
    )


def available_memory():
    """Bytes of memory a new allocation can use, or ``None`` when the system does not say.

    Linux: ``MemAvailable`` plus ``SwapFree`` of ``/proc/meminfo`` (what the kernel can
    hand out without killing anything); elsewhere the physical memory
    (``SC_PHYS_PAGES * SC_PAGE_SIZE``).
    """
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        kib = int(fields["MemAvailable"].split()[0]) + int(fields.get("SwapFree", "0 kB").split()[0])
        return kib * 1024
    except (OSError, KeyError, ValueError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _gib(nbytes):
    return f"{nbytes / 2**30:.3g} GiB"


def check_memory(nbytes, what):
    """Raise ``MemoryError`` before allocating ``nbytes`` that cannot fit in memory.

    Callers pass the size of the arrays they are about to build (twiddles and the
    temporaries of their construction), so an impossible size fails at once with the
    estimate, instead of after seconds of partial allocation and swapping.
    """
    nbytes = int(nbytes)
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise MemoryError(
            f"{what} needs about {_gib(nbytes)}, more than the {_gib(avail)} of memory available"
        )
    return nbytes


def twiddle_nbytes(nblocks, n, dtype):
    """Bytes of a twiddle ``(nblocks, log2 n, n//2, 2, 2)`` of ``dtype`` (``n`` a power of two)."""
    m = max(1, int(n).bit_length() - 1)
    return int(nblocks) * m * (int(n) // 2) * 4 * np.dtype(dtype).itemsize


def shape_tuple(shape, name="shape"):
    """An n-D shape as a tuple of ints ``>= 1`` (an int is a 1-D shape)."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or len(shape) == 0:
        raise TypeError(
            f"{name} must be a positive integer or a non-empty tuple of them; got {shape!r}"
        )
    return tuple(check_size(s, f"{name}[{i}]") for i, s in enumerate(shape))


def check_choice_int(v, name, choices):
    """``v`` as an int among ``choices``; ``TypeError`` for non-integers (bools included)."""
    words = f"{', '.join(map(str, choices[:-1]))} or {choices[-1]}"
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer {words}; got {v!r}")
    if int(v) not in choices:
        raise ValueError(f"{name} must be {words}; got {v!r}")
    return int(v)


def check_optional_bool(v, name, default):
    """``v`` as a bool, ``default`` for None; ``TypeError`` otherwise."""
    if v is None:
        return bool(default)
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be True, False or None; got {v!r}")
    return bool(v)


def is_operator_scalar(c):
    """Whether SciPy's ``LinearOperator`` arithmetic takes ``c`` as a scalar.

    ``numpy.isscalar``, and from SciPy 1.18 on also 0-d arrays (which its scaled
    operators still refuse: see :func:`scaled_dtype`).
    """
    return np.isscalar(c) or (SCIPY_BATCHES and isinstance(c, np.ndarray) and c.ndim == 0)


def scaled_dtype(dtype, alpha):
    """The dtype SciPy reports for ``alpha * A``, ``A`` an operator of ``dtype``.

    SciPy before 1.18 promotes with the scalar's type (``2 * A`` of a float32 ``A`` is
    float64); 1.18 promotes with its value (Python numbers are weak: float32). A 0-d
    array is a ``ValueError`` as in SciPy; a non-numeric scalar a ``TypeError``, a
    non-finite one a ``ValueError`` (a K-matrix's factors are finite).
    """
    if not np.isscalar(alpha):
        raise ValueError("scalar expected as alpha")
    kind = np.asarray(alpha).dtype.kind
    if kind not in _NUMERIC_KINDS:
        raise TypeError(f"cannot scale an operator by {alpha!r}: not a number")
    if not np.isfinite(alpha):
        raise ValueError(f"scalar must be finite; got {alpha!r}")
    return np.result_type(dtype, alpha if SCIPY_BATCHES else type(alpha))


def cast_finite(a, dtype, error, message):
    """``a`` cast to ``dtype``; raises ``error(message + ...)`` if a value overflows there."""
    with np.errstate(over="ignore"):
        out = a.astype(dtype)
    if not np.all(np.isfinite(out)):
        raise error(f"{message} (largest magnitude {np.abs(a).max():.3g}) overflow {np.dtype(dtype)}")
    return out

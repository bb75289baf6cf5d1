"""Bad input gets a clear error naming what was expected and what was given."""

import numpy as np
import pytest
import scipy.sparse as sp

import kmatrix as km


def good(m=3, nb=2, dtype=np.float64):
    return km.identity(1 << m).twiddle.astype(dtype)[:nb] if nb <= 2 else np.concatenate(
        [km.identity(1 << m).twiddle.astype(dtype)] * (nb // 2)
    )


@pytest.mark.parametrize(
    "tw, exc, match",
    [
        (np.zeros((2, 3, 4, 2)), ValueError, "5 axes"),
        (np.zeros((3, 3, 4, 2, 2)), ValueError, "even, positive number of blocks"),
        (np.zeros((0, 3, 4, 2, 2)), ValueError, "even, positive number of blocks"),
        (np.zeros((2, 3, 8, 2, 2)), ValueError, "axis 2 must be N//2"),
        (np.zeros((2, 3, 4, 3, 2)), ValueError, r"\(2, 2\)"),
        (np.zeros((2, 0, 1, 2, 2)), ValueError, "m >= 1"),
        (np.zeros((2, 3, 4, 2, 2), dtype=np.int64), TypeError, "int64"),
        (np.zeros((2, 3, 4, 2, 2), dtype=np.float16), TypeError, "float16"),
        (np.array([["a"]]), TypeError, "dtype"),
        (np.full((2, 1, 1, 2, 2), np.nan), ValueError, "NaN"),
    ],
)
def test_bad_twiddles(tw, exc, match):
    with pytest.raises(exc, match=match):
        km.KMatrix(tw)


@pytest.mark.parametrize(
    "shape, exc, match",
    [((9, 8), ValueError, "rows, cols <= N = 8"), ((0, 8), ValueError, "1 <= rows"),
     ((2.5, 3), TypeError, "pair of integers"), ("ab", TypeError, "pair of integers")],
)
def test_bad_shapes(shape, exc, match):
    with pytest.raises(exc, match=match):
        km.KMatrix(good(), shape)


def test_bad_operands():
    K = km.random((5, 7), rng=0)
    # shape errors are SciPy's (their wording follows the installed version)
    with pytest.raises(ValueError, match=r"(?i)dimension mismatch.*\(7,\).*\(5,\)"):
        K @ np.ones(5)
    with pytest.raises(ValueError, match=r"(?i)dimension mismatch|expected 1-d or 2-d"):
        K @ np.ones((7, 2, 2))
    with pytest.raises(ValueError, match=r"(?i)dimension mismatch.*\(7, 3\)"):
        K.matvec(np.ones((7, 3)))
    with pytest.raises(ValueError, match="(?i)expected (at least )?2-d ndarray or matrix, not 1-d"):
        K.matmat(np.ones(7))
    with pytest.raises(ValueError, match=r"(?i)dimension mismatch.*\(5,\).*\(7,\)"):
        K.rmatvec(np.ones(7))
    with pytest.raises(TypeError, match="numeric"):
        K @ np.array(["a"] * 7)
    with pytest.raises(TypeError, match="numeric"):
        K @ np.empty(7, dtype=object)
    with pytest.raises(TypeError, match="sparse"):
        K @ sp.eye(7, format="csr")
    with pytest.raises(TypeError, match="float16|longdouble|result type"):
        K @ np.ones(7, dtype=np.longdouble)
    with pytest.raises(ValueError, match="inner dimensions 7 and 6"):
        K @ km.random((6, 6), rng=1)
    with pytest.raises(ValueError, match="Scalar operands are not allowed"):
        K @ 2.0
    with pytest.raises(ZeroDivisionError):
        K / 0
    with pytest.raises(ValueError, match="finite"):
        K * np.inf


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(shape=0), ValueError, ">= 1"),
        (dict(shape=(3, 4, 5)), ValueError, "pair"),
        (dict(shape=4, width=0), ValueError, "width"),
        (dict(shape=4, width=1.5), TypeError, "width"),
        (dict(shape=4, expansion=0.5), ValueError, "expansion"),
        (dict(shape=4, init="zeros"), ValueError, "init"),
        (dict(shape=4, dtype=np.int32), TypeError, "int32"),
    ],
)
def test_bad_random_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        km.random(**kwargs)


def test_bad_diag_identity():
    with pytest.raises(ValueError, match="1-D"):
        km.diag(np.ones((2, 2)))
    with pytest.raises(ValueError, match="1-D"):
        km.diag([])
    with pytest.raises(TypeError, match="numeric"):
        km.diag(["a", "b"])
    with pytest.raises(ValueError, match=">= 1"):
        km.identity(0)
    with pytest.raises(TypeError, match="integer"):
        km.identity(2.0)


def test_numpy_without_row_stack_gets_a_clear_gpu_error():
    """numba-cuda (up to at least 0.30.4) fails to compile any kernel under NumPy 2.5,
    which removed ``numpy.row_stack``; kmatrix says so instead of passing on an
    AttributeError from numba-cuda's internals.  Run in a fresh interpreter: the
    failed import must not leave half-registered overloads in this one."""
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("numba_cuda") is None:
        pytest.skip("numba-cuda is not installed")
    script = (
        "import numpy as np, kmatrix.cuda as kc\n"
        "np.__all__ = [n for n in np.__all__ if n != 'row_stack']\n"
        "del np.row_stack\n"
        "try:\n"
        "    kc._check_kernel_support()\n"
        "except RuntimeError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "numpy.row_stack" in out.stdout and "numpy<2.5" in out.stdout, out.stdout

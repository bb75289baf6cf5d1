"""Bad input gets a clear error naming what was expected and what was given."""

import time

import numpy as np
import pytest
import scipy.sparse as sp

import kmatrix as km
import kmatrix.testing as kt


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
    K = km.random((5, 7), rng=0, init="randn")
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
        K @ km.random((6, 6), rng=1, init="randn")
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
        "import numpy as np\nfrom kmatrix.backends.cuda import device\n"
        "np.__all__ = [n for n in np.__all__ if n != 'row_stack']\n"
        "del np.row_stack\n"
        "try:\n"
        "    device.check_kernel_support()\n"
        "except RuntimeError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "numpy.row_stack" in out.stdout and "numpy<2.5" in out.stdout, out.stdout


# --------------------------------------------------------------------------- memory
def _fails_fast(call):
    """``call()`` raises MemoryError with an estimate, in well under a second."""
    t0 = time.perf_counter()
    with pytest.raises(MemoryError, match=r"needs about .* GiB, more than"):
        call()
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: km.identity(2**30),
        lambda: km.hadamard(2**30),
        lambda: km.dft(2**30),
        lambda: km.idft(2**30 + 1),
        lambda: km.bit_reversal(2**30),
        lambda: km.random(2**30),
        lambda: km.random(4, expansion=1e300),
        lambda: km.random(4, width=2**40),
        lambda: km.convolution(np.ones(3), 2**30),
        lambda: km.convolution(np.ones(3), 2**30, mode="same"),
        lambda: km.circulant(np.broadcast_to(1.0, 2**40)),
        lambda: km.toeplitz(np.broadcast_to(1.0, 2**40)),
        lambda: km.toeplitz([1.0], np.broadcast_to(1.0, 2**40)),
    ],
)
def test_sizes_that_cannot_fit_fail_fast(call):
    _fails_fast(call)


def test_inputs_too_large_for_the_memory_fail_fast(monkeypatch):
    import kmatrix._checks

    big = km.random(2**12, width=8, init="identity")  # 12 MiB
    wide = km.random(2**12, width=4, init="identity", expansion=2)  # 13 MiB
    # Pretend 64 MiB are available, so that moderate inputs stand for impossible ones.
    monkeypatch.setattr(kmatrix._checks, "available_memory", lambda: 2**26)
    _fails_fast(lambda: km.permutation(np.arange(2**20)))
    _fails_fast(lambda: km.toeplitz(np.ones(2**20)))
    _fails_fast(lambda: km.diag(np.ones(2**20)))
    U = np.ones((2**10, 2**8), dtype=np.float32)
    _fails_fast(lambda: km.low_rank(U, U))
    _fails_fast(lambda: km.sum([big] * 8))
    _fails_fast(lambda: big @ wide)
    _fails_fast(lambda: km.kron(km.identity(2**8), km.identity(2**12)))
    _fails_fast(lambda: km.sparse(sp.eye(2**16, format="csr")))


def test_main_refuses_an_impossible_size_fast(capsys):
    from kmatrix.__main__ import main

    t0 = time.perf_counter()
    assert main(["--n", str(2**30)]) == 2
    assert time.perf_counter() - t0 < 1.0
    assert "needs about" in capsys.readouterr().err


def test_check_memory_threshold(monkeypatch):
    import kmatrix._checks as checks

    monkeypatch.setattr(checks, "available_memory", lambda: 1000)
    assert checks.check_memory(1000, "x") == 1000
    with pytest.raises(MemoryError, match="thing needs about"):
        checks.check_memory(1001, "thing")
    monkeypatch.setattr(checks, "available_memory", lambda: None)  # unknown: no check
    assert checks.check_memory(10**30, "x") == 10**30
    monkeypatch.undo()
    avail = checks.available_memory()
    assert avail is None or avail > 0


# --------------------------------------------------------------------------- float arguments
_H4 = np.array([[1.0, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
_BAD_FLOATS = [float("inf"), float("-inf"), float("nan")]


@pytest.mark.parametrize("bad", _BAD_FLOATS)
@pytest.mark.parametrize(
    "name, call",
    [
        ("expansion", lambda v: km.random(4, expansion=v)),
        ("expansion", lambda v: km.fit(_H4, expansion=v)),
        ("tol", lambda v: km.fit(_H4, tol=v)),
        ("lr", lambda v: km.fit(_H4, method="adam", lr=v)),
        ("tol", lambda v: km.factorize(_H4, tol=v)),
        ("rtol", lambda v: kt.assert_matches_dense(km.identity(4), np.eye(4), rtol=v)),
        ("atol", lambda v: kt.assert_matches_dense(km.identity(4), np.eye(4), atol=v)),
        ("rtol", lambda v: kt.assert_adjoint(km.identity(4), rtol=v)),
        ("expansion", lambda v: kt.assert_certificate(km.identity(4), expansion=v)),
    ],
)
def test_float_arguments_must_be_finite(name, call, bad):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        call(bad)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize(
    "name, call",
    [
        ("tol", lambda: km.fit(_H4, tol=-1e-3)),
        ("lr", lambda: km.fit(_H4, method="adam", lr=0.0)),
        ("tol", lambda: km.factorize(_H4, tol=-1.0)),
        ("rtol", lambda: kt.assert_matches_dense(km.identity(4), np.eye(4), rtol=-1.0)),
        ("atol", lambda: kt.assert_matches_dense(km.identity(4), np.eye(4), atol=-1.0)),
        ("rtol", lambda: kt.assert_adjoint(km.identity(4), rtol=-1e-3)),
        ("expansion", lambda: kt.assert_certificate(km.identity(4), expansion=0.0)),
    ],
)
def test_float_arguments_must_be_in_range(name, call):
    with pytest.raises(ValueError, match=name):
        call()


def test_huge_finite_expansions_fail_fast():
    _fails_fast(lambda: km.random(4, expansion=1e300))
    _fails_fast(lambda: km.fit(_H4, expansion=1e300))
    _fails_fast(lambda: km.fit(_H4, width=2**40))


# --------------------------------------------------------------------------- user values named
def test_assert_adjoint_needs_vectors():
    with pytest.raises(ValueError, match="n_vectors must be >= 1"):
        kt.assert_adjoint(km.identity(4), n_vectors=0)
    with pytest.raises(TypeError, match="n_vectors"):
        kt.assert_adjoint(km.identity(4), n_vectors=1.5)
    kt.assert_adjoint(km.identity(4), n_vectors=1)


@pytest.mark.parametrize(
    "name, call",
    [
        ("d contains NaN", lambda: km.diag([np.nan])),
        ("d contains NaN", lambda: km.diag([1.0, np.inf])),
        ("c is too large", lambda: km.circulant([1e308, 1e308])),
        ("c is too large", lambda: km.circulant([1e308, 1e308, 1e308])),
        ("c is too large", lambda: km.circulant(np.array([3e38, 3e38], dtype=np.float32))),
        ("c or r is too large", lambda: km.toeplitz([1e308, 1e308, 1e308], [1e308, 1e308])),
        ("h is too large", lambda: km.convolution([1e308, 1e308], 3)),
        ("overflow float32", lambda: km.diag([1e300]).astype(np.float32)),
    ],
)
def test_bad_values_are_named_after_the_argument(name, call):
    with pytest.raises(ValueError, match=name) as info:
        call()
    assert "twiddle contains" not in str(info.value)


# --------------------------------------------------------------------------- one dtype rule
from hypothesis import given, strategies as st  # noqa: E402

from kmatrix._checks import value_dtype  # noqa: E402

_VALUE_DTYPES = [np.bool_, np.int8, np.uint8, np.int64, np.float16, np.float32, np.float64,
                 np.complex64, np.complex128, np.longdouble]
_RULE = {"b": np.float64, "i": np.float64, "u": np.float64}


def _rule(*dtypes):
    """The documented table (docs/guide/dtypes.rst), written out independently."""
    out = []
    for d in map(np.dtype, dtypes):
        if d.kind in "fc" and d.itemsize > (8 if d.kind == "f" else 16):
            return None  # extended precision: refused
        out.append(np.dtype(_RULE.get(d.kind, np.float32 if d == np.float16 else d)))
    return np.result_type(*out)


def _values(dtype, shape):
    return (np.arange(int(np.prod(shape))).reshape(shape) % 3 + 1).astype(dtype)


_VALUE_CONSTRUCTORS = {
    "diag": lambda a, b: km.diag(_values(a, 4)),
    "sparse": lambda a, b: km.sparse(_values(a, (3, 4))),
    "sparse (scipy)": lambda a, b: km.sparse(sp.csr_array(_values(a, (3, 4)))),
    "low_rank": lambda a, b: km.low_rank(_values(a, (3, 2)), _values(b, (4, 2))),
    "fit": lambda a, b: km.fit(_values(a, (4, 4)), max_iter=0).kmatrix,
    "fit (pairs)": lambda a, b: km.fit(X=_values(a, (4, 3)), Y=_values(b, (4, 3)), max_iter=0).kmatrix,
    "factorize": lambda a, b: km.factorize(_values(a, (2, 2)), return_info=True)[0],
}
_TWO_INPUTS = ("low_rank", "fit (pairs)")
# Complex factors whatever the input: the rule's dtype must cast safely to theirs.
_SPECTRAL = {
    "circulant": lambda a, b: km.circulant(_values(a, 4)),
    "toeplitz": lambda a, b: km.toeplitz(_values(a, 3), _values(b, 2)),
    "convolution": lambda a, b: km.convolution(_values(a, 3), 5),
}


@given(name=st.sampled_from(sorted(_VALUE_CONSTRUCTORS) + sorted(_SPECTRAL)),
       a=st.sampled_from(_VALUE_DTYPES), b=st.sampled_from(_VALUE_DTYPES))
def test_one_dtype_rule_for_values(name, a, b):
    two = name in _TWO_INPUTS or name == "toeplitz"
    b = b if two else a
    want = _rule(a, b)
    build = _VALUE_CONSTRUCTORS.get(name) or _SPECTRAL[name]
    if name == "sparse (scipy)" and np.dtype(a) == np.float16:
        return  # SciPy's sparse arrays cannot hold float16 values
    if want is None:
        with pytest.raises(TypeError, match="longdouble|float128|float96"):
            build(a, b)
        return
    assert value_dtype(a, b) == want
    K = build(a, b)
    assert K.dtype == want, (name, a, b, K.dtype)
    if name in _SPECTRAL:  # complex factors (the spectrum); real data gives a real operator
        assert K.twiddle.dtype.kind == "c" and K.real_matrix == (want.kind != "c")


_EXPLICIT = {
    "identity": lambda d: km.identity(4, dtype=d),
    "random": lambda d: km.random(4, dtype=d, rng=0),
    "hadamard": lambda d: km.hadamard(4, dtype=d),
    "permutation": lambda d: km.permutation([1, 0, 2], dtype=d),
    "bit_reversal": lambda d: km.bit_reversal(4, dtype=d),
    "astype": lambda d: km.identity(4).astype(d),
    "sparse": lambda d: km.sparse(np.eye(3), dtype=d),
    "fit": lambda d: km.fit(np.eye(4), dtype=d, max_iter=0).kmatrix,
}


@given(name=st.sampled_from(sorted(_EXPLICIT)), dtype=st.sampled_from(_VALUE_DTYPES))
def test_explicit_dtype_is_one_of_the_four(name, dtype):
    dtype = np.dtype(dtype)
    if dtype.name in ("float32", "float64", "complex64", "complex128"):
        assert _EXPLICIT[name](dtype).dtype == dtype
    else:
        with pytest.raises(TypeError, match="dtype must be one of float32, float64"):
            _EXPLICIT[name](dtype)


def test_diag_takes_what_its_docstring_promises():
    assert km.diag(np.array([1, 2], dtype=np.uint8)).dtype == np.float64
    assert km.diag(np.array([1, 2], dtype=np.float16)).dtype == np.float32
    np.testing.assert_array_equal(km.diag(np.array([1, 2], np.uint8)).toarray(), np.diag([1.0, 2.0]))

"""KMatrix keeps SciPy's LinearOperator contract, on the installed SciPy version.

The reference for every K-matrix ``K`` is SciPy itself: ``aslinearoperator(K.toarray())``
(and, where SciPy's dense wrapper has its own quirks -- ``numpy.matrix`` in ``matvec`` on
SciPy 1.18, sparse operands -- a user-supplied operator written by SciPy's rules,
:class:`UserOperator`). Each check runs both and compares results (values, shape, dtype,
array type), exceptions (type, SciPy's message as the prefix of ours) and warnings. The
generic checks of SciPy's own ``sparse/linalg/tests/test_interface.py`` are ported at the
end with exact K-matrices of SciPy's example matrices.
"""

import operator
import warnings

import numpy as np
import pytest
import scipy
import scipy.sparse as sparse
from numpy.testing import assert_allclose
from scipy.sparse import issparse
from scipy.sparse.linalg import LinearOperator, aslinearoperator

import kmatrix as km

# numpy.matrix operands are part of SciPy's contract; NumPy discourages the class itself
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")

SCIPY_BATCHES = tuple(int(p) for p in scipy.__version__.split(".")[:2]) >= (1, 18)
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
# dense path (internal size <= 64) and kernel path (N >= 128), both orientations
SHAPES = [(6, 6), (5, 7), (7, 5), (100, 70), (70, 100), (300, 300)]


class UserOperator(LinearOperator):
    """A user-supplied operator by SciPy's rules: hooks on dense arrays only."""

    def __init__(self, A):
        super().__init__(A.dtype, A.shape)
        self.A = A

    @staticmethod
    def _dense(x):
        if issparse(x):
            raise TypeError("dense arrays only")
        return x

    def _matvec(self, x):
        x = self._dense(x)
        if isinstance(x, np.matrix) or x.ndim == 1 or not SCIPY_BATCHES:
            return self.A @ x
        return (self.A @ x[..., None])[..., 0]

    def _matmat(self, X):
        return self.A @ self._dense(X)

    def _adjoint(self):
        return UserOperator(self.A.conj().T)


def _family():
    for shape in SHAPES:
        for dtype in DTYPES:
            yield pytest.param(shape, dtype, id=f"{shape[0]}x{shape[1]}-{np.dtype(dtype).name}")


def operator_family():
    return list(_family())


_cache = {}


def kmat(shape, dtype):
    key = (shape, dtype)
    if key not in _cache:
        _cache[key] = km.random(shape, init="ortho", dtype=dtype, rng=sum(shape))
    return _cache[key]


def outcome(f, *args):
    """``(result, exception, warnings)`` of ``f(*args)``."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            res, exc = f(*args), None
        except Exception as e:  # noqa: BLE001 - compared below
            res, exc = None, e
    seen = [
        (w.category, str(w.message), w.filename)
        for w in rec
        if not issubclass(w.category, PendingDeprecationWarning)  # numpy.matrix itself
        # floating-point flags raised inside BLAS on finite input (the values are
        # compared separately): they depend on the BLAS kernel, not on the contract
        and not (issubclass(w.category, RuntimeWarning) and "encountered in" in str(w.message))
    ]
    return res, exc, seen


def assert_same(f, ours, ref, *args, dtype_from=None, prec=None):
    """``f(ours, *args)`` behaves as ``f(ref, *args)``: same result or same error."""
    r, e, w = outcome(f, ours, *args)
    rr, ee, ww = outcome(f, ref, *args)
    if ee is not None:
        assert e is not None, f"SciPy raises {ee!r}; KMatrix returned {type(r).__name__}"
        assert_same_error(e, ee, ours, ref)
    else:
        assert e is None, f"SciPy returns {type(rr).__name__}; KMatrix raises {e!r}"
        if isinstance(rr, LinearOperator):
            assert isinstance(r, LinearOperator) and r.shape == rr.shape
        else:
            assert type(r) is type(rr), (type(r), type(rr))
            assert r.shape == rr.shape
            want = rr.dtype if dtype_from is None else np.result_type(dtype_from, *args[-1:])
            assert r.dtype == want, (r.dtype, want)
            if rr.size:
                # the operator's own precision bounds the agreement (its factors are rounded)
                eps = max(np.finfo(np.result_type(r.dtype, 1.0)).eps,
                          np.finfo(prec or ours.dtype).eps)
                scale = max(1.0, float(np.abs(rr).max()))
                assert_allclose(np.asarray(r), np.asarray(rr), rtol=0, atol=300 * eps * scale)
    assert [x[:2] for x in w] == [x[:2] for x in ww]
    assert [x[2] for x in w] == [x[2] for x in ww], "warning attributed to another caller"


def assert_same_error(e, ee, ours, ref):
    """``e`` is SciPy's error ``ee``: same type (or a base of it), SciPy's message first."""
    assert isinstance(ee, type(e)), f"SciPy raises {ee!r}; KMatrix raises {e!r}"
    # (messages that name the operator name ours)
    want = str(ee).replace(repr(ref), repr(ours)).replace(type(ref).__name__, type(ours).__name__)
    assert str(e).startswith(want), f"SciPy: {ee}\nKMatrix: {e}"


def inputs(n, dtype):
    """Inputs for an operator with inner dimension ``n``: good, batched, empty and wrong;
    complex input to real operators and integer input take the other code paths."""
    rng = np.random.default_rng(n)
    cases = [(dtype, shape) for shape in [
        (n,), (n, 1), (n, 3), (n, 0), (2, n), (0, n), (2, n, 3), (2, 1, n), (n + 1,),
        (n + 1, 1), (n + 1, 2), (), (3, n + 1), (2, n + 1, 3)]]
    cases += [(np.complex128, shape) for shape in [(n,), (n, 3), (n, 0), (2, n), (0, n)]]
    cases += [(np.int64, shape) for shape in [(n,), (n, 2)]]
    out = []
    for xdt, shape in cases:
        x = rng.standard_normal(shape)
        if np.dtype(xdt).kind == "c":
            x = x + 1j * rng.standard_normal(shape)
        out.append(np.asarray(x).astype(xdt))
    return out + [list(range(n)), [[1.0]] * n]


PRODUCTS = {
    "matvec": lambda A, x: A.matvec(x),
    "matmat": lambda A, x: A.matmat(x),
    "dot": lambda A, x: A.dot(x),
    "@": lambda A, x: A @ x,
}
ALIASES = {  # the same products by other names: a few inputs suffice
    "*": lambda A, x: A * x,
    "call": lambda A, x: A(x),
    "matmul": lambda A, x: operator.matmul(A, x),
}
ADJOINT_PRODUCTS = {
    "rmatvec": lambda A, x: A.rmatvec(x),
    "rmatmat": lambda A, x: A.rmatmat(x),
    "x @ A": lambda A, x: x @ A,
}


def run_battery(K, ref, prec=None):
    rows, cols = K.shape
    for i, x in enumerate(inputs(cols, K.dtype)):
        for f in PRODUCTS.values():
            assert_same(f, K, ref, x, prec=prec)
        if i in (0, 2, 4, 8):
            for f in ALIASES.values():
                assert_same(f, K, ref, x, prec=prec)
    for i, x in enumerate(inputs(rows, K.dtype)):
        if isinstance(x, list):
            continue  # list @ A is the list's own business
        for f in ADJOINT_PRODUCTS.values():
            assert_same(f, K, ref, x, prec=prec)
        if i in (0, 2, 4, 8, 12):
            assert_same(lambda A, x: x * A, K, ref, x, prec=prec)


# --------------------------------------------------------------------------- array products
@pytest.mark.parametrize("shape, dtype", operator_family())
def test_products_match_aslinearoperator(shape, dtype):
    K = kmat(shape, dtype)
    run_battery(K, aslinearoperator(K.toarray()))


CLOSURE = {
    "H": (lambda A: A.H),
    "T": (lambda A: A.T),
    "adjoint()": (lambda A: A.adjoint()),
    "transpose()": (lambda A: A.transpose()),
    "2*A": (lambda A: 2 * A),
    "A*2j": (lambda A: A * 2j),
    "A/2": (lambda A: A / 2),
    "-A": (lambda A: -A),
    "A+A": (lambda A: A + A),
    "A-A": (lambda A: A - A),
    "A@A.H": (lambda A: A @ A.H),
    "A.H*A": (lambda A: A.H * A),
    "A.dot(A.T)": (lambda A: A.dot(A.T)),
}


@pytest.mark.parametrize("shape, dtype", operator_family())
@pytest.mark.parametrize("how", list(CLOSURE))
def test_closure_operators_match_scipy(shape, dtype, how):
    """Sums, products, scalings and adjoints of K-matrices are K-matrices again, equal to
    SciPy's lazy operators: same dense form, the dtype SciPy reports, the same products."""
    if shape[0] > 100 and how not in ("H", "2*A", "A+A"):
        pytest.skip("kernel-size square case: a few representatives")
    K = kmat(shape, dtype)
    L = aslinearoperator(K.toarray())
    C, S = CLOSURE[how](K), CLOSURE[how](L)
    assert isinstance(C, km.KMatrix)
    assert C.shape == S.shape and C.dtype == S.dtype, (C.dtype, S.dtype)
    expected = S.matmat(np.eye(S.shape[1], dtype=S.dtype))
    eps = np.finfo(K.dtype).eps  # (a scaled float32 K may be float64, as in SciPy)
    assert_allclose(C.toarray(), expected, rtol=0, atol=300 * eps * max(1, np.abs(expected).max()))
    if shape == (5, 7):
        run_battery(C, aslinearoperator(C.toarray()), prec=K.dtype)


COMPOSITES = {
    "K+D": lambda K, D, E: K + D,
    "D+K": lambda K, D, E: D + K,
    "K-D": lambda K, D, E: K - D,
    "K@E": lambda K, D, E: K @ E,
    "E.H@K.H": lambda K, D, E: E.H @ K.H,
    "K*E": lambda K, D, E: K * E,
    "K.dot(E)": lambda K, D, E: K.dot(E),
    "2*K+D": lambda K, D, E: 2 * K + D,
    "(K+D).H": lambda K, D, E: (K + D).H,
    "(K+D).T": lambda K, D, E: (K + D).T,
}


COMPOSITE_FAMILY = [p for p in operator_family() if p.values[0] in ((5, 7), (7, 5))] + [
    pytest.param((100, 70), np.complex64, id="100x70-complex64"),
    pytest.param((300, 300), np.float32, id="300x300-float32")]


@pytest.mark.parametrize("shape, dtype", COMPOSITE_FAMILY)
@pytest.mark.parametrize("how", list(COMPOSITES))
def test_composites_with_other_operators(shape, dtype, how):
    """With other LinearOperators, K builds SciPy's lazy operators, which call K's public
    methods with every input SciPy allows (batches on SciPy 1.18 included)."""
    if shape[0] >= 100 and how not in ("K+D", "K@E", "(K+D).T"):
        pytest.skip("kernel-size case: a few representatives")
    K = kmat(shape, dtype)
    rng = np.random.default_rng(0)
    D = aslinearoperator(rng.standard_normal(shape).astype(dtype))
    E = aslinearoperator(rng.standard_normal((shape[1], 4)).astype(dtype))
    L = aslinearoperator(K.toarray())
    C, S = COMPOSITES[how](K, D, E), COMPOSITES[how](L, D, E)
    assert type(C) is type(S) and C.shape == S.shape and C.dtype == S.dtype
    rows, cols = C.shape
    for x in inputs(cols, C.dtype):
        for f in (PRODUCTS["matvec"], PRODUCTS["matmat"], PRODUCTS["@"]):
            assert_same(f, C, S, x, prec=dtype)
    for x in inputs(rows, C.dtype):
        for f in (ADJOINT_PRODUCTS["rmatvec"], ADJOINT_PRODUCTS["rmatmat"]):
            assert_same(f, C, S, x, prec=dtype)


@pytest.mark.parametrize("shape, dtype", [p for p in operator_family() if p.values[0][0] == p.values[0][1]])
def test_powers(shape, dtype):
    K = kmat(shape, dtype)
    L = aslinearoperator(K.toarray())
    for p in (0, 1, 2, 3):
        C, S = K**p, L**p
        # a power of a K-matrix is a K-matrix (closure); SciPy's is a lazy operator
        assert isinstance(C, km.KMatrix) and C.dtype == S.dtype
        for x in inputs(shape[1], dtype)[:9]:
            assert_same(PRODUCTS["matvec"], C, S, x)
            assert_same(PRODUCTS["matmat"], C, S, x)
            assert_same(ADJOINT_PRODUCTS["rmatvec"], C, S, x)
    for p in (-1, 1.5, np.array([2])):
        assert_same(lambda A, p: A**p, K, L, p)


def test_power_of_rectangular_operator_is_an_error():
    K = kmat((5, 7), np.float64)
    assert_same(lambda A: A**2, K, aslinearoperator(K.toarray()))


# --------------------------------------------------------------------------- scalars, dtypes
SCALARS = [2, -3, 2.5, 2j, 1 - 1j, True, np.int8(2), np.int64(2), np.float32(2), np.float64(2),
           np.complex64(2j), np.complex128(2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", SCALARS, ids=repr)
def test_scaled_dtype_is_scipys(dtype, c):
    K = kmat((5, 7), dtype)
    L = aslinearoperator(K.toarray())
    for f in (lambda A: c * A, lambda A: A * c, lambda A: A.dot(c), lambda A: A / c, lambda A: -A):
        C, S = f(K), f(L)
        assert isinstance(C, km.KMatrix)
        assert C.dtype == S.dtype, (C.dtype, S.dtype)
        x = np.arange(1, 8)
        expected = S @ x
        assert_allclose(C @ x, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("how", ["K @ c", "c @ K", "K(c)", "K / array", "K / list", "K + 1",
                                 "1 + K", "K - 1", "K * 0d", "0d * K", "K @ 0d", "K / 0d",
                                 "K / 0", "K ** 1.0"])
def test_scalar_operand_errors_are_scipys(how):
    K = kmat((6, 6), np.float64)
    L = aslinearoperator(K.toarray())
    c, zd = 2.0, np.array(2.0)
    f = {
        "K @ c": lambda A: A @ c,
        "c @ K": lambda A: c @ A,
        "K(c)": lambda A: A(c),
        "K / array": lambda A: A / np.array([1, 2]),
        "K / list": lambda A: A / [1, 2],
        "K + 1": lambda A: A + 1,
        "1 + K": lambda A: 1 + A,
        "K - 1": lambda A: A - 1,
        "K * 0d": lambda A: A * zd,
        "0d * K": lambda A: zd * A,
        "K @ 0d": lambda A: A @ zd,
        "K / 0d": lambda A: A / zd,
        "K / 0": lambda A: A / 0,
        "K ** 1.0": lambda A: A ** np.float64(1.0),
    }[how]
    r, e, _ = outcome(f, K)
    rr, ee, _ = outcome(f, L)
    if ee is None:
        assert e is None and isinstance(r, LinearOperator) and r.dtype == rr.dtype
        x = np.arange(6.0)
        assert_allclose(r @ x, rr @ x, rtol=1e-12, atol=1e-12)
    else:
        assert e is not None, f"SciPy raises {ee!r}; KMatrix returned {r!r}"
        assert_same_error(e, ee, K, L)


# --------------------------------------------------------------------------- matrix, sparse
@pytest.mark.parametrize("shape, dtype", [p for p in operator_family() if p.values[0][0] < 100])
def test_numpy_matrix_in_numpy_matrix_out(shape, dtype):
    K = kmat(shape, dtype)
    U = UserOperator(K.toarray())
    rows, cols = shape
    vector_products = (PRODUCTS["matvec"], ADJOINT_PRODUCTS["rmatvec"])
    for f, n in [(PRODUCTS["matvec"], cols), (PRODUCTS["matmat"], cols), (PRODUCTS["dot"], cols),
                 (PRODUCTS["@"], cols), (ADJOINT_PRODUCTS["rmatvec"], rows),
                 (ADJOINT_PRODUCTS["rmatmat"], rows), (ADJOINT_PRODUCTS["x @ A"], rows)]:
        for mshape in [(n, 1), (n, 2), (1, n), (n + 1, 1), (2, n)]:
            x = np.asmatrix(np.ones(mshape))
            if SCIPY_BATCHES and f in vector_products and mshape[0] != n:
                # SciPy 1.18 hands a matrix to the product unchecked: the error is the
                # product's own (numpy's, for a dense user operator)
                with pytest.raises(ValueError):
                    f(K, x)
                continue
            assert_same(f, K, U, x)
    assert type(K.matvec(np.asmatrix(np.ones((cols, 1))))) is np.matrix
    assert type(K.rmatvec(np.asmatrix(np.ones((rows, 1))))) is np.matrix
    assert type(K.matmat(np.asmatrix(np.ones((cols, 2))))) is np.matrix


@pytest.mark.parametrize("shape, dtype", [p for p in operator_family() if p.values[1] == np.float64])
def test_sparse_operands_get_scipys_errors(shape, dtype):
    """K-matrices take dense operands: sparse ones get SciPy's errors for such operators."""
    K = kmat(shape, dtype)
    U = UserOperator(K.toarray())
    rows, cols = shape
    for fmt in ("csr", "coo"):
        for n, fs in [(cols, (PRODUCTS["matvec"], PRODUCTS["matmat"], PRODUCTS["dot"],
                              PRODUCTS["@"], ALIASES["*"])),
                      (rows, (ADJOINT_PRODUCTS["rmatvec"], ADJOINT_PRODUCTS["rmatmat"]))]:
            for sshape in [(n, 2), (n, 1), (n + 1, 2)]:
                x = sparse.random_array(sshape, density=0.5, format=fmt, rng=0)
                for f in fs:
                    assert_same(f, K, U, x)
        for sshape in [(2, rows), (1, rows), (2, rows + 1)]:
            x = sparse.random_array(sshape, density=0.5, format=fmt, rng=0)
            assert_same(ADJOINT_PRODUCTS["x @ A"], K, U, x)
            assert_same(lambda A, x: x * A, K, U, x)


def test_sparse_times_kmatrix_message():
    # SciPy's test_sparse_matmat_exception, for a K-matrix
    K = km.identity(2)
    B = sparse.eye_array(2)
    msg = ("Multipliying LinearOperator with a sparse matrix failed" if SCIPY_BATCHES
           else "Unable to multiply a LinearOperator with a sparse matrix.")
    with pytest.raises(TypeError, match=msg):
        K @ B
    with pytest.raises(TypeError, match=msg):
        B @ K
    with pytest.raises(ValueError, match="(?i)dimension mismatch"):
        K @ np.identity(4)
    with pytest.raises(ValueError, match="(?i)dimension mismatch"):
        np.identity(4) @ K


# --------------------------------------------------------------------------- device arrays
class CudaOnly:
    """Exposes nothing but ``__cuda_array_interface__`` (no GPU needed)."""

    def __init__(self, shape):
        self.__cuda_array_interface__ = {
            "shape": shape, "typestr": "<f8", "data": (0, False), "version": 3, "strides": None,
        }


@pytest.mark.parametrize("shape", [(6, 6), (100, 70)])
def test_device_arrays_take_the_gpu_path_from_every_method(shape):
    K = kmat(shape, np.float64)
    rows, cols = shape
    vector, block = CudaOnly((cols,)), CudaOnly((cols, 2))
    for x, method in ((vector, K.matvec), (block, K.matmat)):
        _, want, _ = outcome(lambda: K @ x)
        assert want is not None and not isinstance(want, AttributeError)
        for f in (method, K.dot, K, lambda x: K * x):
            _, got, _ = outcome(f, x)
            assert type(got) is type(want) and str(got) == str(want)
    # each method's shape rule holds for device arrays too
    with pytest.raises(ValueError, match="dimension mismatch"):
        K.matvec(block)
    with pytest.raises(ValueError, match="dimension mismatch"):
        K.matmat(vector)
    for x, method in ((CudaOnly((rows,)), K.rmatvec), (CudaOnly((rows, 2)), K.rmatmat)):
        _, want, _ = outcome(lambda: K.H @ x)
        _, got, _ = outcome(method, x)
        assert type(got) is type(want) and str(got) == str(want)


# --------------------------------------------------------------------------- attributes
@pytest.mark.parametrize("shape, dtype", operator_family())
def test_attributes(shape, dtype):
    K = kmat(shape, dtype)
    L = aslinearoperator(K.toarray())
    assert K.args == ()
    for A in (K, K.H, K.T, 2 * K, K + K):
        assert A.ndim == L.ndim == 2
        assert hasattr(A, "args") and hasattr(A, "_matvec") and hasattr(A, "dtype")
    assert (K + aslinearoperator(np.eye(*shape))).args[0] is K
    assert repr(K).startswith("<KMatrix")


# --------------------------------------------------------------------------- ported SciPy checks
def exact(A):
    """An exact K-matrix of the small dense ``A`` (SciPy's test matrices)."""
    K = km.sparse(np.asarray(A))
    np.testing.assert_array_equal(K.toarray(), A)
    return K


class TestInterfacePort:
    """SciPy's TestLinearOperator / TestAsLinearOperator checks with K-matrices."""

    A = np.array([[1, 2, 3], [4, 5, 6]])
    B = np.array([[1, 2], [3, 4], [5, 6]])
    C = np.array([[1, 2], [3, 4]])

    def test_matvec(self):
        A = exact(self.A)
        eq = assert_allclose
        assert A.args == ()
        eq(A.matvec(np.array([1, 2, 3])), [14, 32])
        eq(A @ np.array([1, 2, 3]), [14, 32])
        eq(A @ np.array([[1], [2], [3]]), [[14], [32]])
        eq(A.dot(np.array([1, 2, 3])), [14, 32])
        eq(A.dot(np.array([[1], [2], [3]])), [[14], [32]])
        eq(A.matvec(np.asmatrix([[1], [2], [3]])), [[14], [32]])
        eq(A @ np.asmatrix([[1], [2], [3]]), [[14], [32]])
        eq(A.dot(np.asmatrix([[1], [2], [3]])), [[14], [32]])
        eq((2 * A) @ [1, 1, 1], [12, 30])
        eq((2 * A).rmatvec([1, 1]), [10, 14, 18])
        eq((2 * A).H.matvec([1, 1]), [10, 14, 18])
        eq((2 * A).adjoint().matvec([1, 1]), [10, 14, 18])
        eq((2 * A) @ [[1], [1], [1]], [[12], [30]])
        eq((2 * A).matmat([[1], [1], [1]]), [[12], [30]])
        eq((A * 2) @ [1, 1, 1], [12, 30])
        eq((2j * A) @ [1, 1, 1], [12j, 30j])
        eq((A + A) @ [1, 1, 1], [12, 30])
        eq((A + A).rmatvec([1, 1]), [10, 14, 18])
        eq((A + A).H.matvec([1, 1]), [10, 14, 18])
        eq((A + A) @ [[1], [1], [1]], [[12], [30]])
        eq((-A) @ [1, 1, 1], [-6, -15])
        eq((A - A) @ [1, 1, 1], [0, 0], atol=1e-12)
        X = np.array([[1, 2], [3, 4]])
        eq((2 * A).rmatmat(X), (2 * self.A).T @ X)
        eq((2j * A).rmatmat(X), (2j * self.A).T.conj() @ X)
        eq((A * 2j).rmatmat(X), (self.A * 2j).T.conj() @ X)
        eq((A + 2j * A).rmatmat(X), (self.A + 2j * self.A).T.conj() @ X)
        eq((2j * A).rmatmat(2j * X), (2j * self.A).T.conj() @ (2j * X))
        for r in (A.matvec([1, 2, 3]), A @ np.array([[1], [2], [3]]),
                  A.dot(np.asmatrix([[1], [2], [3]])), A @ np.asmatrix([[1], [2], [3]])):
            assert type(r) is np.ndarray
        assert type(A.matvec(np.asmatrix([[1], [2], [3]]))) is np.matrix
        assert (2j * A).dtype == np.complex128
        result = A @ np.array([1, 2, 3])
        A * 3, A / 5
        eq(A @ np.array([1, 2, 3]), result)
        with pytest.raises(ValueError, match="Can only divide a linear operator by a scalar."):
            A / np.array([1, 2])
        for bad in ([1, 2], [1, 2, 3, 4], [[1], [2]], [[1], [2], [3], [4]]):
            with pytest.raises(ValueError, match="(?i)dimension mismatch"):
                A.matvec(np.array(bad))
        with pytest.raises(ValueError):
            A @ A
        with pytest.raises(ValueError):
            A**2

    def test_products_and_powers(self):
        A, B, C = exact(self.A), exact(self.B), exact(self.C)
        X = np.array([[1, 2], [3, 4]])
        AB = self.A @ self.B
        assert_allclose((A @ B).rmatmat(X), AB.T @ X)
        assert_allclose((2j * A @ B).rmatmat(X), (2j * AB).T.conj() @ X)
        assert_allclose((A @ B) @ [1, 1], [50, 113])
        assert_allclose((A @ B) @ [[1], [1]], [[50], [113]])
        assert_allclose((A @ B).matmat([[1], [1]]), [[50], [113]])
        assert_allclose((A @ B).rmatvec([1, 1]), [71, 92])
        assert_allclose((A @ B).H.matvec([1, 1]), [71, 92])
        with pytest.raises(ValueError):
            A + B
        assert_allclose(C.rmatmat(X), self.C.T @ X)
        assert_allclose((C**2).rmatmat(X), (self.C @ self.C).T @ X)
        assert_allclose((C**2) @ [1, 1], [17, 37])
        assert_allclose((C**2).rmatvec([1, 1]), [22, 32])
        assert_allclose((C**2).H.matvec([1, 1]), [22, 32])
        assert_allclose((C**2).matmat([[1], [1]]), [[17], [37]])

    def test_matmul(self):
        A = exact(self.A)
        B = np.array([[1 + 1j, 2, 3], [4, 5, 6], [7, 8, 9]])
        b = B[0]
        assert_allclose(operator.matmul(A, b), A * b)
        assert_allclose(operator.matmul(A, b.reshape(-1, 1)), A * b.reshape(-1, 1))
        assert_allclose(operator.matmul(A, B), A @ B)
        assert_allclose(operator.matmul(b, A.H), b * A.H)
        assert_allclose(operator.matmul(b, A.adjoint()), b * A.adjoint())
        assert_allclose(operator.matmul(b.reshape(1, -1), A.H), b.reshape(1, -1) * A.H)
        assert_allclose(operator.matmul(B, A.H), B @ A.H)
        assert_allclose(b @ A.H, b @ self.A.T.conj())
        with pytest.raises(ValueError):
            operator.matmul(A, 2)
        with pytest.raises(ValueError):
            operator.matmul(2, A)

    @pytest.mark.parametrize("original, dtype", [
        (np.array([[1, 2, 3], [4, 5, 6]]), np.float32),
        (np.array([[1, 2, 3], [4, 5, 6]]), np.float64),
        (np.array([[1, 2j, 3j], [4j, 5j, 6]]), np.complex128),
    ])
    def test_basic_and_dot(self, original, dtype):
        for K, A in [(exact(original.astype(dtype)), original),
                     (exact(original.T.astype(dtype)).T, original),
                     (exact(original.T.astype(dtype)).H, original.conj()),
                     (exact(original.T.conj().astype(dtype)).adjoint(), original)]:
            xs = [np.array([1, 2, 3]), np.array([[1], [2], [3]])]
            ys = [np.array([1, 2]), np.array([[1], [2]])]
            if K.dtype.kind == "c":
                xs += [np.array([1, 2j, 3j]), np.array([[1], [2j], [3j]])]
                ys += [np.array([1, 2j]), np.array([[1], [2j]])]
            x2 = np.array([[1, 4], [2, 5], [3, 6]])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # (n, 1) matvec on SciPy 1.18
                for x in xs:
                    assert_allclose(K.matvec(x), A @ x, rtol=1e-6)
                    assert_allclose(K @ x, A @ x, rtol=1e-6)
                    assert_allclose(K.dot(x), A @ x, rtol=1e-6)
                assert_allclose(K.matmat(x2), A @ x2, rtol=1e-6)
                assert_allclose(K @ x2, A @ x2, rtol=1e-6)
                assert_allclose(K.dot(x2), A @ x2, rtol=1e-6)
                for y in ys:
                    assert_allclose(K.rmatvec(y), A.T.conj() @ y, rtol=1e-6)
                    assert_allclose(K.T.matvec(y), A.T @ y, rtol=1e-6)
                    assert_allclose(K.H.matvec(y), A.T.conj() @ y, rtol=1e-6)
                    assert_allclose(K.adjoint().matvec(y), A.T.conj() @ y, rtol=1e-6)
                    if y.ndim == 2:
                        assert_allclose(K.rmatmat(y), A.T.conj() @ y, rtol=1e-6)
                        assert_allclose(K.T.matmat(y), A.T @ y, rtol=1e-6)
                        assert_allclose(K.H.matmat(y), A.T.conj() @ y, rtol=1e-6)
            assert K.dtype == dtype and hasattr(K, "args")

    def test_adjoint_and_transpose_conjugation(self):
        X = np.array([[1j]])
        B = 1j * exact(X)
        Y = 1j * X
        v = np.array([1])
        assert_allclose(B.dot(v), Y @ v)
        assert_allclose(B.H.dot(v), Y.T.conj() @ v)
        assert_allclose(B.adjoint().dot(v), Y.T.conj() @ v)
        assert_allclose(B.T.dot(v), Y.T @ v)

    def test_transpose_multiplication(self):
        Y = np.array([[1, 2], [3, 4]])
        A = exact(Y)
        X = np.array([1, 2])
        B = np.array([[10, 20], [30, 40]])
        X2 = X.reshape(-1, 1)
        for got, want in [(A @ B, Y @ B), (B.T @ A, B.T @ Y), (A.T @ B, Y.T @ B), (A @ X, Y @ X),
                          (X.T @ A, X.T @ Y), (A.T @ X, Y.T @ X), (A @ X2, Y @ X2),
                          (X2.T @ A, X2.T @ Y), (A.T @ X2, Y.T @ X2)]:
            assert got.shape == want.shape
            assert_allclose(got, want)

    def test_dtypes_of_operator_sum(self):
        rng = np.random.default_rng(0)
        c = exact(rng.random((2, 2)) + 1j * rng.random((2, 2)))
        r = exact(rng.random((2, 2)))
        assert (r + r).dtype == np.float64 and (c + c).dtype == np.complex128

    def test_pickle(self):
        import pickle

        K = exact(self.A)
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            K2 = pickle.loads(pickle.dumps(K, protocol=protocol))
            assert K2.shape == K.shape and K2.dtype == K.dtype and K2.args == K.args
            assert_allclose(K2 @ np.ones(3), K @ np.ones(3))


# --------------------------------------------------------------------------- SciPy 1.18 batches
@pytest.mark.skipif(not SCIPY_BATCHES, reason="batch dimensions are SciPy >= 1.18")
def test_batched_matvec_and_column_warning():
    n = 70
    K = kmat((100, n), np.float64)
    D = aslinearoperator(np.ones((100, n)))
    X = np.random.default_rng(0).standard_normal((3, n))
    assert_allclose(K.matvec(X), X @ K.toarray().T, atol=1e-12)
    assert_allclose((K + D).matvec(X), X @ (K.toarray() + 1).T, atol=1e-12)
    with pytest.warns(FutureWarning, match=r"Calling `matvec` on 'column vectors' of shape `\(70, 1\)`"):
        y = K.matvec(np.ones((n, 1)))
    assert y.shape == (100, 1)

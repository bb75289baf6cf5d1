"""Hierarchical butterfly factorization: exact recovery, projections, conventions, inputs."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
from hypothesis import given, settings, strategies as st

import kmatrix as km
from kmatrix._layout import identity_twiddle
from kmatrix._reference import dense_reference

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]

log_sizes = st.integers(1, 9)  # n = 2 .. 512
dtypes = st.sampled_from(DTYPES)
seeds = st.integers(0, 2**32 - 1)


def exact_tol(dtype, n):
    """Relative Frobenius tolerance for an exact butterfly of size n (log2 n factors)."""
    return 16 * np.finfo(np.dtype(dtype)).eps * max(1, int(np.log2(n)))


def rel_err(K, A):
    A = np.asarray(A, dtype=np.complex128)
    return np.linalg.norm(K.toarray() - A) / np.linalg.norm(A)


def bitrev(n):
    m = int(np.log2(n))
    return np.array([int(format(i, f"0{m}b")[::-1], 2) if m else 0 for i in range(n)])


def one_direction(m, dtype, rng, block, kind):
    """Twiddle with ``block`` (0: B*, 1: B) random and the other block the identity."""
    n = 1 << m
    tw = identity_twiddle(2, m, dtype)
    shape = (m, n // 2, 2, 2)
    if kind == "swap":  # 0/1 switches: a butterfly permutation (structured, rank-deficient)
        swap = rng.random((m, n // 2)) < 0.5
        t = np.zeros(shape)
        t[..., 0, 0] = t[..., 1, 1] = ~swap
        t[..., 0, 1] = t[..., 1, 0] = swap
    else:
        t = rng.standard_normal(shape)
        if np.dtype(dtype).kind == "c":
            t = t + 1j * rng.standard_normal(shape)
        if kind == "sparse":  # zero entries give zero and rank-deficient blocks
            t = t * (rng.random(shape) < 0.7)
    tw[block] = t
    return tw


# ------------------------------------------------------------------ exact recovery
@given(m=log_sizes, dtype=dtypes, seed=seeds, kind=st.sampled_from(["randn", "sparse", "swap"]),
       structure=st.sampled_from(["B", "B*"]))
def test_recovers_random_butterfly_of_one_direction(m, dtype, seed, kind, structure):
    rng = np.random.default_rng(seed)
    block = 1 if structure == "B" else 0
    tw = one_direction(m, dtype, rng, block, kind)
    A = dense_reference(tw)
    K, info = km.factorize(A, structure=structure, return_info=True)
    assert K.dtype == np.dtype(dtype)
    assert K.shape == A.shape and K.width == 1 and K.expansion == 1
    other = K.twiddle[1 - block]
    np.testing.assert_array_equal(other, identity_twiddle(1, m, dtype)[0])
    scale = max(np.linalg.norm(A), np.finfo(np.float64).tiny)
    tol = exact_tol(dtype, A.shape[0])
    assert np.linalg.norm(K.toarray() - A) <= tol * scale
    assert info["error"] <= tol
    assert info["structure"] == structure and info["perm"] is None


@given(m=log_sizes, normalize=st.booleans())
def test_recovers_hadamard_in_both_directions(m, normalize):
    n = 1 << m
    H = scipy.linalg.hadamard(n) / (np.sqrt(n) if normalize else 1)
    for structure in ("B", "B*"):
        K, info = km.factorize(H, structure=structure, return_info=True)
        assert K.dtype == np.float64
        assert info["error"] <= 1e-13
        assert rel_err(K, H) <= 1e-13


def test_integer_hadamard_gives_float64():
    K = km.factorize(scipy.linalg.hadamard(8))
    assert K.dtype == np.float64
    np.testing.assert_allclose(K.toarray(), scipy.linalg.hadamard(8), atol=1e-14)


@given(m=log_sizes, dtype=st.sampled_from([np.complex64, np.complex128]), seed=seeds)
def test_dft_with_bit_reversal_is_the_fast_dft(m, dtype, seed):
    n = 1 << m
    F = np.fft.fft(np.eye(n)).astype(dtype)
    K, info = km.factorize(F, perm="bitrev", return_info=True)
    np.testing.assert_array_equal(info["perm"], bitrev(n))
    # Cooley-Tukey, decimation in time: F[:, bitrev] is an increasing-stride butterfly.
    assert info["error"] <= exact_tol(dtype, n)
    assert rel_err(info["butterfly"], F[:, bitrev(n)]) <= exact_tol(dtype, n)
    x = np.random.default_rng(seed).standard_normal(n)
    y = np.fft.fft(x)
    assert np.linalg.norm(K @ x - y) <= exact_tol(dtype, n) * np.sqrt(n) * np.linalg.norm(x)
    assert K.dtype == np.dtype(dtype)
    assert K.width == (2 if n > 2 else 1)  # bitrev(2) is the identity


def test_dft_without_its_permutation_is_not_a_butterfly():
    F = np.fft.fft(np.eye(16))
    _, info = km.factorize(F, return_info=True)
    assert 0.5 < info["error"] <= 1


@given(m=st.integers(2, 8), dtype=dtypes, seed=seeds, structure=st.sampled_from(["B", "B*"]))
def test_permuted_butterfly_with_its_permutation(m, dtype, seed, structure):
    rng = np.random.default_rng(seed)
    n = 1 << m
    B = dense_reference(one_direction(m, dtype, rng, 1 if structure == "B" else 0, "randn"))
    p = rng.permutation(n)
    A = np.empty_like(B)
    A[:, p] = B  # A = B @ P, P = km.permutation(p): (B @ P) @ x = B @ x[p]
    K, info = km.factorize(A, structure=structure, perm=p, return_info=True)
    tol = exact_tol(dtype, n)
    np.testing.assert_array_equal(info["perm"], p)
    assert info["error"] <= tol
    assert rel_err(K, A) <= tol
    assert rel_err(info["butterfly"], B) <= tol
    assert K.dtype == np.dtype(dtype) and K.shape == (n, n)


@given(m=st.integers(2, 7), seed=seeds)
def test_best_candidate_is_kept(m, seed):
    rng = np.random.default_rng(seed)
    n = 1 << m
    F = np.fft.fft(np.eye(n))
    cands = [None, rng.permutation(n), "bitrev", np.arange(n)]
    _, info = km.factorize(F, perm=cands, return_info=True)
    errors = info["errors"]
    assert len(errors) == 4 and errors[2] <= exact_tol(np.complex128, n)
    assert info["error"] == min(errors)
    best = int(np.argmin(errors))  # the first of the best (a random candidate may tie)
    expected = [np.arange(n), cands[1], bitrev(n), np.arange(n)][best]
    np.testing.assert_array_equal(np.arange(n) if info["perm"] is None else info["perm"], expected)
    for cand, err in zip(cands, errors):
        _, single = km.factorize(F, perm=cand, return_info=True)
        assert single["error"] == err
    # A 2-D integer array is a list of candidate rows.
    _, info2 = km.factorize(F, perm=np.stack([rng.permutation(n), bitrev(n)]), return_info=True)
    assert info2["error"] <= exact_tol(np.complex128, n)


def test_identity_permutation_keeps_width_one():
    H = scipy.linalg.hadamard(8)
    K = km.factorize(H, perm=np.arange(8))
    assert K.width == 1
    K = km.factorize(H, perm=list(range(8)))  # a flat list of ints is one index array
    assert K.width == 1


# ------------------------------------------------------------------ general matrices
@given(m=st.integers(2, 8), complex_=st.booleans(), seed=seeds,
       structure=st.sampled_from(["B", "B*"]))
def test_random_dense_gets_a_butterfly_projection_and_its_error(m, complex_, seed, structure):
    rng = np.random.default_rng(seed)
    n = 1 << m
    A = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if complex_ else 0)
    K, info = km.factorize(A, structure=structure, return_info=True)
    err = info["error"]
    assert np.isfinite(err) and 0 < err <= 1 + 1e-12
    # The reported error is the error of the returned operator.
    assert abs(err - rel_err(K, A)) <= 1e-12
    assert np.all(np.isfinite(K.twiddle))
    # The projection lands on a butterfly: factorizing it again is exact.
    D = K.toarray()
    _, again = km.factorize(D, structure=structure, return_info=True)
    assert again["error"] <= 1e3 * np.finfo(np.float64).eps


@given(m=st.integers(1, 7), seed=seeds)
def test_b_star_is_the_transpose_of_b(m, seed):
    rng = np.random.default_rng(seed)
    n = 1 << m
    A = rng.standard_normal((n, n))
    K, info = km.factorize(A, structure="B", return_info=True)
    Ks, info_s = km.factorize(A.T, structure="B*", return_info=True)
    np.testing.assert_allclose(Ks.toarray(), K.toarray().T, rtol=0, atol=1e-12 * np.abs(A).max())
    assert abs(info["error"] - info_s["error"]) <= 1e-12


@given(m=st.integers(2, 6), seed=seeds, c=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3))
def test_error_is_scale_invariant(m, seed, c):
    A = np.random.default_rng(seed).standard_normal((1 << m, 1 << m))
    _, i1 = km.factorize(A, return_info=True)
    _, i2 = km.factorize(c * A, return_info=True)
    assert abs(i1["error"] - i2["error"]) <= 1e-10


def test_zero_matrix():
    K, info = km.factorize(np.zeros((8, 8)), return_info=True)
    assert info["error"] == 0
    np.testing.assert_array_equal(K.toarray(), 0)


def test_not_a_butterfly_warns_or_raises_never_silent():
    A = np.random.default_rng(0).standard_normal((8, 8))
    with pytest.warns(UserWarning, match="relative error"):
        km.factorize(A)
    with pytest.raises(ValueError, match="tolerance"):
        km.factorize(A, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        km.factorize(A, return_info=True)  # the error is returned, no warning
        km.factorize(A, tol=1.0)
        km.factorize(scipy.linalg.hadamard(8), tol=1e-14)


def test_sparse_and_kmatrix_inputs_are_densified():
    H = scipy.linalg.hadamard(8).astype(float)
    K1 = km.factorize(scipy.sparse.csr_array(H))
    K2 = km.factorize(K1)
    np.testing.assert_allclose(K2.toarray(), H, atol=1e-13)


# ------------------------------------------------------------------ invalid input
@pytest.mark.parametrize(
    "A, exc, match",
    [
        (np.ones((3, 3)), ValueError, "power of two"),
        (np.ones((1, 1)), ValueError, "power of two"),
        (np.ones((4, 8)), ValueError, r"square.*\(4, 8\)"),
        (np.ones(4), ValueError, "square"),
        (np.ones((2, 4, 4)), ValueError, "square"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, "numeric"),
        (np.ones((4, 4), dtype=object), TypeError, "numeric"),
        (np.ones((4, 4), dtype=np.longdouble), TypeError, "longdouble|float128|float96"),
        (np.full((4, 4), np.nan), ValueError, "NaN"),
    ],
)
def test_invalid_matrices_raise(A, exc, match):
    with pytest.raises(exc, match=match):
        km.factorize(A)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(structure="BB*"), ValueError, "structure"),
        (dict(perm="reverse"), ValueError, "bitrev"),
        (dict(perm=np.arange(4)), ValueError, r"shape \(8,\)"),
        (dict(perm=np.zeros(8, dtype=int)), ValueError, "permutation of range"),
        (dict(perm=np.arange(1, 9)), ValueError, "index 8"),
        (dict(perm=np.arange(8.0)), TypeError, "integers"),
        (dict(perm=np.ones(8, dtype=bool)), TypeError, "integers"),
        (dict(perm=[]), ValueError, "empty"),
        (dict(tol=-1.0), ValueError, "tol"),
        (dict(tol="small"), TypeError, "tol"),
    ],
)
def test_invalid_options_raise(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        km.factorize(np.eye(8), **kwargs)


# --------------------------------------------------------------------------- scale invariance
_SCALE_TARGETS = {
    "hadamard": (lambda: scipy.linalg.hadamard(8).astype(float), {}),
    "dft": (lambda: np.fft.fft(np.eye(8)), dict(perm="bitrev")),
    "kmatrix": (lambda: km.random(8, init="ortho", rng=3).toarray(), {}),
    "random": (lambda: np.random.default_rng(5).standard_normal((8, 8)), {}),
}


@settings(max_examples=60)
@given(name=st.sampled_from(sorted(_SCALE_TARGETS)), k=st.integers(-200, 200),
       dtype=st.sampled_from(["float64", "complex128", "float32", "complex64"]))
def test_factorize_is_scale_invariant(name, k, dtype):
    build, kw = _SCALE_TARGETS[name]
    A0 = build()
    if np.dtype(dtype).kind == "f" and A0.dtype.kind == "c":
        dtype = "complex128" if dtype == "float64" else "complex64"
    if np.dtype(dtype) in (np.float32, np.complex64):
        k = k % 61 - 30  # keep c * A normal in single precision
    A0 = A0.astype(dtype)
    A = (A0 * 10.0**k).astype(dtype)
    _, info0 = km.factorize(A0, return_info=True, **kw)
    K, info = km.factorize(A, return_info=True, **kw)
    eps = np.finfo(A.dtype).eps
    assert np.isfinite(info["error"])
    assert abs(info["error"] - info0["error"]) <= 50 * eps * max(1.0, info0["error"])
    # The operator itself, compared at unit scale.
    D = K.toarray().astype(np.complex128) / 10.0**k
    rel = np.linalg.norm(D - A0) / np.linalg.norm(A0)
    assert rel <= info0["error"] + 100 * eps


def test_factorize_of_tiny_matrices_is_not_zero():
    H = scipy.linalg.hadamard(16)
    K, info = km.factorize(H * 1e-200, return_info=True)
    assert info["error"] < 1e-14
    np.testing.assert_allclose(K.toarray() * 1e200, H, atol=1e-12)
    K, info = km.factorize(H * 1e300, return_info=True)
    assert info["error"] < 1e-14 and np.all(np.isfinite(K.twiddle))

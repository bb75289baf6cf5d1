"""Real operators with complex factors (``real_matrix``): packing, closure, persistence."""

import io
import pickle

import numpy as np
import pytest
import scipy.fft
import scipy.linalg

import kmatrix as km
from kmatrix.testing import assert_adjoint, assert_matches_dense


def real_circulant(n, seed=0, dtype=np.float64):
    c = np.random.default_rng(seed).standard_normal(n).astype(dtype)
    return km.circulant(c), scipy.linalg.circulant(c.astype(np.float64))


@pytest.mark.parametrize("n", [3, 16, 100, 129])
@pytest.mark.parametrize("k", [1, 2, 5, 64])
def test_real_blocks_pack_two_columns(n, k):
    K, A = real_circulant(n, seed=n + k)
    X = np.random.default_rng(k).standard_normal((n, k))
    Y = K @ X
    assert Y.dtype == np.float64 and Y.shape == (n, k)
    assert np.allclose(Y, A @ X, atol=1e-12 * np.abs(A).sum())
    Z = X + 1j * np.random.default_rng(1).standard_normal((n, k))
    W = K @ Z
    assert W.dtype == np.complex128 and np.allclose(W, A @ Z, atol=1e-12 * np.abs(A).sum())
    assert (K @ X[:, 0]).dtype == np.float64
    assert (K @ X.astype(np.float32)).dtype == np.float64


@pytest.mark.parametrize("n, k, workers", [
    (4096, 64, 1), (4096, 65, 2),  # one block; rows shared by two threads
    (512, 513, 2), (512, 3, 1),    # column blocks (one chunk); small odd block
])
def test_packed_block_equals_the_complex_columns_it_stands_for(n, k, workers):
    # the real block runs as ceil(k/2) complex columns packed inside the work arrays:
    # column j and j + ceil(k/2) are the real and imaginary part of one complex column,
    # so the result must be those complex columns' product, bit for bit
    t = 2 if n > 512 else 4
    C = km.dct(n, type=t, norm="ortho")
    X = np.random.default_rng(k).standard_normal((n, k))
    h = (k + 1) // 2
    Z = np.zeros((n, h), dtype=np.complex128)
    Z.real, Z.imag[:, : k - h] = X[:, :h], X[:, h:]
    with km.set_workers(workers):
        Y = C @ X
        W = C @ Z
    assert Y.dtype == np.float64 and Y.shape == (n, k) and Y.flags.c_contiguous
    assert np.array_equal(Y[:, :h], W.real) and np.array_equal(Y[:, h:], W.imag[:, : k - h])
    assert np.allclose(Y, scipy.fft.dct(X, type=t, norm="ortho", axis=0), atol=1e-12)


def test_single_precision():
    K, A = real_circulant(40, dtype=np.float32)
    assert K.dtype == np.float32 and K.twiddle.dtype == np.complex64 and K.real_matrix
    y = K @ np.ones((40, 3), dtype=np.float32)
    assert y.dtype == np.float32
    assert np.allclose(y, A @ np.ones((40, 3)), rtol=1e-4, atol=1e-4 * np.abs(A).sum())


def test_closure_keeps_the_flag_where_the_result_is_real():
    K, A = real_circulant(24)
    B, Bd = real_circulant(24, seed=5)
    real_op = km.diag(np.arange(1.0, 25.0))
    for op, dense in [(K.T, A.T), (K.H, A.T), (K.conj(), A), (2.5 * K, 2.5 * A),
                      (K @ B, A @ Bd), (K + B, A + Bd),
                      (K @ real_op, A @ np.diag(np.arange(1.0, 25.0))),
                      (km.kron(K, real_op.T), np.kron(A, np.diag(np.arange(1.0, 25.0)))),
                      (km.sum([K, B, K]), 2 * A + Bd), (-K, -A), (K / 2, A / 2), (K.copy(), A)]:
        assert op.real_matrix and op.dtype == np.float64, op
        assert_matches_dense(op, dense, rtol=1e-11)
    complex_op = km.diag(np.full(24, 1j))
    for op in [1j * K, K @ complex_op, K + complex_op, K.astype(np.complex128)]:
        assert not op.real_matrix and op.dtype == np.complex128
    assert_matches_dense(1j * K, 1j * A, rtol=1e-11)
    assert_adjoint(K, rng=0)


def test_astype_sets_the_precision_of_the_factors():
    K, A = real_circulant(20)
    K32 = K.astype(np.float32)
    assert K32.real_matrix and K32.dtype == np.float32 and K32.twiddle.dtype == np.complex64
    assert np.allclose(K32.toarray(), A, atol=1e-4 * np.abs(A).max())
    assert K32.astype(float).twiddle.dtype == np.complex128


def test_pickle_and_save_load_keep_the_flag():
    K, A = real_circulant(33)
    for back in [pickle.loads(pickle.dumps(K))]:
        assert back.real_matrix and back.dtype == np.float64
    buf = io.BytesIO()
    km.save(buf, K)
    buf.seek(0)
    back = km.load(buf)
    assert back.real_matrix and np.array_equal(back.twiddle, K.twiddle)
    buf = io.BytesIO()
    km.save(buf, K.astype(np.complex128))  # no flag: the archive of version 1 without the key
    buf.seek(0)
    assert set(np.load(buf).files) == {"format", "version", "twiddle", "shape"}


def test_flag_is_ignored_for_real_factors_and_describe():
    K = km.KMatrix(km.identity(4).twiddle, real_matrix=True)
    assert not K.real_matrix and K.dtype == np.float64
    C, _ = real_circulant(64)
    assert C.flops == 14 * C.internal_size * 2 * 6  # complex factors


def test_vjp_of_a_real_matrix_operator():
    K, A = real_circulant(12)
    X, G = np.ones((12, 2)), np.arange(24.0).reshape(12, 2)
    dX, dtw = km.vjp(K, X, G)
    assert dX.dtype == np.float64 and np.allclose(dX, A.T @ G)
    assert dtw.dtype == np.complex128 and dtw.shape == K.twiddle.shape

"""Permutations and bit reversal: exact (array_equal), in BB*, Benes routing at scale."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import kmatrix as km
from kmatrix._layout import internal_size_for
from kmatrix._reference import apply_reference
from kmatrix._benes import bit_reverse_indices, permutation_swaps
from kmatrix.testing import assert_adjoint, assert_certificate
from kmatrix.testing.strategies import DTYPES, permutations

sizes = st.one_of(st.integers(1, 300), st.sampled_from([2**k for k in range(11)]))


def _draw_x(seed, n, dtype, k=None):
    rng = np.random.default_rng(seed)
    shape = (n,) if k is None else (n, k)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


@given(permutations(sizes), st.sampled_from(DTYPES), st.integers(0, 2**32 - 1))
def test_permutation_is_exact(p, dtype, seed):
    P = km.permutation(p, dtype=dtype)
    x = _draw_x(seed, p.size, dtype)
    assert (P @ x).dtype == np.dtype(dtype)
    assert np.array_equal(P @ x, x[p])
    X = _draw_x(seed + 1, p.size, dtype, k=3)
    assert np.array_equal(P @ X, X[p])
    # the oracle of the layout agrees: the twiddle itself is right, not only the kernel
    assert np.array_equal(apply_reference(P.twiddle, x, P.shape), x[p])


@given(permutations(sizes))
def test_permutation_certificate_and_switches(p):
    n = p.size
    P = km.permutation(p)
    assert P.shape == (n, n) and P.dtype == np.float64
    assert_certificate(P, width=1, expansion=internal_size_for(n, n) / n)
    if n >= 2 and n & (n - 1) == 0:
        assert P.expansion == 1.0
    tw = P.twiddle
    straight = (tw == np.eye(2)).all(axis=(-2, -1))
    crossed = (tw == np.eye(2)[::-1]).all(axis=(-2, -1))
    assert np.all(straight | crossed)  # every 2x2 is an identity or a swap
    # the two stride-1 stages coincide: the increasing block's first factor is unused
    assert np.all(straight[1, 0])


@given(permutations(st.integers(1, 300)))
def test_transpose_is_inverse_permutation(p):
    P = km.permutation(p)
    Pinv = km.permutation(np.argsort(p))
    assert np.array_equal(P.T.toarray(), Pinv.toarray())
    assert np.array_equal(P.H.toarray(), np.eye(p.size)[p].T)
    assert np.array_equal((P.T @ P).toarray(), np.eye(p.size))
    assert_adjoint(P, rng=0)


@given(permutations(st.integers(1, 64)), permutations(st.integers(1, 64)))
def test_products_compose(p, q):
    if p.size != q.size:
        q = np.arange(p.size)
    x = np.arange(p.size, dtype=np.float64)
    assert np.array_equal((km.permutation(p) @ km.permutation(q)) @ x, x[q][p])


@given(st.integers(1, 7), st.booleans())
def test_increasing_first_network(m, transpose):
    # The B-then-B* orientation (used by sparse) routes the same permutations.
    n = 1 << m
    p = np.random.default_rng(m).permutation(n)
    if transpose:
        p = np.argsort(p)
    swap = permutation_swaps(p, increasing_first=True)
    tw = np.where(swap[..., None, None], np.eye(2)[::-1], np.eye(2))
    # as blocks 1 and 2 of a width-2 twiddle whose blocks 0 and 3 are the identity
    full = np.concatenate([np.broadcast_to(np.eye(2), tw[:1].shape), tw,
                           np.broadcast_to(np.eye(2), tw[:1].shape)])
    x = np.random.default_rng(0).standard_normal(n)
    assert np.array_equal(apply_reference(full, x), x[p])


@given(st.integers(0, 10), st.sampled_from(DTYPES))
def test_bit_reversal(m, dtype):
    n = 1 << m
    B = km.bit_reversal(n, dtype=dtype)
    rev = np.array([int(format(i, f"0{m}b")[::-1], 2) if m else 0 for i in range(n)])
    x = _draw_x(m, n, dtype)
    assert np.array_equal(B @ x, x[rev])
    assert np.array_equal(bit_reverse_indices(m), rev)
    assert_certificate(B, width=1, expansion=internal_size_for(n, n) / n)
    assert np.array_equal((B @ B).toarray(), np.eye(n, dtype=dtype))  # an involution


def test_large_permutation_builds_fast_and_exact():
    import time

    n = 1 << 14
    p = np.random.default_rng(1).permutation(n)
    t0 = time.perf_counter()
    P = km.permutation(p)
    elapsed = time.perf_counter() - t0
    x = np.random.default_rng(2).standard_normal(n)
    assert np.array_equal(P @ x, x[p])
    assert P.width == 1 and P.expansion == 1.0
    assert elapsed < 10.0  # O(n log n) routing: about 0.05 s here; a quadratic one takes minutes


@pytest.mark.parametrize(
    "p, exc, words",
    [
        ([0.0, 1.0], TypeError, "integers"),
        ([True, False], TypeError, "integers"),
        (["a", "b"], TypeError, "integers"),
        ([], ValueError, "empty"),
        ([[0, 1], [1, 0]], ValueError, "1-D"),
        ([0, 2], ValueError, "out-of-range index 2"),
        ([-1, 0], ValueError, "out-of-range index -1"),
        ([0, 0, 2], ValueError, "index 0 2 times and index 1 never"),
    ],
)
def test_bad_permutations(p, exc, words):
    with pytest.raises(exc, match=words):
        km.permutation(p)


def test_bad_dtype_and_bit_reversal_sizes():
    with pytest.raises(TypeError, match="dtype"):
        km.permutation([1, 0], dtype=np.int64)
    with pytest.raises(ValueError, match="power of two; got 12"):
        km.bit_reversal(12)
    with pytest.raises(ValueError, match=">= 1"):
        km.bit_reversal(0)
    with pytest.raises(TypeError, match="integer"):
        km.bit_reversal(4.0)


def test_unsigned_and_list_inputs():
    x = np.arange(5.0)
    p = [4, 2, 0, 1, 3]
    assert np.array_equal(km.permutation(np.array(p, dtype=np.uint16)) @ x, x[p])
    assert np.array_equal(km.permutation(p) @ x, x[p])

"""torch_butterfly exchange: against a NumPy re-implementation of its Butterfly module, round trips, bad input."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import kmatrix as km
from kmatrix.testing import assert_matches_dense
from kmatrix.testing.strategies import kmatrices


def butterfly_multiply(twiddle, x, increasing_stride):
    """torch_butterfly's multiply, written from its documented semantics.

    ``x`` has shape ``(batch, nstacks, n)``; block ``b`` runs its factors with
    increasing strides when ``increasing_stride`` differs from ``b`` odd; the factor of
    stride ``st`` viewed as ``(nstacks, n / (2 st), st, 2, 2)`` maps, for block ``k``
    and offset ``lo``, entries ``k 2 st + c st + lo`` (``c = 0, 1``) by its 2x2.
    """
    nstacks, nblocks, log_n = twiddle.shape[:3]
    n = 1 << log_n
    batch = x.shape[0]
    out = x.astype(np.result_type(x.dtype, twiddle.dtype))
    inc = increasing_stride
    for b in range(nblocks):
        for idx in range(log_n):
            st = 1 << (idx if inc else log_n - 1 - idx)
            t = twiddle[:, b, idx].reshape(nstacks, n // (2 * st), st, 2, 2)
            v = out.reshape(batch, nstacks, n // (2 * st), 2, st)
            # y[.., r, lo] = sum_c t[.., lo, r, c] v[.., c, lo]
            out = np.einsum("sklrc,bskcl->bskrl", t, v).reshape(batch, nstacks, n)
        inc = not inc
    return out


def module_matrix(twiddle, increasing_stride, in_size, out_size):
    """Dense matrix of Butterfly(in_size, out_size, bias=False) holding ``twiddle``."""
    nstacks, _, log_n = twiddle.shape[:3]
    n = 1 << log_n
    x = np.zeros((in_size, nstacks, n))
    x[np.arange(in_size), :, np.arange(in_size)] = 1  # every column, expanded to the stacks
    y = butterfly_multiply(twiddle, x, increasing_stride).reshape(in_size, nstacks * n)
    return y[:, :out_size].T


@st.composite
def torch_twiddles(draw):
    log_n = draw(st.integers(1, 4))
    n = 1 << log_n
    nstacks, nblocks = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    cplx = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tw = rng.standard_normal((nstacks, nblocks, log_n, n // 2, 2, 2))
    if cplx:
        tw = tw + 1j * rng.standard_normal(tw.shape)
    in_size = draw(st.integers(n // 2 + 1 if n > 2 else 1, n))
    out_size = draw(st.integers(1, nstacks * n))
    return tw, in_size, out_size


@given(torch_twiddles(), st.booleans())
def test_from_torch_butterfly_matches_the_module(args, increasing):
    tw, in_size, out_size = args
    K = km.from_torch_butterfly(tw, increasing_stride=increasing, in_size=in_size, out_size=out_size)
    assert K.shape == (out_size, in_size)
    assert K.dtype == tw.dtype
    assert_matches_dense(K, module_matrix(tw, increasing, in_size, out_size))
    nstacks, nblocks, log_n = tw.shape[:3]
    assert K.width == (nblocks + increasing + 1) // 2
    assert K.internal_size == (1 << (nstacks - 1).bit_length()) * (1 << log_n)


@given(kmatrices(), st.booleans())
def test_to_torch_butterfly_round_trip(K, increasing):
    args = km.to_torch_butterfly(K, increasing_stride=increasing)
    tw = args["twiddle"]
    assert tw.shape == (1, args["nblocks"]) + K.twiddle.shape[1:] and tw.dtype == K.dtype
    assert args["nblocks"] == 2 * K.width + increasing
    # The module holding these parameters computes K (its first columns).
    dense = module_matrix(tw, increasing, args["in_size"], args["out_size"])
    assert_matches_dense(K, dense[:, : K.shape[1]])
    back = km.from_torch_butterfly(**args)
    cols = K.shape[1]
    assert back.shape == (K.shape[0], args["in_size"])
    assert np.array_equal(back.toarray()[:, :cols], K.toarray()) or np.allclose(
        back.toarray()[:, :cols], K.toarray(), rtol=0, atol=1e-12 * np.abs(K.toarray()).max() + 1e-30)
    if 2 * cols > K.internal_size:
        assert back.shape == K.shape
    if not increasing:  # no identity block added: the twiddles are the same
        assert np.array_equal(back.twiddle, K.twiddle)


def test_real_view_of_complex_twiddles():
    rng = np.random.default_rng(0)
    tw = rng.standard_normal((2, 2, 3, 4, 2, 2)) + 1j * rng.standard_normal((2, 2, 3, 4, 2, 2))
    view = np.stack([tw.real, tw.imag], axis=-1)  # torch.view_as_real
    a = km.from_torch_butterfly(tw, in_size=8, out_size=12)
    b = km.from_torch_butterfly(view, in_size=8, out_size=12)
    assert b.dtype == np.complex128 and np.array_equal(a.toarray(), b.toarray())
    assert_matches_dense(a, module_matrix(tw, True, 8, 12))


def test_dft_exported_and_read_back():
    args = km.to_torch_butterfly(km.dft(16))
    F = km.from_torch_butterfly(**args)
    assert np.allclose(F.toarray(), np.fft.fft(np.eye(16), axis=0))
    assert np.allclose(module_matrix(args["twiddle"], True, 16, 16), np.fft.fft(np.eye(16), axis=0))


@pytest.mark.parametrize("tw, kwargs, exc, match", [
    (np.ones((1, 1, 2, 2, 2)), {}, ValueError, "shape"),
    (np.ones((1, 1, 2, 3, 2, 2)), {}, ValueError, r"2\*\*\(log_n - 1\)"),
    (np.ones((1, 0, 2, 2, 2, 2)), {}, ValueError, "nblocks"),
    (np.full((1, 1, 2, 2, 2, 2), np.nan), {}, ValueError, "NaN"),
    (np.ones((1, 1, 2, 2, 2, 2), dtype=np.int64), {}, TypeError, "real or complex"),
    (np.ones((1, 1, 2, 2, 2, 2)), {"in_size": 5}, ValueError, r"in_size must be <= n = 2\*\*log_n = 4; got 5"),
    (np.ones((2, 1, 2, 2, 2, 2)), {"out_size": 9}, ValueError, "out_size must be <= nstacks"),
    (np.ones((1, 1, 2, 2, 2, 2)), {"out_size": 0}, ValueError, "out_size must be >= 1"),
    (np.ones((1, 1, 2, 2, 2, 2)), {"increasing_stride": 1}, TypeError, "increasing_stride"),
    (np.ones((1, 1, 2, 2, 2, 2)), {"nblocks": 2}, ValueError, "nblocks = 2"),
    (np.ones((1, 1, 2, 2, 2, 2)), {"complex": True}, ValueError, "complex = True"),
    (np.ones((1, 1, 2, 2, 2, 2)) * 1j, {"dtype": np.float64}, ValueError, "imaginary"),
])
def test_from_torch_butterfly_rejects_bad_input(tw, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        km.from_torch_butterfly(tw, **kwargs)


def test_to_torch_butterfly_rejects_bad_input():
    with pytest.raises(TypeError, match="K must be a KMatrix"):
        km.to_torch_butterfly(np.eye(4))
    with pytest.raises(TypeError, match="increasing_stride"):
        km.to_torch_butterfly(km.identity(4), increasing_stride="yes")
